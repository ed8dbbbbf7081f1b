/**
 * pris as a library: train, query, evaluate and save ranking embeddings
 * (Personalized Ranking with Importance Sampling) from TypeScript or
 * JavaScript. `pris` the command line is a thin shell over these functions.
 * Every function is documented in docs/api.md.
 */
export { loadDataset, type Dataset } from './api/dataset.js';
export { fit, TrainingDiverged, type FitOptions } from './api/fit.js';
export { loadModel, type LoadModelOptions } from './api/load.js';
export { evaluate, flatMetrics, type EvaluateOptions } from './api/evaluate.js';
export { combineModels, COMBINE_WEIGHTS, type CombineOptions } from './api/combine.js';
export { baselineModel, BASELINES, type BaselineKind } from './api/baseline.js';
export { PrisModel, UnknownIds, type CombinedInfo, type Exclusion, type FoldInQuery, type ModelInfo, type NewUserRecommendations, type RecommendQuery, type ScoredItem, type SimilarItems, type UserRecommendations } from './api/model.js';
export type { Recommendations } from './eval/recommend.js';
export { EMBEDDING_FORMATS, type EmbeddingFormat } from './model/io.js';
export { TrainingInterrupted, dataShape, type RunState } from './train/train.js';
export { TRAIN_OPTIONS, DEFAULTS, resolveTrainConfig, resolveAgainstData, findOption, parseValue, checkValue, type TrainConfig, type RunConfig, type OptionSpec, type OptionKey } from './train/options.js';
export type { EpochStats } from './train/session.js';
export type { EvalResult } from './eval/evaluate.js';
export { EvaluationInterrupted } from './eval/run-blocks.js';
export type { MetricsAtK } from './eval/metrics.js';
export { LOSS_KINDS, OPTIMIZERS, type LossKind, type OptimizerKind } from './kernels/codes.js';
export { SAMPLER_KINDS, type SamplerKind } from './samplers/index.js';
export { POPULARITY_FNS, type PopularityFn } from './samplers/popularity-weights.js';
export { importDataset, type ImportRequest } from './data/import/run.js';
export { splitDataset } from './data/split.js';
export { datasetStats } from './data/stats.js';
export { UserError } from './errors.js';
