/**
 * The paper's datasets for the scripts: the one implementation is
 * src/experiment/datasets.ts (pris experiment uses it too).
 */
export { DATASET_NAMES, preparedDataset, SHARED, SHARED_DATASETS } from '../../src/experiment/datasets.js';
