import t from 'tap';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { chartSpec, renderSvg, writeSvg, type BarChart, type LineChart } from '../src/util/plot.js';

const line: LineChart = {
  kind: 'line',
  title: 'Effect of L',
  x: { title: 'negatives L', ticksAtData: true },
  y: { title: 'NDCG@50' },
  points: [
    { series: 'PRIS-U', x: 5, y: 0.12 },
    { series: 'PRIS-U', x: 10, y: 0.13 },
    { series: 'BPR', x: 5, y: 0.1 },
    { series: 'BPR', x: 10, y: NaN }, // a failed run: left out, not drawn at 0
  ],
};

const bars: BarChart = {
  kind: 'bar',
  title: 'Samplers',
  x: { title: 'sampler' },
  y: { title: 'Recall@50' },
  bars: [
    { label: 'uniform', value: 0.28, series: 'pris' },
    { label: 'uniform', value: 0.2872, series: 'paper (CiteULike)' },
    { label: 'exact', value: 0.3, series: 'pris' },
  ],
};

t.test('a line chart renders to SVG with its title, axis titles and series names', async (t) => {
  const svg = await renderSvg(line);
  t.match(svg, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  t.ok(svg.trimEnd().endsWith('</svg>'));
  for (const text of ['Effect of L', 'negatives L', 'NDCG@50', 'PRIS-U', 'BPR']) t.ok(svg.includes(text), `contains ${text}`);
});

t.test('the line spec keeps series in order, drops non-finite points and puts ticks at the data', async (t) => {
  const spec = chartSpec(line) as { data: { values: { series: string; y: number }[] }; encoding: Record<string, any> };
  t.same(spec.data.values.map((v) => v.series), ['PRIS-U', 'PRIS-U', 'BPR']);
  t.same(spec.encoding.color.scale.domain, ['PRIS-U', 'BPR']);
  t.same(spec.encoding.x.axis.values, [5, 10]);
});

t.test('a log2 axis', async (t) => {
  const spec = chartSpec({ ...line, x: { title: 'd', scale: 'log2' } }) as { encoding: Record<string, any> };
  t.same(spec.encoding.x.scale, { type: 'log', base: 2 });
});

t.test('a grouped bar chart renders with its labels and series', async (t) => {
  const svg = await renderSvg(bars);
  for (const text of ['Samplers', 'sampler', 'Recall@50', 'uniform', 'exact', 'pris', 'paper (CiteULike)']) t.ok(svg.includes(text), `contains ${text}`);
  const spec = chartSpec(bars) as { encoding: Record<string, any> };
  t.same(spec.encoding.x.sort, ['uniform', 'exact'], 'bars keep the given order');
  t.ok(spec.encoding.xOffset, 'series side by side');
});

t.test('writeSvg writes the whole file through a temporary sibling', async (t) => {
  const dir = t.testdir({});
  const file = path.join(dir, 'sub', 'chart.svg');
  await writeSvg(file, line);
  const svg = readFileSync(file, 'utf8');
  t.ok(svg.startsWith('<svg') && svg.trimEnd().endsWith('</svg>'));
  t.same(readdirSync(path.dirname(file)), ['chart.svg'], 'no temporary file left behind');

  // A chart that cannot be rendered (an invalid tick format) leaves the old file as it was.
  writeFileSync(file, 'old');
  await t.rejects(writeSvg(file, { ...line, y: { title: 'y', format: 'not a format' } }));
  t.equal(readFileSync(file, 'utf8'), 'old');
  t.same(readdirSync(path.dirname(file)), ['chart.svg']);
  t.ok(existsSync(file));
});
