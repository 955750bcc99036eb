// Module: the unit of a model. Children and parameters are found from the object's own fields
// (`this.q_proj = new Linear(...)`, `this.weight = new Parameter(...)`), so field names are the
// Hugging Face names and `named_parameters()` paths match HF checkpoints exactly.
import { Tensor, keep, noGrad, ShapeError, PeftError, formatShape } from '../tensor/index.js';
import { Parameter } from './parameter.js';

export class StateDictError extends PeftError {
  constructor(
    message: string,
    readonly missingKeys: string[] = [],
    readonly unexpectedKeys: string[] = [],
  ) {
    super('E_STATE_DICT', message);
  }
}

export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

export abstract class Module {
  /** Whether the module is in training mode (dropout active, ...). */
  training = true;
  /** Names of fields holding buffers: tensors that are state but not trained (persistent ones are saved). */
  private readonly bufferNames = new Map<string, boolean>();

  // Forward signatures differ per module; subclasses define their own `forward`.

  /** Registers `t` as a buffer under `name` (a field of this object). */
  protected registerBuffer(name: string, t: Tensor | null, persistent = true): void {
    if (t) keep(t);
    (this as unknown as Record<string, unknown>)[name] = t;
    this.bufferNames.set(name, persistent);
  }

  /** Direct children in field order. */
  *namedChildren(): Generator<[string, Module]> {
    for (const [name, value] of Object.entries(this)) {
      if (value instanceof Module) yield [name, value];
    }
  }

  *children(): Generator<Module> {
    for (const [, m] of this.namedChildren()) yield m;
  }

  /** This module and every descendant, depth first, with dotted paths ('' for this one). */
  *namedModules(prefix = ''): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [name, child] of this.namedChildren()) {
      yield* child.namedModules(prefix ? `${prefix}.${name}` : name);
    }
  }

  /** Own parameters (not recursing). */
  *ownParameters(): Generator<[string, Parameter]> {
    for (const [name, value] of Object.entries(this)) {
      if (value instanceof Parameter) yield [name, value];
    }
  }

  /**
   * All parameters with dotted paths. A parameter shared by several modules (tied embeddings)
   * is listed once, under its first path, as in PyTorch.
   */
  namedParameters(prefix = '', removeDuplicates = true): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    const seen = new Set<Parameter>();
    for (const [path, m] of this.namedModules(prefix)) {
      for (const [name, p] of m.ownParameters()) {
        if (removeDuplicates && seen.has(p)) continue;
        seen.add(p);
        out.push([path ? `${path}.${name}` : name, p]);
      }
    }
    return out;
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  namedBuffers(prefix = '', persistentOnly = false): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [path, m] of this.namedModules(prefix)) {
      for (const [name, persistent] of m.bufferNames) {
        const t = (m as unknown as Record<string, unknown>)[name];
        if (t instanceof Tensor && (persistent || !persistentOnly)) out.push([path ? `${path}.${name}` : name, t]);
      }
    }
    return out;
  }

  /** The module at a dotted path ('' is this module). */
  getSubmodule(path: string): Module {
    if (path === '') return this;
    return path.split('.').reduce<Module>((m, part) => m.child(part, path), this);
  }

  /** The direct child `name`, or an error naming the full `path` that was asked for. */
  private child(name: string, path: string): Module {
    const value = (this as unknown as Record<string, unknown>)[name];
    if (!(value instanceof Module)) {
      throw new PeftError('E_MODULE', `no submodule '${path}': '${name}' is not a child of ${this.constructor.name}`);
    }
    return value;
  }

  /** Replaces the module at a dotted path (how adapters wrap layers). */
  setSubmodule(path: string, module: Module): void {
    const cut = path.lastIndexOf('.');
    const parent = this.getSubmodule(cut < 0 ? '' : path.slice(0, cut));
    const name = path.slice(cut + 1);
    if (!((parent as unknown as Record<string, unknown>)[name] instanceof Module)) {
      throw new PeftError('E_MODULE', `no submodule '${path}' to replace`);
    }
    (parent as unknown as Record<string, unknown>)[name] = module;
  }

  /** Sets training mode recursively; returns this. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Sets requiresGrad on every parameter; returns this. */
  requiresGrad_(flag = true): this {
    for (const p of this.parameters()) p.requiresGrad = flag;
    return this;
  }

  /** Calls fn on every module (children first, like torch's apply). */
  apply(fn: (m: Module) => void): this {
    for (const child of this.children()) child.apply(fn);
    fn(this);
    return this;
  }

  /** Parameters and persistent buffers by path, tied ones under every path they have (as torch). */
  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [name, p] of this.namedParameters('', false)) out.set(name, p);
    for (const [name, b] of this.namedBuffers('', true)) out.set(name, b);
    return out;
  }

  /**
   * Copies values into the parameters and buffers with the same names. Shapes must match (every
   * mismatch is listed); with strict (default) missing and unexpected keys are errors, all listed.
   * Nothing is modified unless the whole state dict fits.
   */
  loadStateDict(state: Map<string, Tensor> | Record<string, Tensor>, { strict = true } = {}): LoadStateDictResult {
    const entries = state instanceof Map ? state : new Map(Object.entries(state));
    const own = this.stateDict();
    const missingKeys = [...own.keys()].filter((k) => !entries.has(k));
    const unexpectedKeys = [...entries.keys()].filter((k) => !own.has(k));
    const mismatches = [...entries]
      .filter(([k, v]) => own.has(k) && own.get(k)!.shape.join() !== v.shape.join())
      .map(([k, v]) => `${k}: checkpoint ${formatShape(v.shape)} vs model ${formatShape(own.get(k)!.shape)}`);
    if (mismatches.length > 0) {
      throw new ShapeError(`loadStateDict: ${mismatches.length} shape mismatch(es):\n  ${mismatches.join('\n  ')}`);
    }
    if (strict && (missingKeys.length > 0 || unexpectedKeys.length > 0)) {
      const parts = [];
      if (missingKeys.length > 0) parts.push(`missing keys (${missingKeys.length}): ${missingKeys.join(', ')}`);
      if (unexpectedKeys.length > 0) parts.push(`unexpected keys (${unexpectedKeys.length}): ${unexpectedKeys.join(', ')}`);
      throw new StateDictError(`loadStateDict: ${parts.join('; ')}`, missingKeys, unexpectedKeys);
    }
    noGrad(() => {
      for (const [k, v] of entries) if (own.has(k)) own.get(k)!.copy_(v);
    });
    return { missingKeys, unexpectedKeys };
  }

  /** Number of parameters (trainable only if asked). */
  numParameters(trainableOnly = false): number {
    return this.parameters()
      .filter((p) => !trainableOnly || p.requiresGrad)
      .reduce((n, p) => n + p.size, 0);
  }

  /** A short tree of the module, PyTorch style. */
  toString(): string {
    const lines = [`${this.constructor.name}(${this.extraRepr()}`];
    for (const [name, child] of this.namedChildren()) {
      lines.push(`  (${name}): ${child.toString().split('\n').join('\n  ')}`);
    }
    return lines.length === 1 ? `${lines[0]})` : `${lines.join('\n')}\n)`;
  }

  /** Extra text for toString (sizes, options). */
  extraRepr(): string {
    return '';
  }
}
