import * as path from 'node:path';
import { emptyCsr } from '../data/csr.js';
import { readItemIds, readUserIds, type LoadedDataset, type SplitName } from '../data/dataset.js';
import { UserError } from '../errors.js';
import type { EvalOptions, EvalResult } from '../eval/evaluate.js';
import type { Recommendations } from '../eval/recommend.js';
import { MODEL_FILES, MODEL_OUTPUT, saveEmbeddings, writeJson, type EmbeddingFormat } from '../model/io.js';
import type { Model } from '../model/store.js';
import type { PartNorms } from '../model/combine.js';
import { blendFoldedRow } from '../model/history-blend.js';
import { defaultThreads, WorkerPool } from '../pool/pool.js';
import { arenaBytesUsed, withArena } from '../memory/shared.js';
import { kernels } from '../kernels/wasm.js';
import { softmaxLossCode } from '../kernels/codes.js';
import { QueryScorer } from '../eval/query-scores.js';
import { FoldIn } from '../sgd/fold-in.js';
import { AUTO_REG, type TrainConfig } from '../train/options.js';
import { openOutput, type OutputDir } from '../util/output.js';
import { provenance } from './provenance.js';

/** Where a model came from: its options and the dataset (directory and split fingerprint) it was trained on. */
export interface ModelInfo {
  config: TrainConfig;
  dataset?: { dir: string; fingerprint?: string };
  /** training figures (metrics.json without the test metrics) */
  summary?: Record<string, unknown>;
  /** set for a non-learned baseline (baselineModel): nothing was trained */
  baseline?: 'popularity';
  /** set for two models made one (combineModels): `config` is the first part's, with the combined dimension */
  combined?: CombinedInfo;
}

/** How a combined model was made (config.json's `combined`). */
export interface CombinedInfo {
  /** the second part's share of the score */
  weight: number;
  /** each part's root mean square user and item row norms, which its columns were divided by */
  norms: [PartNorms, PartNorms];
  /** the parts' dimensions (their columns, in order) and training options */
  parts: { dim: number; config: TrainConfig; combined?: CombinedInfo }[];
  /** weight 'auto': validation NDCG at valid_k for each weight tried */
  weight_valid?: Record<string, number>;
  valid_k?: number;
}

/** Which known items a recommendation leaves out: every split of the dataset, none, or the splits named. */
export type Exclusion = 'known' | 'none' | SplitName[];

export interface RecommendQuery {
  /** list length (default 10) */
  k?: number;
  /** default 'known': every item the user has in train, valid or test */
  exclude?: Exclusion;
}

export interface ScoredItem {
  item: string;
  score: number;
}

export interface UserRecommendations {
  user: string;
  items: ScoredItem[];
}

/** recommendForItems: a new user known only by their items (no id: `user` is null). */
export interface NewUserRecommendations {
  user: null;
  /** the items the user was folded in from */
  from: string[];
  items: ScoredItem[];
}

export interface SimilarItems {
  item: string;
  /** by cosine of the item embeddings, the item itself left out */
  similar: ScoredItem[];
}

export interface FoldInQuery {
  /** list length (default 10) */
  k?: number;
  /** passes over the user's items (default 50) */
  epochs?: number;
  /** negatives per positive (default: the model's, at least 20) */
  negatives?: number;
  /** seed of the start vector and the negatives (default: the model's) */
  seed?: number;
}

const splitsOf = (ds: LoadedDataset) => ({ train: ds.train, valid: ds.valid, test: ds.test });

/** Ids the model does not know, all of them (a query names every unknown id at once, not the first). */
export class UnknownIds extends UserError {
  constructor(
    readonly kind: 'user' | 'item',
    readonly ids: string[],
    known: number,
  ) {
    const shown = ids.slice(0, 10).map((id) => `'${id}'`).join(', ') + (ids.length > 10 ? ` and ${ids.length - 10} more` : '');
    super(`unknown ${kind}${ids.length > 1 ? 's' : ''} ${shown} (not among the model's ${known.toLocaleString('en-US')} ${kind}s)`);
  }
}

function indicesOf(ids: readonly string[], index: Map<string, number>, kind: 'user' | 'item', known: number): Int32Array {
  const out = new Int32Array(ids.length);
  const unknown = new Set<string>();
  ids.forEach((id, r) => {
    const k = index.get(id);
    if (k === undefined) unknown.add(id);
    else out[r] = k;
  });
  if (unknown.size > 0) throw new UnknownIds(kind, [...unknown], known);
  return out;
}

/**
 * A trained model you can query: embeddings (in its own shared memory), the
 * id maps, and worker threads started on first use. Raw ids in, raw ids out.
 * `close()` stops the workers and lets the memory go.
 */
