import { itemCounts, type Csr } from '../data/csr.js';
import { sharedFloat32 } from '../memory/shared.js';
import { wrapModel, type Model } from '../model/store.js';

/**
 * The popularity baseline as a model: dimension 1, every user's coordinate
 * 1 and every item's its training count, so the score of (u, i) is c_i and
 * the ordinary evaluator ranks by popularity. Items with equal counts are
 * ordered by index (the evaluator's tie rule); in AUC they tie (count 1/2).
 * Counts are exact in float32 up to 2^24 interactions per item.
 */
export function popularityModel(train: Csr): Model {
  const counts = itemCounts(train);
  const user = sharedFloat32(train.nUsers).fill(1);
  const item = sharedFloat32(train.nItems);
  for (let i = 0; i < train.nItems; i++) item[i] = counts[i]!;
  return wrapModel(train.nUsers, train.nItems, 1, user, item);
}
