// Layers over ggml block-type weights, as src/quant/linear.ts's Linear4bit is over bitsandbytes' 4-bit:
// GgmlLinear is a Linear (so every tuner and target rule takes it) whose frozen `weight` shows the
// block bytes and whose forward computes y = x·Wᵀ + b from them (native/src/ggml/); GgmlEmbedding looks
// rows up in a quantised table (pure Q4_0 / Q8_0 files quantise token_embd, which is also the tied
// output matrix: one GgmlTensor may serve both).
import { Tensor, isGradEnabled, noGrad, type DType } from '../../tensor/index.js';
import { DTypeError } from '../../tensor/errors.js';
import { Linear, Module, Parameter } from '../../nn/index.js';
import { native } from '../../tensor/native/index.js';
import { quantLinear, type QuantLinear } from '../../quant/ops.js';
import { quantizationError, type RequantizationError } from '../../quant/linear.js';
import { dequantizeTensor } from './native.js';
import { quantizeReference } from './reference.js';
import { ggmlTensor, type GgmlTensor } from './tensor.js';

const GGML_LINEAR: QuantLinear<GgmlTensor> = {
  name: 'ggmlLinear',
  forward: (x, M, w, bias, y) => native.ggmlLinear(x, M, w, bias, y),
  backward: (gy, M, w, gx) => native.ggmlLinearBackward(gy, M, w, gx),
};

/** y = x·Wᵀ + bias over a ggml block-type weight W [out, in]; gradients reach x and the bias. */
export function ggmlLinear(x: Tensor, w: GgmlTensor, bias: Tensor | null = null): Tensor {
  return quantLinear(GGML_LINEAR, x, w, bias, 'float32');
}

/** Whether this build computes the block types with llama.cpp's integer kernels (x86), where sharing x pays. */
let integerPath: boolean | undefined;
export function hasIntegerPath(): boolean {
  integerPath ??= ['avx512', 'avx2'].includes(native.simdLevel());
  return integerPath;
}

/**
 * x·Wᵀ + b of each layer, for layers that read the same x (a decoder layer's q/k/v or gate/up), in one
 * native call: x is quantised to Q8_0 blocks once and one job spreads all their rows over the threads,
 * where separate calls pay that and a thread hand-off each (a decode step is ~200 such calls). Each
 * output is what the layer's forward gives, bit for bit. null (the caller runs the layers one by one)
 * unless every layer is a plain GgmlLinear over the same input width, x is float32 and no gradient is
 * recorded (decode and prompt processing; training takes the layers' own forwards, adapters included).
 */
export function ggmlLinearShared(x: Tensor, layers: readonly Module[]): Tensor[] | null {
  if (x.dtype !== 'float32' || !hasIntegerPath()) return null;
  const width = x.shape[x.ndim - 1];
  if (!layers.every((l) => l.constructor === GgmlLinear)) return null;
  const linears = layers as readonly GgmlLinear[];
  if (!linears.every((l) => l.ggml.shape[1] === width && (l.bias === null || l.bias.dtype === 'float32'))) return null;
  if (isGradEnabled() && (x.requiresGrad || linears.some((l) => l.bias?.requiresGrad))) return null;
  const rows = x.size / width!;
  const lead = x.shape.slice(0, -1);
  const xc = x.isContiguous() ? x : x.contiguous();
  const biases = linears.map((l) => (l.bias ? l.bias.contiguous() : null));
  const outs = linears.map((l) => Tensor.empty([...lead, l.ggml.shape[0]], 'float32'));
  native.ggmlLinearMany(
    f32Of(xc),
    rows,
    linears.map((l) => l.ggml),
    biases.map((b) => (b ? f32Of(b) : null)),
    outs.map(f32Of),
  );
  if (xc !== x) xc.dispose();
  biases.forEach((b, i) => b !== linears[i]!.bias && b?.dispose());
  return outs;
}

function f32Of(t: Tensor): Float32Array {
  return (t.buffer as Float32Array).subarray(t.offset, t.offset + t.size);
}

function bytesTensor(t: GgmlTensor): Tensor {
  return Tensor.fromArray(t.data, [t.data.length, 1], 'uint8');
}

/** y = x·Wᵀ + b with W held in a ggml block type (frozen). */
export class GgmlLinear extends Linear {
  declare weight: Parameter;
  ggml: GgmlTensor;

  constructor(weight: GgmlTensor, bias: Parameter | null = null) {
    super(weight.shape[1], weight.shape[0], { bias: false, frozenWeight: bytesTensor(weight) });
    this.bias = bias;
    this.ggml = weight;
  }

  override forward(x: Tensor): Tensor {
    return ggmlLinear(x, this.ggml, this.bias);
  }

  /** The weight as a [out, in] tensor of `dtype` (a new tensor the caller owns): what tuners merge into. */
  dequantizedWeight(dtype: DType = 'float32'): Tensor {
    const values = Tensor.fromArray(dequantizeTensor(this.ggml), [...this.ggml.shape], 'float32');
    if (dtype === 'float32') return values;
    const cast = noGrad(() => values.to(dtype));
    values.dispose();
    return cast;
  }

  get weightBytes(): number {
    return this.ggml.data.length;
  }

  /** Quantises `weight` ([out, in]) to the same block type in place of the current blocks (a merge). */
  requantize(weight: Tensor): RequantizationError {
    const values = noGrad(() => {
      const wide = weight.to('float32').contiguous();
      const out = wide.data<'float32'>();
      if (wide !== weight) wide.dispose();
      return out;
    });
    this.ggml = ggmlTensor(this.ggml.type, this.ggml.shape, quantizeReference(this.ggml.type, values));
    this.weight.dispose();
    this.weight = new Parameter(bytesTensor(this.ggml), false);
    return quantizationError(values, dequantizeTensor(this.ggml));
  }

  override extraRepr(): string {
    return `${super.extraRepr()}, ggml_type=${this.ggml.type}`;
  }
}

/** Rows of a ggml block-type table [numEmbeddings, embeddingDim] for integer ids, as float32 (frozen). */
export class GgmlEmbedding extends Module {
  weight: Parameter;
  readonly ggml: GgmlTensor;
  readonly numEmbeddings: number;
  readonly embeddingDim: number;

  constructor(table: GgmlTensor) {
    super();
    this.ggml = table;
    [this.numEmbeddings, this.embeddingDim] = table.shape;
    this.weight = new Parameter(bytesTensor(table), false);
  }

  forward(ids: Tensor): Tensor {
    if (!['int32', 'int64', 'uint8'].includes(ids.dtype)) {
      throw new DTypeError(`GgmlEmbedding: ids must be integers, got ${ids.dtype}`);
    }
    const flat = Int32Array.from(ids.contiguous().data() as ArrayLike<number | bigint>, Number);
    const out = new Float32Array(flat.length * this.embeddingDim);
    native.ggmlGetRows(this.ggml, flat, out);
    return Tensor.fromArray(out, [...ids.shape, this.embeddingDim], 'float32');
  }

  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}, ggml_type=${this.ggml.type}`;
  }
}
