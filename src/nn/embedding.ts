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

  /** Rows of the table for `ids`; a bf16/f16 table gives float32 rows (activations stay float32). */
  forward(ids: Tensor): Tensor {
    const rows = embedding(this.weight, ids, this.paddingIdx ?? undefined);
    return rows.dtype === 'bfloat16' || rows.dtype === 'float16' ? rows.to('float32') : rows;
  }

  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}`;
  }
}
