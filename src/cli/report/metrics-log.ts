// metrics.jsonl: one JSON object per log or evaluation record, in step order. On resume the file is
// rewritten from the checkpoint's history, so records of steps after the checkpoint do not repeat.
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../io/atomic.js';

export const METRICS_FILE = 'metrics.jsonl';

export class MetricsLog {
  readonly path: string;

  constructor(outputDir: string) {
    this.path = join(outputDir, METRICS_FILE);
  }

  /** Starts the file afresh with `history` (empty for a new run, the checkpoint's on resume). */
  async reset(history: readonly Record<string, unknown>[]): Promise<void> {
    await writeFileAtomic(this.path, history.map((r) => `${JSON.stringify(r)}\n`).join(''));
  }

  async append(record: Record<string, unknown>): Promise<void> {
    await appendFile(this.path, `${JSON.stringify(record)}\n`);
  }
}
