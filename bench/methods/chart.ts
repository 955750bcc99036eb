// The comparison as one self-contained SVG: a row per method and a panel per measure (accuracy
// and F1, trainable share on a log scale, seconds per epoch, peak RSS), each panel with its own
// scale and the value written at the end of each bar.
import type { MethodResult } from './finetune.js';

interface Panel {
  title: string;
  /** Bars of a row: value and colour. */
  bars: (r: MethodResult) => { value: number; color: string }[];
  /** Where a value lies on the panel's scale, 0 to 1. */
  scale: (value: number) => number;
  format: (value: number) => string;
}

const ROW = 26;
const LABEL_WIDTH = 150;
const PANEL_WIDTH = 210;
const GAP = 24;
const TOP = 60;

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function linear(max: number): (v: number) => number {
  return (v) => (max > 0 ? v / max : 0);
}

/** log10 scale over [min, max] (both > 0), so 0.01% and 100% both show. */
function logarithmic(min: number, max: number): (v: number) => number {
  const lo = Math.log10(min) - 0.3;
  const hi = Math.log10(max);
  return (v) => (hi > lo ? (Math.log10(Math.max(v, min)) - lo) / (hi - lo) : 1);
}

export function comparisonChart(rows: readonly MethodResult[], subtitle: string): string {
  const done = rows.filter((r) => r.status === 'ok');
  const max = (pick: (r: MethodResult) => number | undefined) => Math.max(0, ...done.map((r) => pick(r) ?? 0));
  const pcts = done.map((r) => r.trainablePct!).filter((v) => v > 0);
  const panels: Panel[] = [
    {
      title: 'accuracy (dark) · F1 spam (light)',
      bars: (r) => [{ value: r.accuracy ?? 0, color: '#2f6db5' }, { value: r.f1 ?? 0, color: '#8fb8e8' }],
      scale: linear(1),
      format: (v) => v.toFixed(3),
    },
    { title: 'trainable % (log scale)', bars: (r) => [{ value: r.trainablePct ?? 0, color: '#c2762f' }], scale: logarithmic(Math.min(...pcts, 1), Math.max(...pcts, 1)), format: (v) => (v >= 1 ? v.toFixed(1) : v.toPrecision(2)) },
    { title: 'seconds per epoch', bars: (r) => [{ value: r.secondsPerEpoch ?? 0, color: '#4f9a55' }], scale: linear(max((r) => r.secondsPerEpoch)), format: (v) => v.toFixed(1) },
    { title: 'peak RSS (MB)', bars: (r) => [{ value: r.peakRssMB ?? 0, color: '#8a5aa8' }], scale: linear(max((r) => r.peakRssMB)), format: (v) => v.toFixed(0) },
  ];
  const width = LABEL_WIDTH + panels.length * (PANEL_WIDTH + GAP);
  const height = TOP + rows.length * ROW + 16;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="8" y="16" font-size="14" font-weight="bold">PEFT methods side by side: SpamAssassin spam / ham</text>`,
    `<text x="8" y="34" fill="#555">${escape(subtitle)}</text>`,
  ];
  panels.forEach((panel, p) => {
    const x0 = LABEL_WIDTH + p * (PANEL_WIDTH + GAP);
    out.push(`<text x="${x0}" y="${TOP - 4}" font-weight="bold">${escape(panel.title)}</text>`);
    out.push(`<line x1="${x0}" y1="${TOP}" x2="${x0}" y2="${TOP + rows.length * ROW}" stroke="#999"/>`);
  });
  rows.forEach((r, i) => {
    const y = TOP + i * ROW;
    out.push(`<text x="${LABEL_WIDTH - 8}" y="${y + ROW / 2 + 4}" text-anchor="end">${escape(r.method)}</text>`);
    if (r.status !== 'ok') {
      out.push(`<text x="${LABEL_WIDTH + 6}" y="${y + ROW / 2 + 4}" fill="#a33">${r.status}</text>`);
      return;
    }
    panels.forEach((panel, p) => {
      const x0 = LABEL_WIDTH + p * (PANEL_WIDTH + GAP);
      const bars = panel.bars(r);
      const h = (ROW - 8) / bars.length;
      bars.forEach((bar, b) => {
        const w = Math.max(1, panel.scale(bar.value) * (PANEL_WIDTH - 44));
        const by = y + 4 + b * h;
        out.push(`<rect x="${x0}" y="${by.toFixed(1)}" width="${w.toFixed(1)}" height="${(h - 1).toFixed(1)}" fill="${bar.color}"/>`);
        out.push(`<text x="${(x0 + w + 3).toFixed(1)}" y="${(by + h - 2).toFixed(1)}" font-size="${bars.length > 1 ? 9 : 11}">${panel.format(bar.value)}</text>`);
      });
    });
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
