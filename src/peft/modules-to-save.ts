// modules_to_save: a trainable copy of a whole module (a classification head) per adapter, beside
// the frozen original, saved in full. HF PEFT's ModulesToSaveWrapper, with its field names.
import { Tensor } from '../tensor/index.js';
import { Module, ModuleDict, cloneModule } from '../nn/index.js';
import { currentRouting } from './mixed-batch.js';

type Forwardable = Module & { forward(...args: never[]): unknown };

export class ModulesToSaveWrapper extends Module {
  modules_to_save = new ModuleDict<Forwardable>();
  /** The adapter whose copy runs (null: the original). */
  activeAdapter: string | null = null;
  adaptersDisabled = false;

  constructor(public original_module: Forwardable) {
    super();
  }

  addAdapter(name: string): void {
    const copy = cloneModule(this.original_module);
    copy.requiresGrad_(true);
    this.modules_to_save.set(name, copy);
    this.activeAdapter ??= name;
  }

  deleteAdapter(name: string): void {
    const copy = this.modules_to_save.get(name);
    if (copy === undefined) return;
    for (const p of copy.parameters()) p.dispose();
    this.modules_to_save.delete(name);
    if (this.activeAdapter === name) this.activeAdapter = this.modules_to_save.keys()[0] ?? null;
  }

  /** The module forward runs: the active adapter's copy, or the original. */
  get current(): Forwardable {
    if (this.adaptersDisabled || this.activeAdapter === null) return this.original_module;
    return this.modules_to_save.get(this.activeAdapter) ?? this.original_module;
  }

  forward(...args: never[]): unknown {
    const routing = currentRouting();
    const x = args[0] as unknown;
    if (routing === null || this.adaptersDisabled || !(x instanceof Tensor)) return this.current.forward(...args);
    // A mixed-adapter batch: each row group through its adapter's copy (the original for the rest).
    let out = this.original_module.forward(...args) as Tensor;
    for (const { adapter, rows } of routing.groups) {
      const copy = adapter === null ? undefined : this.modules_to_save.get(adapter);
      if (copy === undefined) continue;
      const rowsOut = copy.forward(x.indexSelect(0, rows) as never) as Tensor;
      out = out.indexAdd(0, rows, rowsOut.sub(out.indexSelect(0, rows)));
    }
    return out;
  }
}
