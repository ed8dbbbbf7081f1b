// The layering of docs/architecture.md, held against the imports of src/:
// a folder imports only from its own layer's files or the layers below.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, 'src');

/** Layer of a file under src/, by its top-level folder or file name (the table in docs/architecture.md). */
const LAYERS: Record<string, number> = {
  'errors.ts': 0, 'paths.ts': 0, util: 0, types: 0,
  memory: 1,
  kernels: 2,
  data: 3,
  model: 4,
  samplers: 5, eval: 5, cluster: 5, sgd: 5,
  pool: 6,
  train: 7,
  api: 8, 'index.ts': 8,
  experiment: 9,
  cli: 10, 'cli.ts': 10,
};

/** The layer table's key for a source file or an import target (`.js` specifiers name `.ts` sources). */
function unit(file: string): string {
  return path.relative(src, file).split(path.sep)[0]!.replace(/\.js$/, '.ts');
}

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'assembly' ? [] : sources(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Relative module specifiers of static imports, `export … from` and dynamic `import()`. */
function relativeImports(text: string): string[] {
  const found: string[] = [];
  const re = /(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g;
  for (let m = re.exec(text); m; m = re.exec(text)) found.push(m[1]!);
  return found;
}

t.test('the specifier scan finds static, re-export and dynamic imports', async (t) => {
  const text = `import { a } from '../x/a.js';\nexport * from "./b.js";\nconst c = await import('../c.js');\nimport './side.js';`;
  t.same(relativeImports(text), ['../x/a.js', './b.js', '../c.js', './side.js']);
});

t.test('every file of src/ belongs to a layer', async (t) => {
  const unknown = [...new Set(sources(src).map(unit))].filter((u) => !(u in LAYERS));
  t.same(unknown, [], 'folders or files missing from the layer table');
});

t.test('no import in src/ points to a layer above its own', async (t) => {
  const upward: string[] = [];
  let seen = 0;
  for (const file of sources(src)) {
    const from = LAYERS[unit(file)];
    for (const spec of relativeImports(fs.readFileSync(file, 'utf8'))) {
      const target = path.resolve(path.dirname(file), spec);
      if (!target.startsWith(src + path.sep)) continue;
      seen++;
      const to = LAYERS[unit(target)];
      if (to === undefined) upward.push(`${path.relative(root, file)} imports ${spec}, which has no layer`);
      else if (to > from!) {
        upward.push(`${path.relative(root, file)} (layer ${from}) imports ${spec} (layer ${to})`);
      }
    }
  }
  t.ok(seen > 100, `scanned ${seen} imports`);
  t.same(upward, [], 'upward imports');
});

t.test('the CLI is a shell over the library: it reaches only api/, experiment/, data/ formats, util/ and errors', async (t) => {
  const allowed = new Set(['api', 'index.ts', 'experiment', 'data', 'util', 'errors.ts', 'paths.ts', 'cli', 'cli.ts']);
  const reaches: string[] = [];
  for (const file of sources(src).filter((f) => ['cli', 'cli.ts'].includes(unit(f)))) {
    for (const spec of relativeImports(fs.readFileSync(file, 'utf8'))) {
      const target = path.resolve(path.dirname(file), spec);
      if (target.startsWith(src + path.sep) && !allowed.has(unit(target))) {
        reaches.push(`${path.relative(root, file)} imports ${spec}`);
      }
    }
  }
  t.same(reaches, []);
});
