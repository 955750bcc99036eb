// Shared by the quantisation tests: fixture inputs, and the fixture model with each quantised
// layer's weight replaced by the dequantised values (what a quantised model must compute).
import { join } from 'node:path';
import { AutoModelForCausalLM, Conv1D, loadSafetensors, noGrad, type Linear, type Module, type Tensor } from '../../src/index.js';
import { Linear4bit } from '../../src/quant/linear.js';
import { FIXTURES } from '../helpers/parity.js';

export async function fixtureInputs(name: string): Promise<Map<string, Tensor>> {
  return (await loadSafetensors(join(FIXTURES, name, 'inputs.safetensors'))).tensors;
}

export function quantizedPaths(model: Module): string[] {
  return [...model.namedModules()].filter(([, m]) => m instanceof Linear4bit).map(([p]) => p);
}

export async function dequantizedReference(name: string, quantized: Module) {
  const ref = await AutoModelForCausalLM.fromPretrained(join(FIXTURES, name));
  noGrad(() => {
    for (const path of quantizedPaths(quantized)) {
      const w = (quantized.getSubmodule(path) as Linear4bit).dequantizedWeight();
      const target = ref.getSubmodule(path) as Linear | Conv1D;
      target.weight.copy_(target instanceof Conv1D ? w.T : w);
    }
  });
  return ref;
}
