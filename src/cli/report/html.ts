// The run report: one self-contained HTML file (inline CSS and script, no network) with the loss,
// learning-rate and evaluation curves, the run's summary and its configuration.
import { writeFileAtomic } from '../../io/atomic.js';
import { CHART_SCRIPT } from './chart-script.js';

export const REPORT_FILE = 'report.html';

export interface ReportInput {
  title: string;
  /** Log and evaluation records: { step, loss, learningRate, evalLoss, ... }. */
  records: readonly Record<string, unknown>[];
  /** The run's configuration (the resolved recipe), shown as YAML-like JSON. */
  config: unknown;
  /** Headline figures (trainable parameters, steps, time, final losses). */
  summary: Readonly<Record<string, string | number>>;
}

const STYLE = `body{font:14px system-ui,sans-serif;margin:24px;color:#111;max-width:1200px}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}figure{display:inline-block;margin:8px 16px 8px 0;vertical-align:top}
figcaption{font-weight:600;margin-bottom:4px}table{border-collapse:collapse}td{padding:2px 12px 2px 0}
pre{background:#f6f6f6;padding:12px;overflow:auto}`;

/** JSON that cannot close the script element it sits in. */
const scriptSafe = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');
const escapeHtml = (text: string) => text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

export function renderReport({ title, records, config, summary }: ReportInput): string {
  const evalKeys = [...new Set(records.flatMap((r) => Object.keys(r)))].filter((k) => /^eval(Loss|Accuracy|F1)/.test(k));
  const figure = (caption: string, keys: readonly string[]) =>
    `<figure data-keys="${escapeHtml(keys.join(','))}"><figcaption>${escapeHtml(caption)}</figcaption><div class="chart"></div></figure>`;
  const rows = Object.entries(summary).map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td>${escapeHtml(String(v))}</td></tr>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>
<h1>${escapeHtml(title)}</h1>
<table>${rows}</table>
<h2>Curves</h2>
${figure('Training loss', ['loss'])}
${figure('Learning rate', ['learningRate'])}
${figure('Evaluation', evalKeys.length > 0 ? evalKeys : ['evalLoss'])}
<h2>Configuration</h2>
<pre>${escapeHtml(JSON.stringify(config, null, 2))}</pre>
<script type="application/json" id="run-data">${scriptSafe({ records })}</script>
<script>${CHART_SCRIPT}</script>
</body></html>
`;
}

export async function writeReport(path: string, input: ReportInput): Promise<void> {
  await writeFileAtomic(path, renderReport(input));
}
