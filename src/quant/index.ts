// Quantised base weights: bitsandbytes' 4-bit (NF4/FP4, double quantisation) and int8 formats,
// the layers that hold them, and their checkpoint layout.
export type { QuantState4, QuantStateInt8, QuantType4, NestedAbsmax } from './state.js';
export { NF4_CODE, FP4_CODE, DYNAMIC_CODE } from './codes.js';
export { quantize4bit, dequantize4bit, quantizeInt8, dequantizeInt8, quantizeState4, dequantizeState4, quantStateBytes, type Quantize4bitOptions, type Quantized4bit } from './functional.js';
export { Linear4bit, Linear8bitLt, isQuantizedLinear, type QuantizedLinear } from './linear.js';
export type { QuantizationOptions } from './config.js';
export { linear4bit, linearInt8, type ComputeDType } from './ops.js';
export { quantize4bitNative, quantize8bitNative, dequantize4bitNative, quantizeInt8Native, dequantizeInt8Native } from './kernels.js';