export class PrisModel {
  private pool: WorkerPool | undefined;
  private poolData: LoadedDataset | undefined;
  private users: string[] | undefined;
  private items: string[] | undefined;
  private userIndex: Map<string, number> | undefined;
  private itemIndex: Map<string, number> | undefined;
  private scorer: QueryScorer | undefined;
  private folder: FoldIn | undefined;
  private closed = false;

  /** @internal built by fit() and loadModel() */
  constructor(
    private readonly store: Model,
    private readonly arena: WebAssembly.Memory,
    readonly info: ModelInfo,
    ids: { users?: string[]; items?: string[] },
    private dataset: LoadedDataset | undefined,
    pool?: WorkerPool,
    /** worker threads for queries (default: every core) */
    private readonly queryThreads?: number,
  ) {
    if (queryThreads !== undefined && (!Number.isInteger(queryThreads) || queryThreads < 1)) throw new UserError(`threads must be an integer >= 1 (got ${queryThreads})`);
    // A model saved without ids (empty columns) takes them from its dataset.
    this.users = ids.users?.length ? ids.users : undefined;
    this.items = ids.items?.length ? ids.items : undefined;
    if (pool && dataset) {
      this.pool = pool;
      this.poolData = dataset;
    } else if (pool) {
      void pool.close();
    }
  }

  get config(): TrainConfig {
    return this.info.config;
  }
  get dim(): number {
    return this.store.dim;
  }
  get nUsers(): number {
    return this.store.nUsers;
  }
  get nItems(): number {
    return this.store.nItems;
  }

  /** Raw user ids, by index. */
  get userIds(): readonly string[] {
    return (this.users ??= this.dataset ? readUserIds(this.dataset.dir) : []);
  }
  /** Raw item ids, by index. */
  get itemIds(): readonly string[] {
    return (this.items ??= this.dataset ? readItemIds(this.dataset.dir) : []);
  }

  /** A copy of the user embeddings, row-major nUsers x dim. */
  userEmbeddings(): Float32Array {
    return this.store.user.slice();
  }
  /** A copy of the item embeddings, row-major nItems x dim. */
  itemEmbeddings(): Float32Array {
    return this.store.item.slice();
  }

  /** Bytes of shared memory the model's arena holds (embeddings, and while training optimizer state and tables). */
  get sharedMemoryBytes(): number {
    return arenaBytesUsed(this.arena);
  }

  /** @internal the embeddings in place (shared memory), for this package's own readers */
  get embeddings(): Model {
    return this.store;
  }

  /** Worker threads of recommend, recommendAll and evaluate: as asked when loaded (at most the cores), else every core; a model from fit keeps its training's. */
  get threads(): number {
    return this.pool?.threads ?? Math.min(this.queryThreads ?? defaultThreads(), defaultThreads());
  }

  /** The dataset this model answers "known items" and evaluation questions from, if any. */
  get attachedDataset(): LoadedDataset | undefined {
    return this.dataset;
  }

  private live(): void {
    if (this.closed) throw new Error('pris: this model was closed');
  }

  /** A baseline ranks by a count, not by vectors: nothing to compare, fold in or save. */
  private learned(what: string): void {
    if (this.info.baseline) throw new UserError(`the ${this.info.baseline} baseline has no embeddings: ${what} needs a trained model`);
  }

  /** The workers, over `ds`'s splits (a new pool when the dataset changes). */
  private async workers(ds: LoadedDataset | undefined): Promise<WorkerPool> {
    this.live();
    if (this.pool && this.poolData === ds) return this.pool;
    if (this.pool) await this.pool.close();
    const splits = ds ? splitsOf(ds) : { train: emptyCsr(this.nUsers, this.nItems), valid: emptyCsr(this.nUsers, this.nItems), test: emptyCsr(this.nUsers, this.nItems) };
    this.pool = new WorkerPool(this.threads, { memory: this.arena, model: this.store, splits });
    this.poolData = ds;
    return this.pool;
  }

  /** Attaches the dataset whose interactions are the "known" items (it must be the one the model was trained on). */
  attach(ds: LoadedDataset, name?: string): void {
    checkCompatible(this, ds, name);
    this.dataset = ds;
  }

  private exclusion(e: Exclusion | undefined): SplitName[] {
    const ex = e ?? 'known';
    if (ex === 'none') return [];
    if (!this.dataset) {
      throw new UserError("this model has no dataset attached to know the users' items: load it with { dataset } (or call attach), or pass exclude: 'none'");
    }
    return ex === 'known' ? ['train', 'valid', 'test'] : [...new Set(ex)];
  }

  /** The indices of raw user ids; every unknown one is named in one UnknownIds error. */
  private userIndices(ids: readonly string[]): Int32Array {
    this.userIndex ??= new Map(this.userIds.map((u, k) => [u, k]));
    return indicesOf(ids, this.userIndex, 'user', this.nUsers);
  }

