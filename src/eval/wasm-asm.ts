/**
 * Just enough of the WebAssembly binary format to emit one SIMD scoring
 * kernel at run time. There is no compiler toolchain in the project (and no
 * dependency for it): the kernel is a few dozen instructions, generated per
 * embedding width so the inner loop has constant offsets.
 */

/**
 * The slice of the engine's WebAssembly API used here. The project's lib
 * settings (ES2022 + @types/node 20) do not declare the global, so it is
 * typed locally instead of widening the compiler options for everyone.
 */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}
interface WasmApi {
  Memory: new (desc: { initial: number; maximum?: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => WasmInstance;
  validate(bytes: Uint8Array): boolean;
}
export const wasmApi: WasmApi | undefined = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

export const I32 = 0x7f;
export const V128 = 0x7b;
export const F32 = 0x7d;

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const name = (s: string): number[] => vec([...Buffer.from(s, 'utf8')].map((b) => [b]));
const section = (id: number, bytes: number[]): number[] => [id, ...uleb(bytes.length), ...bytes];

const simd = (opcode: number): number[] => [0xfd, ...uleb(opcode)];
/** memarg: alignment as log2 bytes, then a constant byte offset. */
const memarg = (alignLog2: number, offset: number): number[] => [alignLog2, ...uleb(offset)];

/** The instructions the kernel uses (opcodes from the WebAssembly core + SIMD specs). */
export const op = {
  localGet: (i: number) => [0x20, ...uleb(i)],
  localSet: (i: number) => [0x21, ...uleb(i)],
  localTee: (i: number) => [0x22, ...uleb(i)],
  i32Const: (n: number) => [0x41, ...sleb(n)],
  i32Add: [0x6a],
  i32Mul: [0x6c],
  i32LtU: [0x49],
  i32GeU: [0x4f],
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  end: [0x0b],
  v128Load: (offset: number) => [...simd(0x00), ...memarg(4, offset)],
  v128Load32Splat: (offset: number) => [...simd(0x09), ...memarg(2, offset)],
  v128Store: (offset: number) => [...simd(0x0b), ...memarg(4, offset)],
  v128Zero: [...simd(0x0c), ...new Array<number>(16).fill(0)],
  f32x4Add: simd(0xe4),
  f32x4Mul: simd(0xe6),
  /** b if a < b else a: one maxps, and NaN in b (padding) keeps a. */
  f32x4Pmax: simd(0xeb),
  f32x4Splat: simd(0x13),
  f32x4Eq: simd(0x41),
  f32x4Lt: simd(0x43),
  f32x4ExtractLane: (lane: number) => [...simd(0x1f), lane],
  i32x4Sub: simd(0xb1),
  f32Max: [0x97],
  f32Store: (offset: number) => [0x38, ...memarg(2, offset)],
  f32Const: (x: number) => {
    const b = new Uint8Array(new Float32Array([x]).buffer);
    return [0x43, ...b];
  },
};

export interface FuncSpec {
  exportName: string;
  params: number[];
  locals: { count: number; type: number }[];
  body: number[];
}

/** A module importing one linear memory as `env.mem` and exporting the given functions. */
export function assembleModule(funcs: FuncSpec[], memoryMinPages = 1): Uint8Array {
  const types = funcs.map((f) => [0x60, ...vec(f.params.map((p) => [p])), ...vec([])]);
  const imports = [[...name('env'), ...name('mem'), 0x02, 0x00, ...uleb(memoryMinPages)]];
  const fnTypes = funcs.map((_, k) => uleb(k));
  const exports = funcs.map((f, k) => [...name(f.exportName), 0x00, ...uleb(k)]);
  const codes = funcs.map((f) => {
    const code = [...vec(f.locals.map((l) => [...uleb(l.count), l.type])), ...f.body, ...op.end];
    return [...uleb(code.length), ...code];
  });
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(2, vec(imports)),
    ...section(3, vec(fnTypes)),
    ...section(7, vec(exports)),
    ...section(10, vec(codes)),
  ]);
}

/** WebAssembly 128-bit SIMD is available (always in Node >= 16.4; checked rather than assumed). */
export function simdSupported(): boolean {
  const probe = assembleModule([
    { exportName: 'f', params: [], locals: [{ count: 1, type: V128 }], body: [...op.v128Zero, ...op.localSet(0)] },
  ]);
  return wasmApi !== undefined && wasmApi.validate(probe);
}
