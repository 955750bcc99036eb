// Selecting the modules an adapter wraps, with HF PEFT's rules (check_target_module_exists).
import { Linear, Conv1D, Module } from '../nn/index.js';
import type { Targeting } from './config/targeting.js';
import { TargetModulesError } from './errors.js';
import { TunerLayer } from './tuners/tuner-layer.js';
import { ModulesToSaveWrapper } from './modules-to-save.js';

/**
 * The modules adapters may target, with paths: every module except the insides of adapter
 * layers (their base_layer and adapter weights) and of modules_to_save wrappers.
 */
export function* adaptableModules(module: Module, prefix = ''): Generator<[string, Module]> {
  yield [prefix, module];
  if (module instanceof TunerLayer || module instanceof ModulesToSaveWrapper) return;
  for (const [name, child] of module.namedChildren()) yield* adaptableModules(child, prefix ? `${prefix}.${name}` : name);
}

/** True if `path` (a dotted module path) is named by `spec`: a regex for the whole path, or names matching its end. */
export function matchesModule(path: string, spec: string[] | string): boolean {
  if (typeof spec === 'string') return new RegExp(`^(?:${spec})$`).test(path);
  return spec.some((name) => path === name || path.endsWith(`.${name}`));
}

/** The layer index in `path` (the number after the layers container), or null. */
export function layerIndex(path: string, layersPattern: string | string[] | null): number | null {
  const patterns = layersPattern === null ? null : typeof layersPattern === 'string' ? [layersPattern] : layersPattern;
  const regexes = patterns === null ? [/.*\.[^.]*\.(\d+)\./] : patterns.map((p) => new RegExp(`.*\\.(?:${p})\\.(\\d+)\\.`));
  for (const re of regexes) {
    const m = re.exec(path);
    if (m) return Number(m[1]);
  }
  return null;
}

/** A Linear or Conv1D, or an adapter layer around one (another method's, when methods share a base). */
export function isLinearLayer(m: Module): boolean {
  return m instanceof Linear || m instanceof Conv1D || (m instanceof TunerLayer && isLinearLayer(m.base_layer));
}

/** HF's 'all-linear': every linear layer except the output heads. */
function allLinear(model: Module, outputHeads: readonly string[]): string[] {
  return [...adaptableModules(model)].filter(([p, m]) => p !== '' && isLinearLayer(m) && !outputHeads.some((h) => p === h || p.endsWith(`.${h}`))).map(([p]) => p);
}

/**
 * The module paths an adapter with `t` wraps in `model` (whose paths are relative to the HF
 * model). Throws a TargetModulesError when nothing matches, naming what exists.
 */
export function findTargets(model: Module, t: Targeting, outputHeads: readonly string[] = ['lm_head', 'classifier', 'score']): string[] {
  if (t.targetModules === null) {
    throw new TargetModulesError('target_modules is not set; name the modules to adapt (e.g. ["q_proj", "v_proj"]) or use "all-linear"');
  }
  const candidates = t.targetModules === 'all-linear' ? new Set(allLinear(model, outputHeads)) : null;
  const out: string[] = [];
  for (const [path] of adaptableModules(model)) {
    if (path === '') continue;
    const hit = candidates ? candidates.has(path) : matchesModule(path, t.targetModules);
    if (!hit) continue;
    if (t.excludeModules !== null && matchesModule(path, t.excludeModules)) continue;
    if (t.layersToTransform !== null) {
      const index = layerIndex(path, t.layersPattern);
      if (index === null || !t.layersToTransform.includes(index)) continue;
    }
    out.push(path);
  }
  if (out.length === 0) {
    const names = [...new Set([...adaptableModules(model)].filter(([p, m]) => p !== '' && isLinearLayer(m)).map(([p]) => p.split('.').pop()!))];
    throw new TargetModulesError(
      `target_modules ${JSON.stringify(t.targetModules)} matched no module` +
        (t.layersToTransform ? ` in layers ${JSON.stringify(t.layersToTransform)}` : '') +
        `; the linear layers here are named ${names.join(', ')}`,
    );
  }
  return out;
}

/** The first key of `patterns` (regexes) that matches the end of `path` (HF's get_pattern_key). */
export function patternValue<T>(patterns: Record<string, T>, path: string): T | undefined {
  for (const [pattern, value] of Object.entries(patterns)) {
    if (new RegExp(`(^|.*\\.)(?:${pattern})$`).test(path)) return value;
  }
  return undefined;
}
