// The progress of a concurrent run: one line per job. On a terminal the lines are redrawn in place
// (each a bar as a single run shows it); otherwise each log record is a plain line prefixed with the
// job's name, or a JSON line with a `job` field (--json).
import type { LogRecord, TrainerCallback, TrainerState } from '../train/index.js';
import { barText, formatNumber, logText, type Output, type ProgressMode } from './progress.js';

export class ProgressBoard {
  private readonly lines = new Map<string, string>();
  /** Lines of the board currently on the terminal (bar mode). */
  private drawn = 0;

  constructor(
    private readonly mode: ProgressMode,
    private readonly out: Output,
  ) {}

  /** An event of the run (or of job `job`): a JSON line, or a human line above the this. */
  event(name: string, fields: Record<string, unknown>, human: string, job?: string): void {
    if (this.mode === 'json') {
      this.out.write(`${JSON.stringify({ event: name, ...(job === undefined ? {} : { job }), ...fields })}\n`);
      return;
    }
    const text = job === undefined ? human : `${job}: ${human}`;
    if (this.mode === 'lines') {
      this.out.write(`${text}\n`);
      return;
    }
    this.erase();
    this.out.write(`${text}\n`);
    this.draw();
  }

  /** Sets job `job`'s line (bar mode redraws the board). */
  setLine(job: string, text: string): void {
    this.lines.set(job, `${job}: ${text}`);
    if (this.mode !== 'bar') return;
    this.erase();
    this.draw();
  }

  private erase(): void {
    if (this.drawn > 0) this.out.write(`\x1b[${this.drawn}A`);
    for (let i = 0; i < this.drawn; i++) this.out.write('\r\x1b[2K\n');
    if (this.drawn > 0) this.out.write(`\x1b[${this.drawn}A`);
    this.drawn = 0;
  }

  private draw(): void {
    for (const line of this.lines.values()) this.out.write(`\r\x1b[2K${line}\n`);
    this.drawn = this.lines.size;
  }

  /** The callback that keeps job `job`'s line. */
  job(job: string): TrainerCallback {
    let last: Partial<LogRecord> = {};
    let started = 0;
    let startStep = 0;
    return {
      onTrainBegin: (state: TrainerState) => {
        started = performance.now();
        startStep = state.globalStep;
        this.event('train_begin', { step: state.globalStep, maxSteps: state.maxSteps }, `${state.maxSteps} steps${state.globalStep > 0 ? `, resuming at step ${state.globalStep}` : ''}`, job);
        this.setLine(job, barText(state, last, started, startStep));
      },
      onStep: (state: TrainerState) => {
        this.setLine(job, barText(state, last, started, startStep));
      },
      onLog: (record: LogRecord, state: TrainerState) => {
        last = record;
        this.setLine(job, barText(state, last, started, startStep));
        if (this.mode !== 'bar') this.event('log', record, logText(record, state), job);
      },
      onEvaluate: (metrics: Record<string, number>, state: TrainerState) => {
        const text = Object.entries(metrics).map(([k, v]) => `${k} ${formatNumber(v)}`).join(' ');
        this.event('eval', { step: state.globalStep, ...metrics }, `eval at step ${state.globalStep}: ${text}`, job);
      },
      onSave: (dir: string, state: TrainerState) => {
        this.event('checkpoint', { step: state.globalStep, dir }, `checkpoint ${dir}`, job);
      },
    };
  }
}
