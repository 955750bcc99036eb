// Several LoRA adapters on one base model, against HF PEFT's multi_adapter fixtures: the active
// adapter's outputs and gradients, a mixed batch (one adapter per row), switching, disabling,
// and the 'cat' weighted combination (outputs and saved files).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { PeftModel, loadSafetensors, tidy, noGrad } from '../../src/index.js';
import { FIXTURES, loadCase, maxAbsDiff, modelInputs, relativeError } from '../helpers/parity.js';
import { baseModel, checkSavedFiles, peftCase } from '../helpers/peft-parity.js';

for (const model of ['llama', 'qwen2', 'mistral', 'llama3rope']) {
  test(`${model}/multi_adapter: active, mixed, switched, disabled and cat-combined adapters match HF PEFT`, async () => {
    const c = await peftCase(model, 'multi_adapter');
    const { inputs } = await loadCase(join(FIXTURES, model));
    const expected = (await loadSafetensors(join(c.dir, 'expected.safetensors'))).tensors;
    const mask = inputs.get('attention_mask')!;
    const peft = await PeftModel.fromPretrained(await baseModel(c), join(c.dir, 'a'), { adapterName: 'a', isTrainable: true });
    await peft.loadAdapter(join(c.dir, 'b'), 'b');
    // HF counted with a active and the cat combination already added.
    peft.addWeightedAdapter(['a', 'b'], [0.7, 0.3], 'cat', 'cat');
    assert.deepEqual(peft.trainableParameters(), c.params);

    peft.train();
    const out = peft.forward(modelInputs(inputs));
    assert.ok(maxAbsDiff(out.logits, expected.get('logits')!, mask) < 1e-4, 'logits with a active');
    assert.ok(Math.abs(out.loss!.item() - expected.get('loss')!.item()) < 1e-4);
    tidy(() => {
      out.loss!.backward();
      return null;
    });
    const params = new Map(peft.namedParameters());
    for (const key of [...expected.keys()].filter((k) => k.startsWith('grad/'))) {
      const err = relativeError(params.get(key.slice(5))!.grad!, expected.get(key)!);
      assert.ok(err < 1e-4, `${key}: relative error ${err}`);
    }
    const frozen = [...params].filter(([n]) => n.includes('.b.') || n.includes('.cat.'));
    assert.ok(frozen.length > 0 && frozen.every(([, p]) => p.grad === null && !p.requiresGrad), 'only the active adapter trains');

    peft.eval();
    const compare = (name: string, logits: () => ReturnType<typeof peft.forward>) => {
      const diff = maxAbsDiff(noGrad(logits).logits, expected.get(name)!, mask);
      assert.ok(diff < 1e-4, `${model}: ${name} differs by ${diff}`);
    };
    compare('mixed_logits', () => peft.forward({ ...modelInputs(inputs), labels: undefined, adapterNames: ['a', 'b'] }));
    compare('disabled_logits', () => peft.disableAdapter(() => peft.forward(modelInputs(inputs))));
    peft.setAdapter('b');
    compare('b_logits', () => peft.forward(modelInputs(inputs)));
    compare('mixed_logits', () => peft.forward({ ...modelInputs(inputs), adapterNames: ['a', 'b'] }));

    peft.setAdapter('cat');
    compare('cat_0.7_0.3_logits', () => peft.forward(modelInputs(inputs)));
    await checkSavedFiles(c, peft, 'cat', join(c.dir, 'cat'));
    await checkSavedFiles(c, peft, 'b', join(c.dir, 'b'));
  });
}
