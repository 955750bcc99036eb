// The page's engine run in Node (the worker runs the same code on WebAssembly): load a model folder
// served on 127.0.0.1 by the example's server (with its isolation headers), train a LoRA (the loss
// goes down), generate, and save HF PEFT's two files as Blobs that load back to the same logits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Engine } from '../../src/browser/engine.js';
import { serve } from '../../examples/browser/serve.js';
import { AutoModelForCausalLM, BlobSource, PeftModel, noGrad, tensor } from '../../src/index.js';
import { FIXTURES } from '../helpers/parity.js';

const GPT2 = join(FIXTURES, 'gpt2');
const TEXT = 'The quick brown fox jumps over the lazy dog. '.repeat(40);

test('the engine loads by URL, trains, generates and saves an adapter that loads back', async () => {
  const { server, url } = await serve({ models: { gpt2: GPT2 } });
  try {
    const head = await fetch(`${url}/models/gpt2/config.json`);
    assert.equal(head.headers.get('cross-origin-embedder-policy'), 'require-corp');
    assert.equal((await fetch(`${url}/models/gpt2/../../../package.json`)).status !== 200, true);
    const engine = new Engine(() => ({ name: 'native', simd: 'any', threads: 1 }));
    assert.throws(() => engine.generate('x'), /no model is loaded/);
    const loaded = await engine.load({ url: `${url}/models/gpt2` });
    assert.equal(loaded.modelType, 'gpt2');
    const events: number[] = [];
    const trained = engine.train({ text: TEXT, steps: 8, batchSize: 2, sequenceLength: 32, lr: 0.01 }, (e) =>
      events.push(e.step),
    );
    assert.deepEqual(events, [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.ok(trained.losses.at(-1)! < trained.losses[0]! - 0.1, trained.losses.join(' -> '));
    assert.equal(typeof engine.generate('The quick', 5), 'string');
    const files = await engine.save();
    assert.deepEqual(Object.keys(files).sort(), ['adapter_config.json', 'adapter_model.safetensors']);
    const again = await PeftModel.fromPretrained(
      await AutoModelForCausalLM.fromPretrained(GPT2),
      new BlobSource(new Map(Object.entries(files))),
    );
    const { ids, data } = engine.logits('The quick brown');
    const reloaded = noGrad(
      () => again.forward({ inputIds: tensor(ids, [1, ids.length], 'int64') }).logits.data() as Float32Array,
    );
    assert.deepEqual(Array.from(reloaded), Array.from(data));
  } finally {
    server.close();
  }
});
