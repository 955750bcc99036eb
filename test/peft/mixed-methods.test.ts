// Mixed-adapter batches for every method: each row's output equals that row run alone with its
// adapter active (output updates share one base pass; input transforms, as OFT's and IA3's
// feed-forward scaling, run the base layer per group).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { AutoModelForCausalLM, PeftModel, noGrad } from '../../src/index.js';
import { FIXTURES, loadCase, maxAbsDiff, modelInputs } from '../helpers/parity.js';

for (const method of ['lora', 'lora_dora', 'loha', 'lokr', 'ia3', 'oft', 'vera', 'adalora']) {
  test(`${method}: a mixed batch equals each row through its own adapter`, async () => {
    const dir = join(FIXTURES, 'llama', 'peft', method);
    const { inputs } = await loadCase(join(FIXTURES, 'llama'));
    const peft = await PeftModel.fromPretrained(await AutoModelForCausalLM.fromPretrained(join(FIXTURES, 'llama')), dir, { adapterName: 'x' });
    await peft.loadAdapter(dir, 'y');
    // Make y differ from x.
    noGrad(() => {
      for (const [name, p] of peft.namedParameters()) if (name.includes('.y.') || name.endsWith('.y')) p.copy_(p.mul(1.5));
    });
    const run = (extra: object) => noGrad(() => peft.forward({ ...modelInputs(inputs), labels: undefined, ...extra }).logits);
    const mixed = run({ adapterNames: ['y', 'x'] });
    peft.setAdapter('y');
    const allY = run({});
    peft.setAdapter('x');
    const allX = run({});
    const mask = inputs.get('attention_mask')!;
    const row = (t: typeof mixed, i: number) => t.narrow(0, i, 1);
    assert.ok(maxAbsDiff(row(allX, 0), row(allY, 0), mask.narrow(0, 0, 1)) > 1e-3, 'the two adapters differ');
    assert.ok(maxAbsDiff(row(mixed, 0), row(allY, 0), mask.narrow(0, 0, 1)) < 1e-5, 'row 0 through y');
    assert.ok(maxAbsDiff(row(mixed, 1), row(allX, 1), mask.narrow(0, 1, 1)) < 1e-5, 'row 1 through x');
  });
}
