/**
 * A minimal WebAssembly binary writer: just what src/wasm/gemm.ts and src/wasm/im2col.ts need to
 * generate their kernels at run time (i32, i64, f32 and f64 scalar code, SIMD f32x4, loops and blocks,
 * one imported memory).
 * Generating the bytes here keeps the repository free of compiled binaries and of a C toolchain;
 * the format is the WebAssembly 2.0 binary format (https://webassembly.github.io/spec/).
 */

const I32 = 0x7f;
const F32 = 0x7d;
const I64 = 0x7e;
const F64 = 0x7c;
const V128 = 0x7b;
export const type = { i32: I32, i64: I64, f32: F32, f64: F64, v128: V128 } as const;
export type ValType = (typeof type)[keyof typeof type];

function uleb(n: number, out: number[]): void {
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
}

function sleb(n: number, out: number[]): void {
  for (;;) {
    const b = n & 0x7f;
    n = Math.floor(n / 128);
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

/** The body of one function: locals plus an instruction stream. */
export class Func {
  readonly code: number[] = [];
  private locals: ValType[] = [];
  constructor(
    readonly name: string,
    readonly params: ValType[],
  ) {}

  /** A new local of type `t`; returns its index. */
  local(t: ValType): number {
    this.locals.push(t);
    return this.params.length + this.locals.length - 1;
  }

  private op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }
  private simd(opcode: number, ...rest: number[]): this {
    this.code.push(0xfd);
    uleb(opcode, this.code);
    this.code.push(...rest);
    return this;
  }
  private memarg(align: number, offset: number): number[] {
    const m: number[] = [];
    uleb(align, m);
    uleb(offset, m);
    return m;
  }

  get(i: number): this {
    this.code.push(0x20);
    uleb(i, this.code);
    return this;
  }
  set(i: number): this {
    this.code.push(0x21);
    uleb(i, this.code);
    return this;
  }
  tee(i: number): this {
    this.code.push(0x22);
    uleb(i, this.code);
    return this;
  }
  i32(v: number): this {
    this.code.push(0x41);
    sleb(v | 0, this.code);
    return this;
  }
  f32(v: number): this {
    const b = new Uint8Array(new Float32Array([v]).buffer);
    return this.op(0x43, ...b);
  }
  i64(v: number): this {
    this.code.push(0x42);
    sleb(v, this.code);
    return this;
  }
  f64(v: number): this {
    const b = new Uint8Array(new Float64Array([v]).buffer);
    return this.op(0x44, ...b);
  }
  add(): this {
    return this.op(0x6a);
  }
  sub(): this {
    return this.op(0x6b);
  }
  mul(): this {
    return this.op(0x6c);
  }
  shl(): this {
    return this.op(0x74);
  }
  and(): this {
    return this.op(0x71);
  }
  shrU(): this {
    return this.op(0x76);
  }
  eqz(): this {
    return this.op(0x45);
  }
  ne(): this {
    return this.op(0x47);
  }
  ltS(): this {
    return this.op(0x48);
  }
  leS(): this {
    return this.op(0x4c);
  }
  gtS(): this {
    return this.op(0x4a);
  }
  geS(): this {
    return this.op(0x4e);
  }
  drop(): this {
    return this.op(0x1a);
  }
  /** a b cond → cond ≠ 0 ? a : b (numeric operands). */
  select(): this {
    return this.op(0x1b);
  }
  f32gt(): this {
    return this.op(0x5e);
  }
  f32ne(): this {
    return this.op(0x5c);
  }
  f32load(offset = 0): this {
    return this.op(0x2a, ...this.memarg(2, offset));
  }
  f32store(offset = 0): this {
    return this.op(0x38, ...this.memarg(2, offset));
  }
  f32add(): this {
    return this.op(0x92);
  }
  f32mul(): this {
    return this.op(0x94);
  }
  f32div(): this {
    return this.op(0x95);
  }
  f32max(): this {
    return this.op(0x97);
  }
  f32sqrt(): this {
    return this.op(0x91);
  }
  f32floor(): this {
    return this.op(0x8e);
  }
  f64add(): this {
    return this.op(0xa0);
  }
  f64sub(): this {
    return this.op(0xa1);
  }
  f64mul(): this {
    return this.op(0xa2);
  }
  /** f64 → i32, truncating toward zero (JavaScript's `x | 0` for 0 ≤ x < 2³¹). */
  i32truncF64s(): this {
    return this.op(0xaa);
  }
  f64convertI32s(): this {
    return this.op(0xb7);
  }
  i64add(): this {
    return this.op(0x7c);
  }
  i64mul(): this {
    return this.op(0x7e);
  }
  i64and(): this {
    return this.op(0x83);
  }
  i64shrU(): this {
    return this.op(0x88);
  }
  /** i32 → i64, reading the i32 as unsigned. */
  i64extendI32u(): this {
    return this.op(0xad);
  }
  /** i64 → f32, reading the i64 as unsigned, rounding to nearest even. */
  f32convertI64u(): this {
    return this.op(0xb5);
  }
  /** f64 → f32, rounding to nearest even (what a store into a Float32Array does). */
  f32demoteF64(): this {
    return this.op(0xb6);
  }
  /** block ... end (void); `br` depth 0 inside jumps to its end. */
  block(): this {
    return this.op(0x02, 0x40);
  }
  /** loop ... end (void); `br` depth 0 inside jumps to its start. */
  loop(): this {
    return this.op(0x03, 0x40);
  }
  if(): this {
    return this.op(0x04, 0x40);
  }
  else(): this {
    return this.op(0x05);
  }
  end(): this {
    return this.op(0x0b);
  }
  br(depth: number): this {
    return this.op(0x0c, depth);
  }
  brIf(depth: number): this {
    return this.op(0x0d, depth);
  }
  ret(): this {
    return this.op(0x0f);
  }
  v128load(offset = 0): this {
    return this.simd(0x00, ...this.memarg(0, offset));
  }
  v128store(offset = 0): this {
    return this.simd(0x0b, ...this.memarg(0, offset));
  }
  v128load32splat(offset = 0): this {
    return this.simd(0x09, ...this.memarg(2, offset));
  }
  v128zero(): this {
    return this.simd(0x0c, ...new Array<number>(16).fill(0));
  }
  shuffle(lanes: number[]): this {
    return this.simd(0x0d, ...lanes);
  }
  f32x4splat(): this {
    return this.simd(0x13);
  }
  f32x4add(): this {
    return this.simd(0xe4);
  }
  f32x4mul(): this {
    return this.simd(0xe6);
  }
  /** Relaxed SIMD's f32x4.relaxed_madd (a·b + c, fused or not: rounding may differ by engine). */
  f32x4relaxedMadd(): this {
    return this.simd(0x105);
  }
  f32x4div(): this {
    return this.simd(0xe7);
  }
  f32x4max(): this {
    return this.simd(0xe9);
  }
  f32x4sqrt(): this {
    return this.simd(0xe3);
  }
  f32x4extract(lane: number): this {
    return this.simd(0x1f, lane);
  }
  /** A v128 constant of four i32 lanes. */
  i32x4const(lanes: [number, number, number, number]): this {
    return this.simd(0x0c, ...new Uint8Array(new Int32Array(lanes).buffer));
  }
  f32x4gt(): this {
    return this.simd(0x44);
  }
  f32x4ne(): this {
    return this.simd(0x42);
  }
  /** a b mask → (a & mask) | (b & ~mask). */
  bitselect(): this {
    return this.simd(0x52);
  }
  i32x4splat(): this {
    return this.simd(0x11);
  }
  i32x4add(): this {
    return this.simd(0xae);
  }
  i32x4extract(lane: number): this {
    return this.simd(0x1b, lane);
  }

  /** The encoded body: local declarations, code, end. */
  encode(): number[] {
    const body: number[] = [];
    const groups: [number, ValType][] = [];
    for (const t of this.locals) {
      if (groups.length && groups[groups.length - 1][1] === t) groups[groups.length - 1][0]++;
      else groups.push([1, t]);
    }
    uleb(groups.length, body);
    for (const [n, t] of groups) {
      uleb(n, body);
      body.push(t);
    }
    body.push(...this.code, 0x0b);
    const out: number[] = [];
    uleb(body.length, out);
    return out.concat(body);
  }
}

function section(id: number, content: number[]): number[] {
  const out = [id];
  uleb(content.length, out);
  return out.concat(content);
}

function vec(items: number[][]): number[] {
  const out: number[] = [];
  uleb(items.length, out);
  for (const i of items) out.push(...i);
  return out;
}

function name(s: string): number[] {
  const bytes = [...Buffer.from(s, "utf8")];
  const out: number[] = [];
  uleb(bytes.length, out);
  return out.concat(bytes);
}

/**
 * A module of void functions that import the memory `env.memory` (shared or not, to match the
 * memory it will be given) and are exported under their names.
 */
export function moduleBytes(funcs: Func[], sharedMemory: boolean): Uint8Array {
  const types = funcs.map((f) => [0x60, ...vec(f.params.map((p) => [p])), 0x00]);
  const limits = sharedMemory ? [0x03, 0x01, 0x80, 0x80, 0x04] : [0x00, 0x01]; // min 1, max 65536 pages
  const imports = [[...name("env"), ...name("memory"), 0x02, ...limits]];
  const fnIndices = funcs.map((_, i) => {
    const b: number[] = [];
    uleb(i, b);
    return b;
  });
  const exports = funcs.map((f, i) => {
    const b = [...name(f.name), 0x00];
    uleb(i, b);
    return b;
  });
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(2, vec(imports)),
    ...section(3, vec(fnIndices)),
    ...section(7, vec(exports)),
    ...section(10, vec(funcs.map((f) => f.encode()))),
  ];
  return new Uint8Array(bytes);
}

/** A counted loop `for (v = from; v < limit; v += step)`; `limit` a local. */
export function forLoop(f: Func, v: number, from: () => void, limit: number, step: number, body: () => void): void {
  from();
  f.set(v);
  f.block().loop();
  f.get(v).get(limit).geS().brIf(1);
  body();
  f.get(v).i32(step).add().set(v).br(0);
  f.end().end();
}
