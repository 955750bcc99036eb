// The comparison as a markdown table: one row per method, skipped and failed ones with their reason.
import type { MethodResult } from './finetune.js';

const fixed = (v: number | undefined, digits: number) => (v === undefined || Number.isNaN(v) ? '–' : v.toFixed(digits));

/** Trainable share with enough digits to tell the small methods apart. */
function percent(v: number | undefined): string {
  if (v === undefined) return '–';
  return v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3);
}

export function markdownTable(rows: readonly MethodResult[]): string {
  const lines = [
    '| method | family | trainable params | trainable % | accuracy | F1 (spam) | s / epoch | peak RSS (MB) | peak tensors (MB) | lr |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    if (r.status !== 'ok') {
      lines.push(`| ${r.method} | ${r.family} | ${r.status}: ${(r.reason ?? '').replace(/\|/g, '\\|')} | | | | | | | |`);
      continue;
    }
    lines.push(
      `| ${r.method} | ${r.family} | ${r.trainableParams!.toLocaleString('en-US')} | ${percent(r.trainablePct)} | ${fixed(r.accuracy, 3)} | ${fixed(r.f1, 3)} | ` +
        `${fixed(r.secondsPerEpoch, 1)} | ${fixed(r.peakRssMB, 0)} | ${fixed(r.peakTensorMB, 0)} | ${r.lr} |`,
    );
  }
  return lines.join('\n') + '\n';
}
