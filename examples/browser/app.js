// The example page: everything heavy runs in the engine worker (dist/peftjs-worker.js), so the page
// keeps drawing the loss chart and answering clicks while a step computes.
import { PeftWorker } from './dist/peftjs.js';

const $ = (id) => document.getElementById(id);
const engine = new PeftWorker(new URL('./dist/peftjs-worker.js', import.meta.url));
let text = null;
let loaded = false;
const losses = [];

$('isolation').textContent = self.crossOriginIsolated
  ? `Cross-origin isolated: the engine may use all ${navigator.hardwareConcurrency} cores.`
  : 'This page is not cross-origin isolated (no COOP/COEP headers), so the engine runs on one thread.';
$('isolation').className = self.crossOriginIsolated ? 'on' : 'off';

function fail(error) {
  $('error').textContent =
    error.kind === 'out-of-memory' ? `Out of memory: ${error.message}` : `${error.name}: ${error.message}`;
}

function ready() {
  $('train').disabled = !(loaded && text !== null);
  $('generate').disabled = !loaded;
}

async function load(location) {
  $('error').textContent = '';
  $('model-status').textContent = 'Loading...';
  loaded = false;
  ready();
  try {
    const info = await engine.load(location);
    loaded = true;
    $('model-status').textContent =
      `Loaded ${info.modelType}, ${(info.parameters / 1e6).toFixed(2)}M parameters, in ${(info.loadMs / 1000).toFixed(2)} s ` +
      `(${info.backend.name}, ${info.backend.simd}, ${info.backend.threads} thread(s))` +
      (info.backend.warning ? ` - ${info.backend.warning}` : '');
  } catch (error) {
    $('model-status').textContent = 'No model loaded.';
    fail(error);
  }
  ready();
}

$('folder').addEventListener('change', (e) => load({ files: [...e.target.files] }));
$('load-url').addEventListener('click', () => load({ url: new URL($('model-url').value, location.href).href }));

async function takeText(file) {
  text = await file.text();
  $('data-status').textContent = `${file.name}: ${text.length} characters.`;
  ready();
}
$('data').addEventListener('change', (e) => e.target.files[0] && takeText(e.target.files[0]));
const drop = $('drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  if (e.dataTransfer.files[0]) takeText(e.dataTransfer.files[0]);
});

function drawChart(steps) {
  const canvas = $('chart');
  const g = canvas.getContext('2d');
  g.clearRect(0, 0, canvas.width, canvas.height);
  if (losses.length === 0) return;
  const max = Math.max(...losses);
  const min = Math.min(...losses);
  const y = (l) => canvas.height - 10 - ((l - min) / (max - min || 1)) * (canvas.height - 20);
  g.strokeStyle = '#36c';
  g.beginPath();
  losses.forEach((l, i) => (i === 0 ? g.moveTo(0, y(l)) : g.lineTo((i / Math.max(1, steps - 1)) * canvas.width, y(l))));
  g.stroke();
  g.fillText(`loss ${max.toFixed(3)}`, 4, 12);
  g.fillText(`${min.toFixed(3)}`, 4, canvas.height - 2);
}

$('train').addEventListener('click', async () => {
  $('error').textContent = '';
  $('train').disabled = true;
  losses.length = 0;
  const settings = {
    text,
    steps: Number($('steps').value),
    batchSize: Number($('batch').value),
    sequenceLength: Number($('seq').value),
    lr: Number($('lr').value),
    r: Number($('rank').value),
  };
  try {
    const result = await engine.train(settings, (p) => {
      losses.push(p.loss);
      drawChart(p.steps);
      $('train-status').textContent =
        `step ${p.step}/${p.steps}: loss ${p.loss.toFixed(4)}, ${p.tokensPerSecond.toFixed(0)} tokens/s`;
    });
    $('train-status').textContent +=
      ` - done: ${result.trainable} trainable parameters, ${result.tokensPerSecond.toFixed(0)} tokens/s after the first step`;
    await offerDownloads();
  } catch (error) {
    fail(error);
  }
  ready();
});

async function offerDownloads() {
  const files = await engine.save();
  const links = $('downloads');
  links.textContent = 'Adapter (HF PEFT files; put both in one folder): ';
  for (const [name, blob] of Object.entries(files)) {
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = name;
    a.textContent = name;
    a.className = 'download';
    links.append(a, ' ');
  }
}

$('generate').addEventListener('click', async () => {
  $('error').textContent = '';
  try {
    $('generated').textContent = $('prompt').value + (await engine.generate($('prompt').value, 20));
  } catch (error) {
    fail(error);
  }
});

// For tests and benchmarks driving the page.
window.peftEngine = engine;
window.peftLosses = losses;
