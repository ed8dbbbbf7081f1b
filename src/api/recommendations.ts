import { recommendationsFile, recommendationsParquet, RECOMMENDATIONS_OUTPUT, RECOMMENDATIONS_PARQUET_OUTPUT } from '../eval/recs-io.js';
import type { Recommendations } from '../eval/recommend.js';
import { UserError } from '../errors.js';
import type { OutputKind } from '../util/output.js';
import type { PrisModel } from './model.js';

/**
 * Recommendations as a file other tools read (docs/formats.md): one row per
 * (user, rank) with indices and raw ids. Each format is one entry here, its
 * output kind (how an earlier file of ours is recognised, for --force) and
 * its encoder; `pris recommend --format` offers exactly these.
 */
export interface RecommendationFormat {
  kind: OutputKind;
  encode(recs: Recommendations, userIds: readonly string[], itemIds: readonly string[]): Uint8Array | Promise<Uint8Array>;
}

export const RECOMMENDATION_FORMATS: Record<string, RecommendationFormat> = {
  arrow: { kind: RECOMMENDATIONS_OUTPUT, encode: recommendationsFile },
  parquet: { kind: RECOMMENDATIONS_PARQUET_OUTPUT, encode: recommendationsParquet },
};

export function recommendationFormat(name: string): RecommendationFormat {
  const f = RECOMMENDATION_FORMATS[name];
  if (!f) throw new UserError(`--format must be one of ${Object.keys(RECOMMENDATION_FORMATS).join(', ')} (got '${name}')`);
  return f;
}

/** The file's bytes for `recs` (from PrisModel.recommendAll), ids from the model. */
export async function encodeRecommendations(format: RecommendationFormat, recs: Recommendations, model: PrisModel): Promise<Uint8Array> {
  return await format.encode(recs, model.userIds, model.itemIds);
}
