// Containers: ModuleList (children named 0, 1, ...) and Sequential.
import type { Tensor } from '../tensor/index.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';

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

/** Children by name (HF's nn.ModuleDict): `lora_A.default`, `lora_A.other`, ... */
export class ModuleDict<M extends Module = Module> extends Module {
  constructor(entries: Record<string, M> = {}) {
    super();
    for (const [key, m] of Object.entries(entries)) this.set(key, m);
  }

  set(key: string, m: M): void {
    (this as unknown as Record<string, M>)[key] = m;
  }

  get(key: string): M | undefined {
    const value = (this as unknown as Record<string, unknown>)[key];
    return value instanceof Module ? (value as M) : undefined;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  delete(key: string): void {
    delete (this as unknown as Record<string, unknown>)[key];
  }

  keys(): string[] {
    return Object.keys(this).filter((k) => this.get(k) !== undefined);
  }
}

/** Parameters by name (HF's nn.ParameterDict), e.g. AdaLoRA's `lora_E.default`. */
export class ParameterDict extends Module {
  set(key: string, p: Parameter): void {
    (this as unknown as Record<string, Parameter>)[key] = p;
  }

  get(key: string): Parameter | undefined {
    const value = (this as unknown as Record<string, unknown>)[key];
    return value instanceof Parameter ? value : undefined;
  }

  delete(key: string): void {
    delete (this as unknown as Record<string, unknown>)[key];
  }

  keys(): string[] {
    return [...this.ownParameters()].map(([k]) => k);
  }
}
