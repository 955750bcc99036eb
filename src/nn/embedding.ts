// Embedding: a lookup table of row vectors, indexed by token ids.
import { Tensor, embedding, type DType } from '../tensor/index.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';
import { normal } from './init.js';

export class Embedding extends Module {
  weight: Parameter;

  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    { paddingIdx = null, dtype = 'float32' }: { paddingIdx?: number | null; dtype?: DType } = {},
  ) {
    super();
    this.paddingIdx = paddingIdx;
    this.weight = new Parameter(normal([numEmbeddings, embeddingDim], 1, dtype));
  }

  readonly paddingIdx: number | null;

  forward(ids: Tensor): Tensor {
    return embedding(this.weight, ids, this.paddingIdx ?? undefined);
  }

  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}`;
  }
}
