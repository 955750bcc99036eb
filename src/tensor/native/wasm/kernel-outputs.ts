// Which arguments a kernel writes, for the WebAssembly backend's marshalling (marshal.ts): a range of
// JavaScript memory holding none of them is copied into the wasm heap but not back. A GPT-2 124M LoRA
// step reads every frozen weight (the LM head's 154 MB wte among them) in products and lookups;
// copying them back out doubled their cost. And an output the kernel writes whole, without reading it
// first (a product's C with beta = 0, an elementwise result), need not be copied in: the LM head's
// logits are 26 MB per 128 tokens. The indices follow the signatures in src/tensor/native/*.ts and
// the bindings' info[i] in native/src/bind_*.cc. A kernel not listed here may write any argument, and
// everything it was given is copied in and back.

const OUTPUTS: Record<string, readonly number[]> = {
  gemm: [16], // C
  gemmF64: [15], // C
  unary: [6], // y
  binary: [9], // out
  where: [11], // out
  copyStrided: [3], // dst
  cast: [4], // dst
  reduce: [7, 8], // out, index
  indexSelect: [8], // out
  indexAdd: [1], // dst
  gather: [8], // out
  scatter: [2], // dst
  sort: [6, 7], // values, indices
  topk: [7, 8], // values, indices
  cumsum: [7], // out
  dropout: [7], // out
  linear4bit: [4], // y
  linearInt8: [4], // y
  linear4bitBackward: [3], // gx
  linearInt8Backward: [3], // gx
  ggmlLinear: [4], // y
  ggmlLinearBackward: [3], // gx
  ggmlGetRows: [2], // out
  ggmlDequantize: [1], // out
};

const numel = (shape: unknown): number => (shape as number[]).reduce((a, b) => a * b, 1);
const lengthOf = (array: unknown): number => (array as { length: number }).length;

/** Per kernel: the index of an argument it writes in full without reading it, given these arguments; else -1. */
const OVERWRITES: Record<string, (args: unknown[]) => number> = {
  // C (16) when beta (15) is 0 and C is exactly the batch x M x N result: offset 0, ldc = N, items adjacent.
  gemm: ([, , M, N, , , , , , , , , , , , beta, C, cOffset, ldc, strideC, batch]) => {
    const [m, n, items] = [M as number, N as number, batch as number];
    const exact = cOffset === 0 && ldc === n && (items === 1 || strideC === m * n) && lengthOf(C) === m * n * items;
    return beta === 0 && exact ? 16 : -1;
  },
  unary: (args) => (lengthOf(args[6]) === numel(args[4]) ? 6 : -1),
  binary: (args) => (lengthOf(args[9]) === numel(args[8]) ? 9 : -1),
  indexSelect: (args) =>
    lengthOf(args[8]) === (args[2] as number) * (args[7] as number) * (args[4] as number) ? 8 : -1,
};

/** The index of an argument kernel `name` writes in full without reading it (for these arguments), or -1. */
export function overwrittenArgument(name: string, args: unknown[]): number {
  return OVERWRITES[name]?.(args) ?? -1;
}

/** The argument indices kernel `name` writes, or undefined when it may write any of them. */
export function writtenArguments(name: string): readonly number[] | undefined {
  return OUTPUTS[name];
}
