/**
 * Charts as SVG files: a small description (a line or a bar chart) becomes a
 * Vega-Lite spec, compiled to Vega and rendered headless (renderer 'none': no
 * DOM and no canvas needed; text widths are estimated). `pris experiment`
 * uses it for its plots; nothing else in pris does, so vega and vega-lite are
 * optional dependencies, loaded on the first chart drawn (never when the CLI
 * or the library starts).
 */
import type { TopLevelSpec } from 'vega-lite';
import { UserError } from '../errors.js';
import { writeFileAtomic } from './atomic.js';

/** What a user without the optional plotting packages is told. */
export const PLOTS_MISSING = 'the plotting packages vega and vega-lite are not installed (they are optional dependencies of pris); install them to draw plots: npm install vega vega-lite';

type PlotLibraries = { vega: typeof import('vega'); compile: typeof import('vega-lite').compile };
let libraries: Promise<PlotLibraries> | undefined;

function loadLibraries(): Promise<PlotLibraries> {
  libraries ??= Promise.all([import('vega'), import('vega-lite')]).then(
    ([vega, vl]) => ({ vega, compile: vl.compile }),
    (e: unknown) => {
      libraries = undefined;
      const code = (e as NodeJS.ErrnoException).code;
      throw code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' ? new UserError(PLOTS_MISSING) : e;
    },
  );
  return libraries;
}

/** Whether charts can be drawn here (the optional plotting packages are installed). */
export async function canPlot(): Promise<boolean> {
  try {
    await loadLibraries();
    return true;
  } catch (e) {
    if (e instanceof UserError) return false;
    throw e;
  }
}

export interface ChartAxis {
  title: string;
  /** 'log2' suits parameters that double (the embedding dimension), 'log10' quantities over decades (costs against data size). Default 'linear'. */
  scale?: 'linear' | 'log2' | 'log10';
  /** Start the axis at zero (default: only for bar heights). */
  zero?: boolean;
  /** d3-format string for tick labels, e.g. '.3f' or '~s'. */
  format?: string;
  /** Ticks exactly at the data's x values (parameter grids such as L = 5..30). */
  ticksAtData?: boolean;
}

export interface LinePoint {
  series: string;
  x: number;
  y: number;
}

/** One line per series, points marked; series drawn in order of first appearance. */
export interface LineChart {
  kind: 'line';
  title: string;
  x: ChartAxis;
  y: ChartAxis;
  points: LinePoint[];
  /** legend title (default 'series') */
  legend?: string;
  /** series drawn dashed, e.g. a reference line such as ideal speedup */
  dashed?: string[];
}

export interface BarDatum {
  label: string;
  value: number;
  /** bars of several series are grouped side by side under each label */
  series?: string;
}

/** Bars in the given order; each bar is labelled with its value. */
export interface BarChart {
  kind: 'bar';
  title: string;
  x: { title: string };
  y: ChartAxis;
  bars: BarDatum[];
  legend?: string;
  /** d3-format of the value printed above each bar (default '.3~f') */
  labelFormat?: string;
}

export type Chart = LineChart | BarChart;

const WIDTH = 480;
const HEIGHT = 300;

/** Distinct values in order of first appearance (Vega would sort them otherwise). */
function distinct<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

function quantitative(field: string, a: ChartAxis): Record<string, unknown> {
  // A log scale has no zero; Vega-Lite would warn on the console.
  const scale: Record<string, unknown> =
    a.scale === 'log2' ? { type: 'log', base: 2 } : a.scale === 'log10' ? { type: 'log', base: 10 } : { zero: a.zero ?? false };
  return { field, type: 'quantitative', title: a.title, scale, axis: a.format ? { format: a.format } : {} };
}

function lineSpec(c: LineChart): TopLevelSpec {
  // Failed or missing measurements (NaN) are left out rather than drawn at 0.
  const points = c.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const series = distinct(points.map((p) => p.series));
  const dashed = new Set(c.dashed ?? []);
  const x = quantitative('x', c.x);
  if (c.x.ticksAtData) {
    // Parameter grids are round numbers: print 2 rather than 2.0.
    Object.assign(x.axis as Record<string, unknown>, { values: distinct(points.map((p) => p.x)).sort((a, b) => a - b), format: c.x.format ?? '~g' });
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: c.title,
    width: WIDTH,
    height: HEIGHT,
    background: 'white',
    data: { values: points.map((p) => ({ ...p, stroke: dashed.has(p.series) ? 'dashed' : 'solid' })) },
    mark: { type: 'line', point: true },
    encoding: {
      x,
      y: quantitative('y', c.y),
      color: { field: 'series', type: 'nominal', title: c.legend ?? 'series', scale: { domain: series }, sort: series },
      strokeDash: { field: 'stroke', type: 'nominal', scale: { domain: ['solid', 'dashed'], range: [[1, 0], [5, 3]] }, legend: null },
    },
  } as TopLevelSpec;
}

/** Whether the labels fit side by side under the bars (about 6 px a character at the default font). */
function labelsFit(labels: string[]): boolean {
  const longest = Math.max(0, ...labels.map((l) => l.length));
  return labels.length * (longest * 6 + 8) <= WIDTH;
}

function barSpec(c: BarChart): TopLevelSpec {
  const bars = c.bars.filter((b) => Number.isFinite(b.value));
  const labels = distinct(bars.map((b) => b.label));
  const grouped = bars.some((b) => b.series !== undefined);
  const series = distinct(bars.map((b) => b.series ?? ''));
  const format = c.labelFormat ?? '.3~f';
  const encoding: Record<string, unknown> = {
    x: { field: 'label', type: 'nominal', title: c.x.title, sort: labels, axis: { labelAngle: labelsFit(labels) ? 0 : -30, labelLimit: 400 } },
    y: { ...quantitative('value', { ...c.y, zero: c.y.zero ?? true }) },
  };
  if (grouped) {
    encoding.xOffset = { field: 'series', type: 'nominal', sort: series, scale: { domain: series } };
    encoding.color = { field: 'series', type: 'nominal', title: c.legend ?? 'series', scale: { domain: series }, sort: series };
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: c.title,
    width: WIDTH,
    height: HEIGHT,
    background: 'white',
    data: { values: bars.map((b) => ({ label: b.label, value: b.value, series: b.series ?? '' })) },
    encoding,
    layer: [
      { mark: { type: 'bar' } },
      { mark: { type: 'text', dy: -6, fontSize: 9 }, encoding: { text: { field: 'value', type: 'quantitative', format } } },
    ],
  } as TopLevelSpec;
}

/** The Vega-Lite spec of a chart (exposed for tests and for users who want to restyle). */
export function chartSpec(c: Chart): TopLevelSpec {
  return c.kind === 'line' ? lineSpec(c) : barSpec(c);
}

/** Renders a chart to SVG text, headless. */
export async function renderSvg(c: Chart): Promise<string> {
  const { vega, compile } = await loadLibraries();
  const { spec } = compile(chartSpec(c));
  // Silent: a rendering error is thrown to the caller, not also logged.
  const view = new vega.View(vega.parse(spec), { renderer: 'none', logLevel: vega.None });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Renders a chart and writes it atomically: a reader never sees half an SVG. */
export async function writeSvg(file: string, c: Chart): Promise<void> {
  await writeFileAtomic(file, await renderSvg(c));
}
