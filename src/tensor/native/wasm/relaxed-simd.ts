// Which build of the WebAssembly kernels to load. Each comes threaded (needs SharedArrayBuffer) or
// single-threaded, and plain (SIMD128) or with relaxed SIMD in the GEMM micro-kernel: its
// f32x4.relaxed_madd is one FMA instruction on CPUs that have one, twice the plain build's flops per
// instruction (native/src/wasm/gemm_wasm128.cc). No Node imports: the browser build uses it too.

export type WasmScript =
  'peftjs-wasm.js' | 'peftjs-wasm-st.js' | 'peftjs-wasm-relaxed.js' | 'peftjs-wasm-relaxed-st.js';

// A module of one function, (v128, v128, v128) -> v128: local.get 0, 1, 2; f32x4.relaxed_madd (0xfd 0x85 0x02).
// prettier-ignore
const RELAXED_MADD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b, // type section: the signature
  0x03, 0x02, 0x01, 0x00, // function section
  0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b, // code section
]);

/** Whether this engine validates relaxed SIMD (Chromium 114+, Node 22+; Node 20 behind a V8 flag). */
export function engineHasRelaxedSimd(): boolean {
  // The project's TypeScript libraries declare WebAssembly's types only, not the global.
  const wasm = (globalThis as { WebAssembly?: { validate(bytes: Uint8Array): boolean } }).WebAssembly;
  return wasm?.validate(RELAXED_MADD_PROBE) === true;
}

/** The script of the build for these threads and SIMD. */
export function wasmScript(options: { threaded: boolean; relaxedSimd: boolean }): WasmScript {
  return `peftjs-wasm${options.relaxedSimd ? '-relaxed' : ''}${options.threaded ? '' : '-st'}.js`;
}
