/**
 * The paper's published numbers (pris-www20, Tables 2 and 3: NDCG@50 and
 * Recall@50 on five datasets), printed beside ours in an experiment's table.
 * The figures (2-5) are drawings without published values, so the sweeps
 * have no paper column.
 */

export const PAPER_DATASETS = ['CiteULike', 'Gowalla', 'Amazon', 'MovieLens', 'Echonest'] as const;
export type PaperDataset = (typeof PAPER_DATASETS)[number];

export interface PaperValue {
  ndcg: number;
  recall: number;
}

type Row = [ndcg: (number | null)[], recall: (number | null)[]];

function table(rows: Record<string, Row>): Record<string, Partial<Record<PaperDataset, PaperValue>>> {
  const out: Record<string, Partial<Record<PaperDataset, PaperValue>>> = {};
  for (const [method, [ndcg, recall]] of Object.entries(rows)) {
    const byDataset: Partial<Record<PaperDataset, PaperValue>> = {};
    PAPER_DATASETS.forEach((d, i) => {
      if (ndcg[i] != null && recall[i] != null) byDataset[d] = { ndcg: ndcg[i]!, recall: recall[i]! };
    });
    out[method] = byDataset;
  }
  return out;
}

/** Table 2: comparison with baselines (PRIS with its best sampler). Columns as PAPER_DATASETS. */
export const TABLE2 = table({
  WRMF: [[0.1239, 0.1329, 0.0631, 0.2958, 0.1187], [0.271, 0.2242, 0.1445, 0.5047, 0.2219]],
  CML: [[0.1293, 0.1245, 0.0742, 0.2606, 0.1413], [0.2775, 0.2337, 0.1593, 0.4772, 0.253]],
  WARP: [[0.0878, 0.1555, 0.056, 0.2432, 0.1111], [0.1912, 0.265, 0.1217, 0.444, 0.2007]],
  BPR: [[0.1269, 0.1216, 0.0499, 0.246, 0.094], [0.2772, 0.2048, 0.1171, 0.4425, 0.1829]],
  AOBPR: [[0.099, 0.1385, 0.0563, 0.2623, 0.104], [0.2208, 0.2369, 0.1303, 0.478, 0.2063]],
  SA: [[0.1328, 0.14, 0.0629, 0.2973, 0.1196], [0.2872, 0.2355, 0.1423, 0.5145, 0.2259]],
  PRIS: [[0.1514, 0.1719, 0.0849, 0.3186, 0.1475], [0.3129, 0.2816, 0.1799, 0.5335, 0.2595]],
});

/**
 * Table 3: sampling strategies with the PRIS loss. CUJ/CPJ: clusters learned
 * jointly with the model (pris's cluster-*-joint samplers); Exact was not run
 * on the two largest datasets.
 */
export const TABLE3 = table({
  U: [[0.1328, 0.14, 0.0629, 0.2973, 0.1196], [0.2872, 0.2355, 0.1423, 0.5145, 0.2259]],
  P: [[0.1443, 0.1457, 0.0701, 0.3133, 0.1286], [0.3033, 0.242, 0.1554, 0.5315, 0.2401]],
  CU: [[0.1413, 0.166, 0.0776, 0.3102, 0.1362], [0.2993, 0.2746, 0.1676, 0.5284, 0.246]],
  CP: [[0.1505, 0.1706, 0.0824, 0.3162, 0.144], [0.3159, 0.2803, 0.176, 0.532, 0.2567]],
  CUJ: [[0.1507, 0.172, 0.0824, 0.3177, 0.1476], [0.3135, 0.2822, 0.1762, 0.533, 0.2611]],
  CPJ: [[0.1514, 0.1719, 0.0849, 0.3186, 0.1475], [0.3129, 0.2816, 0.1799, 0.5335, 0.2595]],
  Exact: [[0.1428, 0.1695, null, 0.3143, null], [0.3017, 0.2811, null, 0.5339, null]],
});

export const PAPER_TABLES = { table2: TABLE2, table3: TABLE3 } as const;
export type PaperTable = keyof typeof PAPER_TABLES;

/** A paper value reference: which table, which row. */
export interface PaperRef {
  table: PaperTable;
  row: string;
}

export function paperValue(ref: PaperRef, dataset: PaperDataset): PaperValue | undefined {
  return PAPER_TABLES[ref.table][ref.row]?.[dataset];
}

/**
 * The paper dataset that a dataset of ours corresponds to: CiteULike-t (7,947
 * users, 25,975 items) and Gowalla (the LightGCN split) are the paper's;
 * ml-100k is not the paper's MovieLens-10M, so it gets no paper column.
 */
const DEFAULT_PAPER_DATASET: Record<string, PaperDataset> = {
  'citeulike-t': 'CiteULike',
  gowalla: 'Gowalla',
};

export function defaultPaperDataset(datasetName: string): PaperDataset | undefined {
  return DEFAULT_PAPER_DATASET[datasetName];
}

export function parsePaperDataset(name: string): PaperDataset | undefined {
  return PAPER_DATASETS.find((d) => d.toLowerCase() === name.toLowerCase());
}

export function tableLabel(t: PaperTable): string {
  return t === 'table2' ? 'Table 2' : 'Table 3';
}