  private itemIndices(ids: readonly string[]): Int32Array {
    this.itemIndex ??= new Map(this.itemIds.map((v, k) => [v, k]));
    return indicesOf(ids, this.itemIndex, 'item', this.nItems);
  }

  private queries(): QueryScorer {
    this.live();
    return (this.scorer ??= withArena(this.arena, () => new QueryScorer(kernels(this.arena), this.store)));
  }

  /** For each item (raw id), the `k` most similar items by cosine of their embeddings, itself left out. */
  async similarItems(items: readonly string[], q: { k?: number } = {}): Promise<SimilarItems[]> {
    this.learned('similar items');
    const k = q.k ?? 10;
    const ids = this.itemIds;
    const d = this.dim;
    const index = this.itemIndices(items);
    return items.map((item, r) => {
      const j = index[r]!;
      const top = this.queries().top(this.store.item.subarray(j * d, j * d + d), k, [j], true);
      return { item, similar: top.items.map((x, r) => ({ item: ids[x]!, score: top.scores[r]! })) };
    });
  }

  /**
   * Recommendations for users the model has never seen, from their items
   * (raw ids): each user's vector is folded in with the item embeddings held
   * fixed (the PRIS loss, a few passes, deterministic for a seed), then every
   * item is scored; the given items are left out.
   */
  async recommendForItems(lists: readonly (readonly string[])[], q: FoldInQuery = {}): Promise<NewUserRecommendations[]> {
    const vectors = this.foldIn(lists, q);
    const k = q.k ?? 10;
    const ids = this.itemIds;
    const d = this.dim;
    return lists.map((from, r) => {
      const own = Array.from(this.itemIndices(from));
      const top = this.queries().top(vectors.subarray(r * d, r * d + d), k, own, false);
      return { user: null, from: [...from], items: top.items.map((x, n) => ({ item: ids[x]!, score: top.scores[n]! })) };
    });
  }

  /** The folded-in user vectors for `lists` (raw item ids), row-major lists.length x dim. */
  foldIn(lists: readonly (readonly string[])[], q: FoldInQuery = {}): Float32Array {
    this.live();
    this.learned('fold-in');
    if (this.info.combined) {
      throw new UserError("fold-in trains a new user's vector with the model's loss, and a combined model has two: fold the items into each part and combine their scores");
    }
    const cfg = this.config;
    const negatives = q.negatives ?? Math.max(cfg.negatives, 20);
    if (!Number.isInteger(negatives) || negatives < 1 || negatives >= this.nItems) throw new UserError(`negatives must be an integer between 1 and ${this.nItems - 1}`);
    if (!this.folder || this.folder.maxNegatives < negatives) {
      this.folder = withArena(this.arena, () => new FoldIn(kernels(this.arena), this.store, Math.max(negatives, 64)));
    }
    const folder = this.folder;
    const d = this.dim;
    const out = new Float32Array(lists.length * d);
    // Every unknown item of every list in one message, before any work.
    this.itemIndices(lists.flat());
    lists.forEach((items, r) => {
      if (items.length === 0) throw new UserError(`user ${r} of recommendForItems has no items: there is nothing to fold in`);
      const index = this.itemIndices(items);
      const row = out.subarray(r * d, r * d + d);
      folder.run(
        index,
        { loss: softmaxLossCode(cfg.loss), negatives, lr: cfg.optimizer === 'adagrad-row' || cfg.optimizer === 'adagrad' ? cfg.lr : 0.1, reg: cfg.reg === 'auto' ? AUTO_REG : cfg.reg, epochs: q.epochs ?? 50, seed: q.seed ?? cfg.seed },
        row,
      );
      // A known user's row was blended with its items once trained; a new user's gets the same treatment.
      // A known user's items are distinct rows of its CSR: a repeated item counts once here too.
      if (typeof cfg.historyWeight === 'number' && cfg.historyWeight > 0) blendFoldedRow(row, this.store.item, [...new Set(index)], cfg.historyWeight);
    });
    return out;
  }

  /** The top-k items for each of `users` (raw ids), best first, the users' known items left out by default. */
  async recommend(users: readonly string[], q: RecommendQuery = {}): Promise<UserRecommendations[]> {
    const k = q.k ?? 10;
    const index = this.userIndices(users);
    const exclude = this.exclusion(q.exclude);
    const recs = await (await this.workers(exclude.length ? this.dataset : this.poolData)).recommend({ k, exclude, users: index });
    const ids = this.itemIds;
    const out: UserRecommendations[] = users.map((user) => ({ user, items: [] }));
    // Rows come user by user in the order asked, ranks ascending.
    let at = -1;
    for (let r = 0; r < recs.user.length; r++) {
      if (recs.rank[r] === 1) at++;
      out[at]!.items.push({ item: ids[recs.item[r]!]!, score: recs.score[r]! });
    }
    return out;
  }

