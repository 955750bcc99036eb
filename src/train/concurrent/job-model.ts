// One adapter of a MultiAdapterModel seen as a model of its own, for what a TrainingJob does with
// its model: the job's parameters (optimizer, clipping, checkpoints), a forward of the job's
// batches alone (evaluation), and savePretrained of the job's adapter.
import { Module, type Parameter } from '../../nn/index.js';
import type { ModelOutput } from '../../models/index.js';
import { forwardAdapters, type MultiAdapterModel } from '../../peft/concurrent/index.js';
import type { Batch } from '../batches.js';

export class AdapterJobModel extends Module {
  constructor(
    private readonly shared: MultiAdapterModel,
    readonly adapter: string,
  ) {
    super();
  }

  /** The shared base is the only child: train()/eval() set its mode, and evaluation reads its task from it. */
  override *namedChildren(): Generator<[string, Module]> {
    yield ['model', this.shared.model];
  }

  /** Only the adapter's own parameters. */
  override namedParameters(): [string, Parameter][] {
    return this.shared.adapterParameters(this.adapter);
  }

  forward(batch: Batch): ModelOutput {
    return forwardAdapters(this.shared, [{ adapter: this.adapter, batch }])[0]!;
  }

  async savePretrained(dir: string): Promise<void> {
    await this.shared.saveAdapter(this.adapter, dir);
  }
}
