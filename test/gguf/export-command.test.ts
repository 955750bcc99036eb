// `peft export`: what it writes, and the typed errors for what llama.cpp cannot take.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { main } from '../../src/cli/main.js';
import { EXIT } from '../../src/cli/exit-codes.js';
import { FIXTURES } from '../helpers/parity.js';

const dir = mkdtempSync(join(tmpdir(), 'peftjs-export-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const llama = join(FIXTURES, 'llama');
const adapter = (method: string) => join(llama, 'peft', method);

function sink(): Writable & { text: string } {
  const s = new Writable({
    write(chunk, _enc, done) {
      s.text += String(chunk);
      done();
    },
  }) as Writable & { text: string };
  s.text = '';
  return s;
}

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = sink();
  const err = sink();
  const code = await main(['--json', 'export', ...args], out, err);
  return { code, out: out.text, err: err.text };
}

test('peft export writes a LoRA adapter file and a merged model file', async () => {
  const lora = await run(['--model', llama, '--adapter', adapter('lora'), '--output', join(dir, 'lora.gguf')]);
  assert.equal(lora.code, EXIT.OK, lora.err);
  assert.deepEqual(JSON.parse(lora.out), {
    event: 'result',
    output: join(dir, 'lora.gguf'),
    kind: 'adapter',
    type: 'F32',
    tensors: 28,
  });
  const bytes = readFileSync(join(dir, 'lora.gguf'));
  assert.equal(bytes.subarray(0, 4).toString('latin1'), 'GGUF');
  assert.ok(bytes.includes('blk.1.attn_q.weight.lora_b') && bytes.includes('adapter.lora.alpha'));

  const merged = await run([
    '--model',
    llama,
    '--adapter',
    adapter('loha'),
    '--merge',
    '--output',
    join(dir, 'loha-merged.gguf'),
    '--type',
    'q8_0',
  ]);
  assert.equal(merged.code, EXIT.OK, merged.err);
  assert.equal(JSON.parse(merged.out).type, 'Q8_0');
});

test('peft export refuses what llama.cpp cannot take, naming the alternative, and leaves nothing behind', async () => {
  const cases: [string[], number, RegExp][] = [
    [['--adapter', adapter('lora_dora')], EXIT.INPUT, /DoRA.*--merge/],
    [['--adapter', adapter('ia3')], EXIT.INPUT, /IA3 adapters have no llama\.cpp adapter format.*--merge/],
    [
      ['--adapter', adapter('prompt_tuning'), '--merge'],
      EXIT.INPUT,
      /PROMPT_TUNING adapters cannot be merged.*peft serve/,
    ],
    [['--adapter', adapter('lora'), '--type', 'Q8_0'], EXIT.USAGE, /F32 or F16/],
    [['--type', 'Q3_K'], EXIT.USAGE, /--type must be one of/],
    [['--merge'], EXIT.USAGE, /--merge needs --adapter/],
  ];
  for (const [args, code, message] of cases) {
    const r = await run(['--model', llama, '--output', join(dir, 'refused.gguf'), ...args]);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, message);
  }
  writeFileSync(join(dir, 'taken.gguf'), 'x');
  const taken = await run(['--model', llama, '--output', join(dir, 'taken.gguf')]);
  assert.equal(taken.code, EXIT.INPUT);
  assert.match(taken.err, /--overwrite/);
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.startsWith('refused') || f.endsWith('.tmp')),
    [],
  );
});