  /**
   * Every user's top-k (or only `users`', in that order) as columns of
   * indices, one row per (user, rank), for bulk output: `userIds` and
   * `itemIds` name them.
   */
  async recommendAll(opts: { k: number; exclude?: Exclusion; users?: readonly string[]; onProgress?: (done: number, total: number) => void }): Promise<Recommendations> {
    const users = opts.users ? this.userIndices(opts.users) : undefined;
    const exclude = this.exclusion(opts.exclude);
    return (await this.workers(exclude.length ? this.dataset : this.poolData)).recommend({
      k: opts.k,
      exclude,
      ...(users ? { users } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    });
  }

  /** Ranking metrics on `ds` (the dataset the model was trained on). */
  async evaluate(ds: LoadedDataset, opts: EvalOptions): Promise<EvalResult> {
    checkCompatible(this, ds);
    if (opts.target === 'valid' && this.config.trainOn === 'train+valid') {
      throw new UserError('this model was trained on train+valid (--train-on): its validation items are training data; evaluate the test split');
    }
    return (await this.workers(ds)).evaluate(opts);
  }

  /**
   * Writes the model directory (embeddings as Arrow, and as Parquet too with
   * `format: 'parquet'`; config.json, and metrics.json when `metrics` is
   * given), replaced as a whole in one step.
   * A path goes through the output contract (src/util/output.ts): an earlier
   * model there is replaced only with `force`; an output already open
   * (pris train's, checked and locked before training) is committed.
   */
  async save(to: string | OutputDir, metrics?: Record<string, unknown>, opts: { force?: boolean; format?: EmbeddingFormat } = {}): Promise<void> {
    this.live();
    this.learned('saving');
    if (typeof to === 'string') {
      using out = await openOutput({ path: to, kind: MODEL_OUTPUT, force: opts.force, reads: this.info.dataset ? [this.info.dataset.dir] : [] });
      return this.save(out, metrics, { ...(opts.format ? { format: opts.format } : {}) });
    }
    const prov = provenance();
    await to.commit(async (tmp) => {
      await saveEmbeddings(tmp, this.store, this.userIds, this.itemIds, opts.format);
      await writeJson(path.join(tmp, MODEL_FILES.config), {
        pris: 'model',
        version: 2,
        pris_version: prov.version,
        ...(prov.commit ? { git_commit: prov.commit } : {}),
        ...(this.info.dataset ? { dataset: this.info.dataset.dir, ...(this.info.dataset.fingerprint ? { dataset_fingerprint: this.info.dataset.fingerprint } : {}) } : {}),
        train_on: this.config.trainOn,
        ...this.config,
        ...(this.info.combined ? { combined: this.info.combined } : {}),
      });
      if (metrics) await writeJson(path.join(tmp, MODEL_FILES.metrics), metrics);
    });
  }

  /** Stops the workers; the model's memory is freed once nothing references it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool?.close();
    this.pool = undefined;
  }
}

/** A model and a dataset belong together: same users and items, in the same order. */
export function checkCompatible(m: PrisModel, ds: LoadedDataset, name = 'the model'): void {
  const where = m.info.dataset ? ` (trained on ${m.info.dataset.dir})` : '';
  if (m.nUsers !== ds.nUsers || m.nItems !== ds.nItems) {
    throw new UserError(
      `${name} has ${m.nUsers} users and ${m.nItems} items${where}, but dataset ${ds.dir} has ${ds.nUsers} users and ${ds.nItems} items: use the dataset the model was trained on`,
    );
  }
  if (m.attachedDataset === ds) return;
  const trained = m.info.dataset?.fingerprint;
  const now = ds.meta.split?.fingerprint;
  if (trained && now && trained !== now) {
    throw new UserError(
      `dataset ${ds.dir} was split differently from the split the model was trained on${where} (fingerprint ${now}, the model's ${trained}): ` +
        'its test items may be training items of the model, so the metrics would be inflated; evaluate on the split the model was trained on',
    );
  }
  const check = (what: string, modelIds: readonly string[], dataIds: () => string[]) => {
    if (modelIds.length === 0) return; // a model saved without ids: counts are all we can check
    const ids = dataIds();
    for (let k = 0; k < ids.length; k++) {
      if (ids[k] !== modelIds[k]) {
        throw new UserError(
          `${name}${where} and dataset ${ds.dir} disagree on ${what} ${k}: id '${modelIds[k]}' in the model, '${ids[k]}' in the dataset; use the dataset the model was trained on`,
        );
      }
    }
  };
  check('user', m.userIds, () => readUserIds(ds.dir));
  check('item', m.itemIds, () => readItemIds(ds.dir));
}
