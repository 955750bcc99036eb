// copyStrided on the WebAssembly backend when both sides are contiguous: one TypedArray.set in
// JavaScript memory, where the kernel would copy both arrays into the wasm heap and the result back
// out (four passes over the bytes, and the heap grown to hold them). Loading a model copies every
// weight this way (copy_ into its parameter): GPT-2 124M's 475 MB.
import type { ElementwiseKernels } from '../elementwise.js';

type CopyStrided = ElementwiseKernels['copyStrided'];

/** Whether `strides` lay out `shape` row-major without gaps (dimensions of size 1 may have any stride). */
function isContiguous(shape: number[], strides: number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] === 1) continue;
    if (strides[i] !== expected) return false;
    expected *= shape[i]!;
  }
  return true;
}

/** `kernel` with contiguous copies between arrays of one type done by TypedArray.set (anything else, errors included, goes to `kernel`). */
export function withContiguousCopy(kernel: CopyStrided): CopyStrided {
  return (src, srcOffset, srcStrides, dst, dstOffset, dstStrides, shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    if (
      src.constructor === dst.constructor &&
      n > 0 &&
      srcOffset >= 0 &&
      dstOffset >= 0 &&
      srcOffset + n <= src.length &&
      dstOffset + n <= dst.length &&
      isContiguous(shape, srcStrides) &&
      isContiguous(shape, dstStrides)
    ) {
      // Same array type: set() copies the elements as they are (and handles overlap within one buffer).
      (dst as Float32Array).set((src as Float32Array).subarray(srcOffset, srcOffset + n), dstOffset);
      return;
    }
    kernel(src, srcOffset, srcStrides, dst, dstOffset, dstStrides, shape);
  };
}
