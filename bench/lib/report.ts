// Benchmark output: one JSON object per line on stdout, each stamped with the machine's state so
// that figures taken on a busy machine can be told apart.
import { cpus, loadavg } from 'node:os';

/** Rounds to `digits` significant digits, for readable JSON. */
export function round(value: number, digits = 4): number {
  return Number(value.toPrecision(digits));
}

/** The fields every record carries: the CPU and the 1-minute load average when it was taken. */
export function context(): { cpu: string; load1: number } {
  return { cpu: cpus()[0]?.model.trim() ?? 'unknown', load1: round(loadavg()[0]!, 3) };
}

/** Writes one measurement as a JSON line: `{ bench, ...fields, cpu, load1 }`. */
export function emit(bench: string, fields: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify({ bench, ...fields, ...context() }) + '\n');
}

/** Reads `--name value` (or `--name=value`) from the command line; undefined when absent. */
export function arg(name: string): string | undefined {
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === `--${name}`) return argv[i + 1];
    if (argv[i]!.startsWith(`--${name}=`)) return argv[i]!.slice(name.length + 3);
  }
  return undefined;
}

/** True when `--name` is on the command line. */
export function hasFlag(name: string): boolean {
  return process.argv.slice(2).includes(`--${name}`);
}
