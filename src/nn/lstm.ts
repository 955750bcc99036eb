// LSTM (torch.nn.LSTM with batch_first): stacked layers, optionally bidirectional, with torch's
// parameter names (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, and *_reverse for the
// backward direction) and gate order (input, forget, cell, output). Built from existing ops, so
// autograd runs through it; P-tuning's prompt encoder is its user (a few virtual tokens).
import { Tensor, concat, linear, sigmoid, stack, tanh, zeros, dropout, ValueError, ShapeError, formatShape } from '../tensor/index.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';
import { uniform } from './init.js';

export interface LSTMOptions {
  numLayers?: number;
  bidirectional?: boolean;
  /** Dropout on the outputs of every layer but the last, in training mode (torch's `dropout`). */
  dropout?: number;
}

export class LSTM extends Module {
  readonly numLayers: number;
  readonly bidirectional: boolean;
  readonly dropoutP: number;

  constructor(
    readonly inputSize: number,
    readonly hiddenSize: number,
    { numLayers = 1, bidirectional = false, dropout: p = 0 }: LSTMOptions = {},
  ) {
    super();
    if (!Number.isInteger(numLayers) || numLayers < 1) throw new ValueError(`LSTM: numLayers must be a positive integer, not ${numLayers}`);
    if (!(p >= 0 && p <= 1)) throw new ValueError(`LSTM: dropout must be in [0, 1], not ${p}`);
    this.numLayers = numLayers;
    this.bidirectional = bidirectional;
    this.dropoutP = p;
    // torch: every weight and bias ~ U(-1/√hidden, 1/√hidden).
    const bound = 1 / Math.sqrt(hiddenSize);
    const fields = this as unknown as Record<string, Parameter>;
    for (let layer = 0; layer < numLayers; layer++) {
      const input = layer === 0 ? inputSize : hiddenSize * (bidirectional ? 2 : 1);
      for (const suffix of bidirectional ? ['', '_reverse'] : ['']) {
        fields[`weight_ih_l${layer}${suffix}`] = new Parameter(uniform([4 * hiddenSize, input], bound));
        fields[`weight_hh_l${layer}${suffix}`] = new Parameter(uniform([4 * hiddenSize, hiddenSize], bound));
        fields[`bias_ih_l${layer}${suffix}`] = new Parameter(uniform([4 * hiddenSize], bound));
        fields[`bias_hh_l${layer}${suffix}`] = new Parameter(uniform([4 * hiddenSize], bound));
      }
    }
  }

  /** x [batch, seq, inputSize] → outputs [batch, seq, hiddenSize · directions] (zero initial states). */
  forward(x: Tensor): Tensor {
    if (x.ndim !== 3 || x.shape[2] !== this.inputSize) {
      throw new ShapeError(`LSTM: input must be [batch, seq, ${this.inputSize}], not ${formatShape(x.shape)}`);
    }
    let h = x;
    for (let layer = 0; layer < this.numLayers; layer++) {
      if (layer > 0 && this.training && this.dropoutP > 0) h = dropout(h, this.dropoutP);
      const forward = this.direction(h, layer, '');
      h = this.bidirectional ? concat([forward, this.direction(h, layer, '_reverse')], 2) : forward;
    }
    return h;
  }

  /** One direction of one layer over the whole sequence ('_reverse' runs from the last step back). */
  private direction(x: Tensor, layer: number, suffix: '' | '_reverse'): Tensor {
    const p = this as unknown as Record<string, Parameter>;
    const [batch, seq] = x.shape as [number, number];
    const hidden = this.hiddenSize;
    // The input part of every step's gates at once: [batch, seq, 4·hidden].
    const inputGates = linear(x, p[`weight_ih_l${layer}${suffix}`]!, p[`bias_ih_l${layer}${suffix}`]!);
    let h = zeros([batch, hidden], x.dtype);
    let c = zeros([batch, hidden], x.dtype);
    const outputs = new Array<Tensor>(seq);
    for (let i = 0; i < seq; i++) {
      const t = suffix === '' ? i : seq - 1 - i;
      const gates = inputGates.select(1, t).add(linear(h, p[`weight_hh_l${layer}${suffix}`]!, p[`bias_hh_l${layer}${suffix}`]!));
      const inGate = sigmoid(gates.narrow(1, 0, hidden));
      const forgetGate = sigmoid(gates.narrow(1, hidden, hidden));
      const cellGate = tanh(gates.narrow(1, 2 * hidden, hidden));
      const outGate = sigmoid(gates.narrow(1, 3 * hidden, hidden));
      c = forgetGate.mul(c).add(inGate.mul(cellGate));
      h = outGate.mul(tanh(c));
      outputs[t] = h;
    }
    return stack(outputs, 1);
  }

  override extraRepr(): string {
    return `${this.inputSize}, ${this.hiddenSize}, num_layers=${this.numLayers}, batch_first=True, bidirectional=${this.bidirectional}`;
  }
}
