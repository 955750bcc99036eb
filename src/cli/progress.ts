// What a training run shows while it runs: a redrawn progress bar with ETA, tokens/s, loss and
// learning rate on a terminal; a plain line per log record otherwise; JSON lines with --json.
import type { LogRecord, TrainerCallback, TrainerState } from '../train/index.js';

export type ProgressMode = 'bar' | 'lines' | 'json';

export interface Output {
  write(text: string): unknown;
}

const BAR_WIDTH = 24;

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

const num = (v: number | undefined, digits = 4) => (v === undefined || !Number.isFinite(v) ? '-' : Number(v.toPrecision(digits)).toString());

/** The bar of a run at `state`: progress, ETA from the steps since `startStep` (taken since `started`), the last log's figures. */
export function barText(state: TrainerState, last: Partial<LogRecord>, started: number, startStep: number): string {
  const { globalStep: step, maxSteps } = state;
  const done = Math.round((BAR_WIDTH * step) / maxSteps);
  const elapsed = (performance.now() - started) / 1000;
  const eta = ((maxSteps - step) * elapsed) / Math.max(1, step - startStep);
  return `[${'#'.repeat(done)}${'.'.repeat(BAR_WIDTH - done)}] ${step}/${maxSteps} ETA ${duration(eta)} | loss ${num(last.loss)} | lr ${num(last.learningRate, 3)} | ${Math.round(last.tokensPerSecond ?? 0)} tok/s`;
}

/** A log record as one human line. */
export function logText(record: LogRecord, state: TrainerState): string {
  return `step ${record.step}/${state.maxSteps} loss ${num(record.loss)} lr ${num(record.learningRate, 3)} ${Math.round(record.tokensPerSecond ?? 0)} tok/s`;
}

export const formatNumber = num;

export class Progress implements TrainerCallback {
  private last: Partial<LogRecord> = {};
  private started = 0;
  private startStep = 0;

  constructor(
    private readonly mode: ProgressMode,
    private readonly out: Output,
  ) {}

  /** One machine-readable event (json mode) or a human line (others). */
  event(name: string, fields: Record<string, unknown>, human: string): void {
    if (this.mode === 'json') this.out.write(`${JSON.stringify({ event: name, ...fields })}\n`);
    else this.line(human);
  }

  private line(text: string): void {
    this.out.write(this.mode === 'bar' ? `\r\x1b[2K${text}\n` : `${text}\n`);
  }

  onTrainBegin(state: TrainerState): void {
    this.started = performance.now();
    this.startStep = state.globalStep;
    this.event('train_begin', { step: state.globalStep, maxSteps: state.maxSteps }, `training: ${state.maxSteps} steps${state.globalStep > 0 ? `, resuming at step ${state.globalStep}` : ''}`);
  }

  onStep(state: TrainerState): void {
    if (this.mode !== 'bar') return;
    this.out.write(`\r\x1b[2K${barText(state, this.last, this.started, this.startStep)}`);
  }

  onLog(record: LogRecord, state: TrainerState): void {
    this.last = record;
    if (this.mode === 'bar') return this.onStep(state);
    this.event('log', record, logText(record, state));
  }

  onEvaluate(metrics: Record<string, number>, state: TrainerState): void {
    this.event('eval', { step: state.globalStep, ...metrics }, `eval at step ${state.globalStep}: ${Object.entries(metrics).map(([k, v]) => `${k} ${num(v)}`).join(' ')}`);
  }

  onSave(dir: string, state: TrainerState): void {
    this.event('checkpoint', { step: state.globalStep, dir }, `checkpoint ${dir}`);
  }
}
