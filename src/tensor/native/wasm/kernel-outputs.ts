// Which arguments a kernel writes, for the WebAssembly backend's marshalling (marshal.ts): a range of
// JavaScript memory holding none of them is copied into the wasm heap but not back. A GPT-2 124M LoRA
// step reads every frozen weight (the LM head's 154 MB wte among them) in products and lookups;
// copying them back out doubled their cost. The indices follow the signatures in
// src/tensor/native/*.ts and the bindings' info[i] in native/src/bind_*.cc. A kernel not listed here
// may write any argument, and everything it was given is copied back.

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

/** The argument indices kernel `name` writes, or undefined when it may write any of them. */
export function writtenArguments(name: string): readonly number[] | undefined {
  return OUTPUTS[name];
}
