// Timing for benchmarks: warm-up calls, then timed runs; the median is the figure to quote.

export interface Timing {
  /** Seconds per call: median, fastest and slowest of the timed runs. */
  median: number;
  min: number;
  max: number;
  runs: number;
}

export interface TimeOptions {
  /** Untimed calls first (page faults, caches, thread start-up). Default 2. */
  warmup?: number;
  /** Timed runs. Default 7. */
  runs?: number;
  /** Calls per timed run, for calls too short to time one by one. Default 1. */
  inner?: number;
}

/** Times fn: `warmup` untimed calls, then `runs` runs of `inner` calls each, in seconds per call. */
export function time(fn: () => void, options: TimeOptions = {}): Timing {
  const { warmup = 2, runs = 7, inner = 1 } = options;
  for (let i = 0; i < warmup; i++) fn();
  const samples: number[] = [];
  for (let r = 0; r < runs; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < inner; i++) fn();
    samples.push(Number(process.hrtime.bigint() - start) / 1e9 / inner);
  }
  samples.sort((a, b) => a - b);
  const mid = samples.length >> 1;
  const median = samples.length % 2 ? samples[mid]! : (samples[mid - 1]! + samples[mid]!) / 2;
  return { median, min: samples[0]!, max: samples[samples.length - 1]!, runs };
}

/** How many calls of about `seconds` each make one timed run last at least `target` seconds. */
export function innerCalls(seconds: number, target = 0.02): number {
  return Math.max(1, Math.ceil(target / Math.max(seconds, 1e-9)));
}
