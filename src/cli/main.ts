#!/usr/bin/env node
// The `peft` command: quickstart, train, submit, worker, jobs, eval, generate, serve, merge, info, bench. Exit codes: exit-codes.ts.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { EXIT, exitCodeOf, UsageError } from './exit-codes.js';
import { Progress, type ProgressMode } from './progress.js';
import { parseOverride } from './recipe/load.js';
import { trainCommand } from './commands/train.js';
import { recipeHasJobs, trainMultiCommand } from './commands/train-multi.js';
import { ProgressBoard } from './progress-board.js';
import { evalCommand } from './commands/eval.js';
import { generateCommand } from './commands/generate.js';
import { mergeCommand } from './commands/merge.js';
import { exportCommand } from './commands/export.js';
import type { DType } from '../tensor/index.js';
import { infoCommand } from './commands/info.js';
import { serveCommand, type ServeCommandOptions } from './commands/serve.js';
import { BENCH_MODES, benchCommand, type BenchOptions } from './commands/bench.js';
import { DEFAULT_OUTPUT, QUICKSTART_METHODS, quickstartCommand } from './commands/quickstart.js';
import { summaryText } from './quickstart/summary.js';
import { methodKey } from '../quickstart/methods.js';
import { submitRecipes, type Submitted } from '../queue/submit.js';
import { cancelJob, listJobs } from '../queue/jobs.js';
import { workerCommand } from './commands/worker.js';

interface GlobalOptions {
  json?: boolean;
}

const EXIT_CODES_HELP = `
Exit codes:
  0    done
  1    internal error (a bug: please report it with the message)
  2    usage: bad flags, or a recipe with an unknown key or a wrong type
  3    input: bad data rows, a model folder without weights, an output folder that exists
  4    training stopped (NaN/Inf loss, a checkpoint that cannot be resumed); the last good checkpoint is kept
  5    writing failed (disk full, permissions); what was written before is intact
  130  interrupted`;

/** A value of `peft info` as text: lists joined, objects as key=value pairs. */
function infoValue(v: unknown): string {
  if (Array.isArray(v)) return v.join(', ');
  if (v !== null && typeof v === 'object') return Object.entries(v).map(([k, x]) => `${k}=${String(x)}`).join(', ');
  return String(v);
}

function example(text: string): string {
  return `\nExample:\n  ${text}\n`;
}

const integer = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new CommanderError(EXIT.USAGE, 'commander.invalidArgument', `'${value}' is not an integer`);
  return n;
};
const collect = (value: string, previous: string[]) => [...previous, value];

