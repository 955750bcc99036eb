// Every PEFT method side by side on a real task: a small BERT pretrained with masked LM on
// SpamAssassin mails, then fine-tuned for spam / ham with each method and with full fine-tuning.
// Usage: node --import tsx bench/methods/run.ts [--quick] [--methods "LoRA,BitFit"] [--out dir] [--in-process]
// JSON lines on stdout (bench/lib/report.ts); progress on stderr; table.md, chart.svg and
// results.jsonl in --out (default bench/results/methods).
import { join } from 'node:path';
import { arg, hasFlag } from '../lib/report.js';
import { selectMethods } from '../../src/quickstart/methods.js';
import { FULL, QUICK, runPipeline } from './pipeline.js';

const names = (arg('methods') ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0);
const outDir = arg('out') ?? join(import.meta.dirname, '..', 'results', 'methods');
const { rows, seconds } = await runPipeline({
  settings: hasFlag('quick') ? QUICK : FULL,
  methods: selectMethods(names),
  outDir,
  isolate: !hasFlag('in-process'),
  log: (line) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`),
});
process.stderr.write(`done in ${(seconds / 60).toFixed(1)} min: ${rows.filter((r) => r.status === 'ok').length} of ${rows.length} methods ran; table and chart in ${outDir}\n`);
process.exitCode = rows.some((r) => r.status === 'failed') ? 1 : 0;
