// Containers: ModuleList (children named 0, 1, ...) and Sequential.
import type { Tensor } from '../tensor/index.js';
import { Module } from './module.js';

export class ModuleList<M extends Module = Module> extends Module {
  constructor(modules: M[] = []) {
    super();
    modules.forEach((m, i) => this.append(m, i));
  }

  private append(m: M, i: number): void {
    (this as unknown as Record<string, M>)[String(i)] = m;
  }

  get length(): number {
    return [...this.namedChildren()].length;
  }

  at(i: number): M {
    return (this as unknown as Record<string, M>)[String(i < 0 ? i + this.length : i)]!;
  }

  push(m: M): void {
    this.append(m, this.length);
  }

  *[Symbol.iterator](): Iterator<M> {
    for (const child of this.children()) yield child as M;
  }
}

/** Modules applied one after another to a single tensor. */
export class Sequential extends ModuleList<Module & { forward(x: Tensor): Tensor }> {
  forward(x: Tensor): Tensor {
    let h = x;
    for (const m of this) h = m.forward(h);
    return h;
  }
}