export function buildProgram(stdout: NodeJS.WritableStream = process.stdout, stderr: NodeJS.WritableStream = process.stderr): Command {
  const program = new Command('peft')
    .description('Parameter-efficient fine-tuning of Hugging Face models (peftjs)')
    .option('--json', 'machine-readable output: one JSON object per line on stdout')
    .addHelpText('after', `${EXIT_CODES_HELP}\n\nEach subcommand's --help shows an example.`)
    .showHelpAfterError()
    .exitOverride()
    // Before the subcommands are added: they inherit it.
    .configureOutput({ writeOut: (s) => stdout.write(s), writeErr: (s) => stderr.write(s) });
  const globals = () => program.opts<GlobalOptions>();
  const progressMode = (): ProgressMode => (globals().json ? 'json' : (stderr as NodeJS.WriteStream).isTTY ? 'bar' : 'lines');
  const progressOut = () => (progressMode() === 'json' ? stdout : stderr);
  const progress = () => new Progress(progressMode(), progressOut());
  const result = (value: Record<string, unknown>, human: string) =>
    stdout.write(globals().json ? `${JSON.stringify({ event: 'result', ...value })}\n` : `${human}\n`);

  program
    .command('quickstart')
    .description('fine-tune an adapter on real data with nothing downloaded: spam / ham on SpamAssassin mails, with a small BERT built once into the cache folder')
    .option('--method <name>', `the adapter method: ${QUICKSTART_METHODS.map(methodKey).join(', ')}`, 'lora')
    .option('--output <dir>', 'the run\'s folder: adapter, metrics.jsonl, report.html, recipe.yaml, data', DEFAULT_OUTPUT)
    .option('--cache-dir <dir>', 'where the encoder is kept (default: $PEFTJS_CACHE, else $XDG_CACHE_HOME/peftjs, else ~/.cache/peftjs)')
    .option('--overwrite', 'replace an existing output folder')
    .option('--quick', 'a tiny encoder and one step per stage: checks that everything runs, in seconds (learns nothing)')
    .addHelpText('after', example('peft quickstart --method dora --output runs/quickstart-dora'))
    .action(async (o: { method: string; output: string; cacheDir?: string; overwrite?: boolean; quick?: boolean }) => {
      const out = await quickstartCommand({ ...o, overwrite: o.overwrite ?? false, quick: o.quick ?? false, progress: progress() });
      result({ ...out }, summaryText(out));
    });

  program
    .command('train')
    .description('train an adapter from a YAML recipe (model folder, method, data, training arguments, output folder); a recipe with jobs: trains several adapters together on one base')
    .argument('<recipe>', 'recipe.yaml')
    .option('--model <dir>', 'model folder (overrides model:)')
    .option('--output <dir>', 'output folder (overrides output:)')
    .option('--data <path>', 'training data file or folder (overrides data.train:)')
    .option('--max-steps <n>', 'optimizer steps (overrides training.max_steps:)', integer)
    .option('--lr <rate>', 'learning rate (overrides training.lr:)', Number)
    .option('--set <key=value>', 'override any recipe field, e.g. --set training.batch_size=4 (repeatable)', collect, [])
    .option('--overwrite', 'replace an existing output folder')
    .option('--resume', 'continue the run in the output folder from its newest checkpoint')
    .addOption(new Option('--step-delay <ms>', 'wait after each step (tests)').argParser(integer).hideHelp())
    .addHelpText('after', example('peft train recipe.yaml --output runs/lora-1 --max-steps 200 --set training.lr=2e-4'))
    .action(async (recipe: string, o: { model?: string; output?: string; data?: string; maxSteps?: number; lr?: number; set: string[]; overwrite?: boolean; resume?: boolean; stepDelay?: number }) => {
      const cwd = (p: string) => resolve(p);
      const overrides: [string, unknown][] = [
        ...(o.model ? [['model', cwd(o.model)] as [string, unknown]] : []),
        ...(o.output ? [['output', cwd(o.output)] as [string, unknown]] : []),
        ...(o.data ? [['data.train', cwd(o.data)] as [string, unknown]] : []),
        ...(o.maxSteps !== undefined ? [['training.max_steps', o.maxSteps] as [string, unknown]] : []),
        ...(o.lr !== undefined ? [['training.lr', o.lr] as [string, unknown]] : []),
        ...o.set.map(parseOverride),
      ];
      const runOptions = { overrides, overwrite: o.overwrite ?? false, resume: o.resume ?? false, stepDelay: o.stepDelay };
      if (await recipeHasJobs(recipe)) {
        const summary = await trainMultiCommand(recipe, { ...runOptions, board: new ProgressBoard(progressMode(), progressOut()) });
        const jobs = Object.entries(summary.jobs as Record<string, Record<string, unknown>>);
        result(summary, jobs.map(([name, j]) => `${name}: ${String(j.status)}${j.adapter ? `, adapter ${String(j.adapter)}` : ''}${j.error ? `: ${String(j.error)}` : ''}`).join('\n'));
        return;
      }
      const summary = await trainCommand(recipe, { ...runOptions, progress: progress() });
      if (summary === null) return; // a data-parallel rank other than 0
      result(summary, `adapter: ${String(summary.adapter)}\nreport: ${String(summary.report)}\nmetrics: ${String(summary.metrics)}`);
    });

  program
    .command('submit')
    .description('queue a training recipe on a Redis queue (a recipe with jobs: queues each job); `peft worker` processes train it (the recipe\'s paths and output folder must be on storage every worker sees)')
    .argument('<recipe>', 'recipe.yaml')
    .requiredOption('--queue <url>', 'the queue\'s Redis, redis://host:port')
    .option('--output <dir>', 'output folder (overrides output:)')
    .option('--set <key=value>', 'override any recipe field (repeatable)', collect, [])
    .option('--overwrite', 'replace an existing output folder')
    .addHelpText('after', example('peft submit recipe.yaml --queue redis://10.0.0.5:6379 --output /shared/runs/lora-1'))
    .action(async (recipe: string, o: { queue: string; output?: string; set: string[]; overwrite?: boolean }) => {
      const overrides: [string, unknown][] = [...(o.output ? [['output', resolve(o.output)] as [string, unknown]] : []), ...o.set.map(parseOverride)];
      const jobs = await submitRecipes(o.queue, recipe, { overrides, overwrite: o.overwrite ?? false });
      const line = (job: Submitted) => `queued job ${job.id} (${job.name}), output ${job.output}`;
      // One job: its fields; a recipe with jobs: the list.
      result(jobs.length === 1 ? { ...jobs[0]! } : { jobs }, jobs.map(line).join('\n'));
    });

  program
    .command('worker')
    .description('take jobs from a Redis queue and train them (several on the same base together), until stopped; a worker that dies leaves its jobs to be resumed by another')
    .requiredOption('--queue <url>', 'the queue\'s Redis, redis://host:port')
    .option('--concurrency <n>', 'most jobs trained together on one base', integer, 4)
    .option('--lock-duration <ms>', 'how long a job stays taken without word from its worker: a dead worker\'s jobs go back to the queue after it', integer, 30000)
    .addOption(new Option('--step-delay <ms>', 'wait after each step (tests)').argParser(integer).hideHelp())
    .addHelpText('after', example('peft worker --queue redis://10.0.0.5:6379 --concurrency 4'))
    .action(async (o: { queue: string; concurrency: number; lockDuration: number; stepDelay?: number }) => {
      const log = (event: string, fields: Record<string, unknown>, human: string) => stdout.write(globals().json ? `${JSON.stringify({ event, ...fields })}\n` : `${human}\n`);
      await workerCommand(o.queue, { ...o, log }, () => log('worker_ready', { queue: o.queue }, `peft worker: taking jobs from ${o.queue}`));
    });

  program
    .command('jobs')
    .description('list the queue\'s jobs (state, progress, output), or cancel one: a waiting job is removed, a running one stops at its next step and keeps its checkpoints')
    .argument('[action]', 'cancel')
    .argument('[id]', 'the job to cancel')
    .requiredOption('--queue <url>', 'the queue\'s Redis, redis://host:port')
    .addHelpText('after', example('peft jobs --queue redis://10.0.0.5:6379\n  peft jobs cancel 12 --queue redis://10.0.0.5:6379'))
    .action(async (action: string | undefined, id: string | undefined, o: { queue: string }) => {
      if (action !== undefined) {
        if (action !== 'cancel' || id === undefined) throw new UsageError(`peft jobs takes no arguments (list) or 'cancel <id>', not '${[action, id].filter(Boolean).join(' ')}'`);
        const how = await cancelJob(o.queue, id);
        result({ id, cancelled: how }, how === 'removed' ? `job ${id}: removed from the queue` : `job ${id}: stops at its next step`);
        return;
      }
      const jobs = await listJobs(o.queue);
      const line = (j: (typeof jobs)[number]) =>
        `${j.id.padStart(4)}  ${j.state.padEnd(9)}  ${j.step === undefined ? '-' : `${j.step}/${j.maxSteps}`}  ${j.name}  ${j.output}${j.reason ? `  (${j.reason})` : ''}`;
      result({ jobs }, jobs.length === 0 ? 'no jobs' : jobs.map(line).join('\n'));
    });

  program
    .command('eval')
    .description('evaluate a model (and an adapter) on a data file: loss, perplexity, accuracy and F1 for classification')
    .requiredOption('--model <dir>', 'model folder')
    .option('--adapter <dir>', 'adapter folder (adapter_config.json + adapter_model.safetensors)')
    .requiredOption('--data <path>', 'data file or folder')
    .requiredOption('--format <format>', 'text | instruction | chat | classification | seq2seq')
    .option('--max-length <n>', 'tokens per example (the block length for text)', integer)
    .option('--batch-size <n>', 'examples per batch', integer, 8)
    .option('--label-names <names>', 'classification: label names in id order, comma-separated', (v: string) => v.split(','))
    .option('--cache-dir <dir>', 'where tokenised data is cached (default: .peftjs-cache beside the data)')
    .addHelpText('after', example('peft eval --model ./gpt2 --adapter runs/lora-1/adapter --data eval.jsonl --format text --max-length 128'))
    .action(async (o: { model: string; adapter?: string; data: string; format: string; maxLength?: number; batchSize: number; labelNames?: string[]; cacheDir?: string }) => {
      const metrics = await evalCommand({ ...o, warn: (m) => stderr.write(`warning: ${m}\n`) });
      result(metrics, Object.entries(metrics).map(([k, v]) => `${k}: ${v}`).join('\n'));
    });

  program
    .command('generate')
    .description('generate text from a prompt, streamed as it is made')
    .requiredOption('--model <dir>', 'model folder')
    .option('--adapter <dir>', 'adapter folder')
    .requiredOption('--prompt <text>', 'the prompt')
    .option('--max-new-tokens <n>', 'tokens to generate', integer, 32)
    .option('--temperature <t>', 'sample at this temperature (default: greedy)', Number)
    .option('--top-p <p>', 'nucleus sampling', Number)
    .option('--seed <n>', 'sampling seed', integer, 0)
    .addHelpText('after', example('peft generate --model ./gpt2 --adapter runs/lora-1/adapter --prompt "Once upon a time" --max-new-tokens 50'))
    .action(async (o: { model: string; adapter?: string; prompt: string; maxNewTokens: number; temperature?: number; topP?: number; seed: number }) => {
      const json = globals().json ?? false;
      const text = await generateCommand(o, (piece) => {
        if (json) stdout.write(`${JSON.stringify({ event: 'token', text: piece })}\n`);
        else stdout.write(piece);
      });
      if (json) result({ text }, '');
      else stdout.write('\n');
    });

  program
    .command('serve')
    .description('serve a base model and its adapters over an OpenAI-compatible HTTP API (completions, chat, streaming)')
    .requiredOption('--model <dir>', 'base model folder')
    .option('--adapter <name=path>', 'an adapter folder served as <name> (repeatable)', collect, [])
    .option('--adapter-dir <dir>', 'each sub-folder holding adapter_config.json is an adapter named after it, read on first use (repeatable)', collect, [])
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port (0: any free one)', integer, 8000)
    .option('--dtype <dtype>', 'base weights: float32, bfloat16 or float16', 'float32')
    .option('--api-key <key>', 'require "Authorization: Bearer <key>" on /v1 routes')
    .option('--served-model-name <name>', 'the base model\'s name in the API (default: the folder name)')
    .option('--max-adapter-mb <mb>', 'memory for resident adapters; least recently used ones are evicted beyond it', Number, 1024)
    .option('--kv-cache-mb <mb>', 'memory for the paged KV cache', Number, 256)
    .option('--block-size <n>', 'positions per KV cache block', integer, 16)
    .option('--max-num-seqs <n>', 'sequences decoded at once', integer, 64)
    .option('--max-queue <n>', 'requests waiting beyond the running ones (HTTP 429 beyond it)', integer, 1024)
    .option('--max-body-mb <mb>', 'largest request body', Number, 4)
    .addHelpText('after', example('peft serve --model ./gpt2 --adapter poems=runs/lora-1/adapter --adapter-dir ./adapters --port 8000'))
    .action(async (o: ServeCommandOptions) => {
      await serveCommand(o, (url) => result({ url }, `peft serve: listening on ${url}`));
    });

  program
    .command('merge')
    .description('merge an adapter into its base model and write a Hugging Face checkpoint folder (config.json + model.safetensors)')
    .requiredOption('--model <dir>', 'base model folder')
    .requiredOption('--adapter <dir>', 'adapter folder')
    .requiredOption('--output <dir>', 'folder for the merged checkpoint')
    .option('--overwrite', 'replace an existing output folder')
    .option('--dtype <dtype>', 'write the merged model in full precision (float32, bfloat16, float16); a 4-bit base is dequantised first instead of re-quantised')
    .addHelpText('after', example('peft merge --model ./gpt2 --adapter runs/lora-1/adapter --output ./gpt2-merged'))
    .action(async (o: { model: string; adapter: string; output: string; overwrite?: boolean; dtype?: DType }) => {
      const out = await mergeCommand({ ...o, overwrite: o.overwrite ?? false });
      result(out, `merged checkpoint: ${out.output} (${out.tensors} tensors)`);
    });

  program
    .command('export')
    .description('write GGUF files for llama.cpp: an adapter as a LoRA adapter file (llama.cpp --lora), or the model (with --adapter DIR --merge: the merged model) with its tokenizer')
    .requiredOption('--model <dir>', 'base model folder')
    .option('--adapter <dir>', 'adapter folder: written as a llama.cpp LoRA adapter file, or merged with --merge')
    .option('--merge', 'merge the adapter into the model and write the model')
    .requiredOption('--output <file>', 'the .gguf file to write')
    .option('--type <type>', 'matrices: F32 or F16 for an adapter file (default F32); F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K or Q6_K for a model (default F16)')
    .option('--overwrite', 'replace an existing output file')
    .addHelpText('after', example('peft export --model ./Qwen2.5-0.5B --adapter runs/lora-1/adapter --output lora.gguf\n  peft export --model ./Qwen2.5-0.5B --adapter runs/lora-1/adapter --merge --output merged-q8.gguf --type Q8_0'))
    .action(async (o: { model: string; adapter?: string; merge?: boolean; output: string; type?: string; overwrite?: boolean }) => {
      const out = await exportCommand({ ...o, merge: o.merge ?? false, overwrite: o.overwrite ?? false });
      result(out, `${out.kind === 'adapter' ? 'LoRA adapter' : 'model'} GGUF (${out.type}): ${out.output} (${out.tensors} tensors)`);
    });

  program
    .command('info')
    .description('parameter counts of a model folder, or an adapter folder: method, targeted modules, trainable parameters')
    .argument('<dir>', 'model folder or adapter folder')
    .option('--model <dir>', 'for an adapter: the base model folder (to count the targeted modules in it)')
    .addHelpText('after', example('peft info runs/lora-1/adapter --model ./gpt2'))
    .action(async (dir: string, o: { model?: string }) => {
      const info = await infoCommand(dir, o.model);
      result(info, Object.entries(info).map(([k, v]) => `${k}: ${infoValue(v)}`).join('\n'));
    });

  program
    .command('bench')
    .description('time a model with an adapter on random inputs of its task: training steps (forward + backward + AdamW), forward passes, or generation')
    .requiredOption('--model <dir>', 'model folder')
    .option('--method <json>', 'adapter_config.json fields as JSON', '{"peft_type":"LORA","r":8,"lora_alpha":16,"target_modules":"all-linear"}')
    .option('--mode <mode>', `what to time: ${BENCH_MODES.join(', ')}`, 'train')
    .option('--task <task>', 'the head to bench (default: the folder\'s own): causal-lm, seq2seq-lm, sequence-classification, token-classification, image-classification')
    .option('--batch-size <n>', 'rows per batch', integer, 4)
    .option('--seq-len <n>', 'tokens per row (the prompt when generating)', integer, 32)
    .option('--new-tokens <n>', 'generate: new tokens per generation', integer, 16)
    .option('--steps <n>', 'timed repetitions (after one warm-up)', integer, 10)
    .addHelpText('after', example('peft bench --model ./gpt2 --method \'{"peft_type":"LORA","r":16,"target_modules":["c_attn"]}\' --steps 20\n  peft bench --model ./t5-small --mode generate --new-tokens 32'))
    .action(async (o: BenchOptions) => {
      const out = await benchCommand(o);
      result(out, Object.entries(out).map(([k, v]) => `${k}: ${v}`).join('\n'));
    });
  return program;
}

/** Runs the command line; returns the exit code (errors are printed, not thrown). */
export async function main(argv: readonly string[], stdout: NodeJS.WritableStream = process.stdout, stderr: NodeJS.WritableStream = process.stderr): Promise<number> {
  const program = buildProgram(stdout, stderr);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help' ? EXIT.OK : EXIT.USAGE;
    }
    const code = exitCodeOf(error);
    const message = (error as Error).message ?? String(error);
    if (program.opts<GlobalOptions>().json) stdout.write(`${JSON.stringify({ event: 'error', code: (error as { code?: string }).code ?? null, exitCode: code, message })}\n`);
    stderr.write(`peft: error: ${message}\n${code === EXIT.INTERNAL ? `${(error as Error).stack ?? ''}\n` : ''}`);
    return code;
  }
}

// Run when this file is the program (node dist/cli/main.js, or the `peft` link npm makes to it), not when imported.
const invokedDirectly = process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  process.on('SIGINT', () => process.exit(EXIT.INTERRUPTED));
  process.exitCode = await main(process.argv.slice(2));
}
