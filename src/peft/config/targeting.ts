// Which modules an adapter wraps: target_modules (names, a regex, or 'all-linear'),
// exclude_modules, and layers_to_transform / layers_pattern.
import type { Fields } from './base.js';

export interface Targeting {
  /** Names matched against the end of each module path, a regex for the full path, or 'all-linear'. */
  targetModules: string[] | string | null;
  excludeModules: string[] | string | null;
  /** Only these layer indices (the number after the layers container in the path). */
  layersToTransform: number[] | null;
  /** The name(s) of the layers container (`layers`, `h`, ...), when it must be given. */
  layersPattern: string | string[] | null;
}

function namesOrRegex(f: Fields, name: string): string[] | string | null {
  const v = f.raw[name];
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  return f.strings(name, []);
}

export function readTargeting(f: Fields): Targeting {
  const layers = f.raw.layers_to_transform;
  const pattern = f.raw.layers_pattern;
  return {
    targetModules: namesOrRegex(f, 'target_modules'),
    excludeModules: namesOrRegex(f, 'exclude_modules'),
    layersToTransform: readLayers(f, layers),
    layersPattern: pattern === undefined || pattern === null ? null : typeof pattern === 'string' ? pattern : f.strings('layers_pattern', []),
  };
}

export function writeTargeting(t: Targeting): Record<string, unknown> {
  return {
    target_modules: t.targetModules,
    exclude_modules: t.excludeModules,
    layers_to_transform: t.layersToTransform,
    layers_pattern: t.layersPattern,
  };
}

function readLayers(f: Fields, v: unknown): number[] | null {
  if (v === undefined || v === null) return null;
  if (Number.isInteger(v)) return [v as number];
  if (Array.isArray(v) && v.every((n) => Number.isInteger(n) && n >= 0)) return [...(v as number[])];
  return f.fail('layers_to_transform', 'a layer index or a list of them', v);
}
