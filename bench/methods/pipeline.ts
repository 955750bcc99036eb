// The whole comparison: corpus splits → tokenizer and masked-LM pretraining → every method
// fine-tuned on the same split and tested on the same held-out mails → JSON lines, a markdown
// table and an SVG chart. Each method runs in its own process by default, so that its peak memory
// is its own and a crash costs one row.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { native, type Example, type LogRecord, type TrainerState } from '../../src/index.js';
import { loadCorpus, type SplitSizes } from '../../src/quickstart/corpus.js';
import type { MethodSpec } from '../../src/quickstart/methods.js';
import { pretrainEncoder, type PretrainResult, type PretrainSettings } from '../../src/quickstart/pretrain.js';
import { QUICKSTART, QUICKSTART_TINY, type QuickstartSettings } from '../../src/quickstart/settings.js';
import { emit, round } from '../lib/report.js';
import { comparisonChart } from './chart.js';
import { finetuneMethod, type FinetuneData, type FinetuneSettings, type MethodResult } from './finetune.js';
import { markdownTable } from './table.js';

export interface BenchSettings {
  corpus: SplitSizes;
  /** Tokens per fine-tuning example; pretraining windows are longer by the prompt methods' virtual tokens. */
  seqLength: number;
  seed: number;
  pretrain: Omit<PretrainSettings, 'callbacks' | 'seed'>;
  finetune: Omit<FinetuneSettings, 'padTokenId' | 'seed'>;
}

/** The bench on the quickstart's settings: its encoder, split sizes and fine-tuning schedule. */
function fromQuickstart(q: QuickstartSettings): BenchSettings {
  return {
    corpus: { pretrain: q.encoder.mails, train: q.train, test: q.test },
    seqLength: q.seqLength,
    seed: q.encoder.seed,
    pretrain: q.encoder.pretrain,
    finetune: { batchSize: q.batchSize, epochs: q.epochs, maxSteps: q.maxSteps, virtualTokens: q.virtualTokens },
  };
}

/** The full run (about 12 minutes on 2 busy cores): see QUICKSTART for the sizes and why. */
export const FULL: BenchSettings = fromQuickstart(QUICKSTART);

/** The pipeline on a tiny slice, one optimizer step per stage: checks that everything runs, measures nothing. */
export const QUICK: BenchSettings = fromQuickstart(QUICKSTART_TINY);

export interface PipelineOptions {
  settings: BenchSettings;
  methods: readonly MethodSpec[];
  /** Where results.jsonl, table.md and chart.svg go. */
  outDir: string;
  /** Run each method in a child process (default true). */
  isolate?: boolean;
  /** Write the JSON lines to stdout too (default true; results.jsonl gets them either way). */
  emitLines?: boolean;
  log?: (line: string) => void;
}

export interface PipelineResult {
  pretrain: Omit<PretrainResult, 'tokenizer'>;
  rows: MethodResult[];
  seconds: number;
}

/** What a worker process reads from the work folder. */
export interface WorkerInput {
  checkpointDir: string;
  data: FinetuneData;
  settings: FinetuneSettings;
}

export const WORKER_INPUT = 'worker-input.json';

function runInWorker(workDir: string, method: MethodSpec): MethodResult {
  const worker = join(import.meta.dirname, 'worker.ts');
  const run = spawnSync(process.execPath, ['--import', 'tsx', worker, workDir, method.name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
  const last = run.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last) as MethodResult;
  } catch {
    return { method: method.name, family: method.family, status: 'failed', reason: `worker exited with ${run.status ?? run.signal} and no result` };
  }
}

export async function runPipeline({ settings, methods, outDir, isolate = true, emitLines = true, log = () => {} }: PipelineOptions): Promise<PipelineResult> {
  const start = performance.now();
  const record = emitLines ? emit : () => {};
  mkdirSync(outDir, { recursive: true });
  const workDir = mkdtempSync(join(tmpdir(), 'peftjs-methods-'));
  try {
    const checkpointDir = join(workDir, 'checkpoint');
    mkdirSync(checkpointDir);
    const corpus = await loadCorpus(settings.corpus, settings.seed);
    log(`corpus: ${corpus.pretrain.length} mails to pretrain on, ${corpus.train.length} to fine-tune on, ${corpus.test.length} to test on`);
    const { tokenizer, ...pretrain } = await pretrainEncoder(checkpointDir, corpus.pretrain.map((m) => m.text), corpus.test.map((m) => m.text), {
      ...settings.pretrain, seed: settings.seed,
      callbacks: [{ onLog: (r: LogRecord, state: TrainerState) => log(`pretrain step ${r.step}/${state.maxSteps}: loss ${r.loss?.toFixed(3)}, ${r.tokensPerSecond?.toFixed(0)} tokens/s`) }],
    });
    record('methods_pretrain', { ...settings.pretrain.shape, ...pretrain, seconds: round(pretrain.seconds), threads: native.numThreads() });
    const encode = (mails: typeof corpus.train): Example[] =>
      mails.map((m) => ({ inputIds: tokenizer.encode(m.text, { truncation: true, maxLength: settings.seqLength }), labels: m.label }));
    const input: WorkerInput = {
      checkpointDir,
      data: { train: encode(corpus.train), test: encode(corpus.test) },
      settings: { ...settings.finetune, seed: settings.seed, padTokenId: tokenizer.padTokenId! },
    };
    writeFileSync(join(workDir, WORKER_INPUT), JSON.stringify(input));
    const rows: MethodResult[] = [];
    writeFileSync(join(outDir, 'results.jsonl'), '');
    for (const method of methods) {
      log(`fine-tuning: ${method.name}`);
      const row = isolate ? runInWorker(workDir, method) : await finetuneMethod(method, checkpointDir, input.data, input.settings);
      log(`${method.name}: ${row.status === 'ok' ? `accuracy ${row.accuracy?.toFixed(3)}, F1 ${row.f1?.toFixed(3)}, ${row.secondsPerEpoch?.toFixed(1)} s/epoch` : `${row.status}: ${row.reason}`}`);
      rows.push(row);
      record('methods', { ...row });
      writeFileSync(join(outDir, 'results.jsonl'), JSON.stringify(row) + '\n', { flag: 'a' });
    }
    const seconds = (performance.now() - start) / 1000;
    const { layers, hidden } = settings.pretrain.shape;
    const subtitle =
      `BERT ${layers}×${hidden} pretrained (masked LM) on ${settings.corpus.pretrain} mails; fine-tuned on ${settings.corpus.train}, tested on ${settings.corpus.test}; ` +
      `${native.numThreads()} threads, ${cpus()[0]?.model.trim() ?? 'CPU'}; whole run ${(seconds / 60).toFixed(1)} min`;
    writeFileSync(join(outDir, 'table.md'), `${subtitle}\n\n${markdownTable(rows)}`);
    writeFileSync(join(outDir, 'chart.svg'), comparisonChart(rows, subtitle));
    return { pretrain, rows, seconds };
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

/** Reads the work folder a pipeline wrote (for worker processes). */
export function readWorkerInput(workDir: string): WorkerInput {
  return JSON.parse(readFileSync(join(workDir, WORKER_INPUT), 'utf8')) as WorkerInput;
}
