import t from 'tap';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { forEachLineBytes, lineError, peekLines, LineRef } from '../src/data/input.js';
import { Fields, integerField, parseNumber, splitBlankBytes, splitBytes, splitDelimited } from '../src/data/fields.js';
import { UserError } from '../src/errors.js';

async function lines(file: string): Promise<[number, string][]> {
  const out: [number, string][] = [];
  await forEachLineBytes(file, (ref) => out.push([ref.line, ref.text]), { progress: 'quiet' });
  return out;
}

t.test('forEachLineBytes: LF, CRLF, BOM, missing final newline, blank lines keep their numbers', async (t) => {
  const dir = t.testdir({
    'lf.txt': 'a b\n\nc\n',
    'crlf.txt': '\uFEFFa b\r\n\r\nc',
  });
  t.same(await lines(path.join(dir, 'lf.txt')), [[1, 'a b'], [2, ''], [3, 'c']]);
  t.same(await lines(path.join(dir, 'crlf.txt')), [[1, 'a b'], [2, ''], [3, 'c']]);
});

t.test('forEachLineBytes reads gzip by its magic bytes, whatever the name', async (t) => {
  const dir = t.testdir();
  const text = Array.from({ length: 5000 }, (_, k) => `${k} ${k * 2}`).join('\n') + '\n';
  writeFileSync(path.join(dir, 'x.gz'), gzipSync(text));
  writeFileSync(path.join(dir, 'noext'), gzipSync(text));
  for (const name of ['x.gz', 'noext']) {
    const got = await lines(path.join(dir, name));
    t.equal(got.length, 5000);
    t.same(got[4999], [5000, '4999 9998']);
  }
});

t.test('a UTF-8 character split across stream chunks survives', async (t) => {
  const dir = t.testdir();
  const text = 'x'.repeat((1 << 20) - 1) + 'é\nsecond\n';
  writeFileSync(path.join(dir, 'u.txt'), text);
  const got = await lines(path.join(dir, 'u.txt'));
  t.equal(got[0]![1].slice(-1), 'é');
  t.same(got[1], [2, 'second']);
});

t.test('missing file, corrupt gzip and directories are UserErrors naming the path', async (t) => {
  const dir = t.testdir({ sub: {} });
  await t.rejects(lines(path.join(dir, 'nope.txt')), { name: 'UserError', message: `file not found: ${path.join(dir, 'nope.txt')}` });
  await t.rejects(lines(path.join(dir, 'sub')), { name: 'UserError', message: /not a file/ });
  writeFileSync(path.join(dir, 'bad.gz'), Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]));
  await t.rejects(lines(path.join(dir, 'bad.gz')), { name: 'UserError', message: /bad\.gz: cannot read/ });
});

t.test('peekLines skips blank lines and stops early', async (t) => {
  const dir = t.testdir({ 'p.txt': '\n\nfirst\r\nsecond\nthird\n' });
  t.same(await peekLines(path.join(dir, 'p.txt'), 2), ['first', 'second']);
});

t.test('field splitting', async (t) => {
  const where = { file: 'f.csv', line: 7, text: '' };
  const tokens = (text: string, split: (ref: LineRef, f: Fields) => void) => {
    const ref = new LineRef('f.txt');
    ref.buf = Buffer.from(text);
    ref.end = ref.buf.length;
    const f = new Fields();
    split(ref, f);
    return Array.from({ length: f.n }, (_, k) => f.text(k));
  };
  t.same(tokens('  3 1\t2  ', splitBlankBytes), ['3', '1', '2']);
  t.same(tokens('   ', splitBlankBytes), []);
  t.same(tokens('a::b::::c', (r, f) => splitBytes(r, Buffer.from('::'), f)), ['a', 'b', '', 'c']);
  t.same(tokens('a\tb\t', (r, f) => splitBytes(r, Buffer.from('\t'), f)), ['a', 'b', '']);
  t.same(splitDelimited({ ...where, text: 'a,b,,c' }, ',', '"'), ['a', 'b', '', 'c']);
  t.same(splitDelimited({ ...where, text: '"a,1",b,"say ""hi"""' }, ',', '"'), ['a,1', 'b', 'say "hi"']);
  t.same(splitDelimited({ ...where, text: '1::2::5' }, '::', null), ['1', '2', '5']);
  t.same(splitDelimited({ ...where, text: 'ab"c,d' }, ',', '"'), ['ab"c', 'd'], 'a quote inside an unquoted field is text');
  t.same(splitDelimited({ ...where, text: '"a::b"::c' }, '::', '"'), ['a::b', 'c']);
  t.same(splitDelimited({ ...where, text: 'a"b\tc' }, '\t', null), ['a"b', 'c'], 'quote ignored when the format never quotes');
  t.throws(() => splitDelimited({ ...where, text: '"open,b' }, ',', '"'), { name: 'UserError', message: /^f\.csv:7: cannot parse quoted fields/ });
});

t.test('numbers: errors name file, line, column and text', async (t) => {
  const where = { file: 'r.tsv', line: 3, text: '1\t2\tfive' };
  t.equal(parseNumber('4.5', 'rating', where), 4.5);
  const field = (text: string) => {
    const f = new Fields();
    f.buf = Buffer.from(text);
    f.n = 0;
    f.push(0, f.buf.length);
    return f;
  };
  t.equal(integerField(field('881250949'), 0, 'timestamp', where as unknown as LineRef), 881250949);
  for (const bad of ['five', '', ' ', 'NaN', 'Infinity']) {
    t.throws(() => parseNumber(bad, 'rating', where), { name: 'UserError', message: /^r\.tsv:3: rating is not a number .*: "1\\t2\\tfive"$/ });
  }
  t.throws(() => integerField(field('1.5'), 0, 'timestamp', where as unknown as LineRef), { message: /^r\.tsv:3: timestamp is not an integer/ });
});

t.test('lineError truncates long text to 200 characters', async (t) => {
  const e = lineError('f', 1, 'bad', 'x'.repeat(1000));
  t.ok(e instanceof UserError);
  t.equal(e.message, `f:1: bad: "${'x'.repeat(200)}…"`);
});
