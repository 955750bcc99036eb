// Readable printing, PyTorch style: values with a shared precision, long dims elided.
import type { Tensor } from './tensor.js';

const EDGE = 3;
const MAX_FULL = 1000;

function formatNumber(v: number, floating: boolean): string {
  if (!floating) return String(v);
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e6 || a < 1e-4) ? v.toExponential(4) : v.toFixed(4);
}

export function formatTensor(t: Tensor): string {
  if (t.disposed) return `tensor(<disposed>, shape=[${t.shape.join(', ')}], dtype=${t.dtype})`;
  const floating = t.dtype.startsWith('float') || t.dtype === 'bfloat16';
  const values = t.toFlatArray();
  const elide = values.length > MAX_FULL;
  const cells = values.map((v) => (t.dtype === 'bool' ? String(v !== 0) : formatNumber(v, floating)));
  const width = Math.max(1, ...cells.map((c) => c.length));
  const strideOf = (dim: number) => t.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
  const render = (dim: number, start: number, indent: string): string => {
    if (t.ndim === 0) return cells[0]!;
    const n = t.shape[dim]!;
    const idx = elide && n > 2 * EDGE ? [...Array(EDGE).keys(), -1, ...Array.from({ length: EDGE }, (_, i) => n - EDGE + i)] : [...Array(n).keys()];
    if (dim === t.ndim - 1) {
      return '[' + idx.map((i) => (i < 0 ? '...' : cells[start + i]!.padStart(width))).join(', ') + ']';
    }
    const sep = ',' + '\n'.repeat(t.ndim - dim - 1) + indent + ' ';
    return '[' + idx.map((i) => (i < 0 ? '...' : render(dim + 1, start + i * strideOf(dim), indent + ' '))).join(sep) + ']';
  };
  const extras = [`dtype=${t.dtype}`];
  if (t.gradFn) extras.push(`gradFn=${t.gradFn.name}`);
  else if (t.requiresGrad) extras.push('requiresGrad=true');
  return `tensor(${render(0, 0, '       ')}, ${extras.join(', ')})`;
}
