// Which build of the WebAssembly kernels a page loads (index.browser.ts availableThreads): threaded
// only where the page is cross-origin isolated, with relaxed SIMD only where the engine validates it.
// The engine's answers are stubbed here: Node itself runs every combination's code in the other tests.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { availableThreads } from '../../src/tensor/native/index.browser.js';
import { engineHasRelaxedSimd } from '../../src/tensor/native/wasm/relaxed-simd.js';

const scope = globalThis as unknown as {
  crossOriginIsolated?: boolean;
  WebAssembly: { validate: (bytes: Uint8Array) => boolean };
};
const realValidate = scope.WebAssembly.validate;

afterEach(() => {
  delete scope.crossOriginIsolated;
  scope.WebAssembly.validate = realValidate;
});

test('the probe is a valid module only to an engine with relaxed SIMD', () => {
  // Node 20 validates it once the loader has set V8's flag (test/native/wasm-backend.test.ts); here,
  // an engine that checks the bytes and refuses an unknown instruction.
  let seen: Uint8Array | undefined;
  scope.WebAssembly.validate = (bytes) => {
    seen = bytes;
    return false;
  };
  assert.equal(engineHasRelaxedSimd(), false);
  assert.deepEqual([...seen!.subarray(-4)], [0xfd, 0x85, 0x02, 0x0b]); // f32x4.relaxed_madd, end
});

for (const [isolated, relaxed, script, threads] of [
  [true, true, 'peftjs-wasm-relaxed.js', 'many'],
  [true, false, 'peftjs-wasm.js', 'many'],
  [false, true, 'peftjs-wasm-relaxed-st.js', 1],
  [false, false, 'peftjs-wasm-st.js', 1],
] as const) {
  test(`a page ${isolated ? '' : 'not '}cross-origin isolated, ${relaxed ? 'with' : 'without'} relaxed SIMD, loads ${script}`, () => {
    scope.crossOriginIsolated = isolated;
    scope.WebAssembly.validate = () => relaxed;
    const chosen = availableThreads();
    assert.equal(chosen.script, script);
    if (threads === 1) {
      assert.equal(chosen.threads, 1);
      assert.match(chosen.warning!, /not cross-origin isolated/);
    } else assert.equal(chosen.warning, undefined);
  });
}
