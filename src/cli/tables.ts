import type { EvalResult } from '../index.js';

/**
 * Text tables for the terminal: columns padded to their widest cell, each
 * aligned by its letter in `align` ('l' names, 'r' numbers; default: the
 * first column left, the others right).
 */
export function formatTable(header: string[], rows: string[][], align = 'l'): string {
  const widths = header.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j]!.length)));
  const fmt = (r: string[]) =>
    r
      .map((x, j) => ((align[j] ?? 'r') === 'l' ? x.padEnd(widths[j]!) : x.padStart(widths[j]!)))
      .join('  ')
      .trimEnd();
  return [fmt(header), ...rows.map(fmt)].join('\n') + '\n';
}

/** The small human-readable table `pris evaluate` prints; one metrics column per evaluated model. */
export function formatEvalTable(columns: { label: string; result: EvalResult }[]): string {
  const first = columns[0]!.result;
  const n = (x: number) => x.toLocaleString('en-US');
  const lines: string[] = [];
  const excluded = first.exclude.length ? `${first.exclude.join(' + ')} items excluded from the ranking` : 'nothing excluded from the ranking';
  lines.push(`split ${first.target} (${excluded})`);
  const sample = first.sampleUsers !== undefined ? ` (a fixed random sample of ${n(first.sampleUsers)})` : '';
  lines.push(`users: ${n(first.evaluated)} evaluated${sample}, ${n(first.skipped)} skipped (no ${first.target} items), of ${n(first.users)}`);
  lines.push('');
  const metricNames = [['NDCG', 'ndcg'], ['Recall', 'recall'], ['Precision', 'precision'], ['MAP', 'map']] as const;
  const rows: string[][] = [];
  for (let ki = 0; ki < first.perK.length; ki++) {
    for (const [title, key] of metricNames) {
      rows.push([`${title}@${first.perK[ki]!.k}`, ...columns.map((c) => c.result.perK[ki]![key].toFixed(4))]);
    }
  }
  if (first.auc !== undefined) rows.push(['AUC', ...columns.map((c) => (c.result.auc ?? NaN).toFixed(4))]);
  return lines.join('\n') + '\n' + formatTable(['metric', ...columns.map((c) => c.label)], rows);
}
