// The nn kernels against plain float64 JavaScript references, in float32 and float64: softmax,
// log-softmax, LayerNorm, RMSNorm, cross-entropy, flash attention (every option), RoPE, AdamW.
// Backward passes are also held to central differences of the float64 forward. Then argument
// checks, determinism, and (in a child process with PEFTJS_SIMD=portable) the portable kernels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { native } from '../../src/tensor/native/index.js';
import type { FloatArray } from '../../src/tensor/native/nn.js';

const portableChild = process.env.PEFTJS_NN_TEST_PORTABLE === '1';

type Ctor = Float32ArrayConstructor | Float64ArrayConstructor;
/** Each float type with the normwise tolerance its results are held to. */
const dtypes: { name: string; C: Ctor; tol: number }[] = [
  { name: 'f32', C: Float32Array, tol: 1e-5 },
  { name: 'f64', C: Float64Array, tol: 1e-12 },
];

/** Deterministic uniform numbers in [-1, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  };
}

function random(C: Ctor, n: number, next: () => number, scale = 1): FloatArray {
  const a = new C(n);
  for (let i = 0; i < n; i++) a[i] = next() * scale;
  return a;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) if (Number.isFinite(a[i])) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/**
 * max |actual - expected| <= tol * max(max |expected|, scale), scale being the size of the terms that
 * cancel into expected where that matters; infinities must match exactly.
 */
function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string, scale = 0): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const bound = tol * Math.max(maxAbs(expected), scale, 1e-300);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (!Number.isFinite(e)) {
      assert.equal(a, e, `${what}[${i}]`);
      continue;
    }
    assert.ok(Math.abs(a - e) <= bound, `${what}[${i}]: ${a} vs ${e} (bound ${bound})`);
  }
}

/** d(sum(f() * w))/dx by central differences, for every element of x (restored afterwards). */
function numericGrad(x: Float64Array, objective: () => number, h = 1e-6): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const x0 = x[i];
    x[i] = x0 + h;
    const up = objective();
    x[i] = x0 - h;
    const down = objective();
    x[i] = x0;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

// ---------------------------------------------------------------------------------------------
// softmax, log-softmax

function softmaxRef(x: ArrayLike<number>, rows: number, cols: number, log: boolean): Float64Array {
  const y = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let m = -Infinity;
    for (let j = 0; j < cols; j++) m = Math.max(m, x[r * cols + j]);
    let s = 0;
    for (let j = 0; j < cols; j++) s += Math.exp(x[r * cols + j] - m);
    for (let j = 0; j < cols; j++) {
      const v = x[r * cols + j] - m;
      y[r * cols + j] = log ? v - Math.log(s) : Math.exp(v) / s;
    }
  }
  return y;
}

function softmaxGradRef(y: ArrayLike<number>, gy: ArrayLike<number>, rows: number, cols: number, log: boolean) {
  const gx = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < cols; j++) s += log ? gy[r * cols + j] : gy[r * cols + j] * y[r * cols + j];
    for (let j = 0; j < cols; j++) {
      const k = r * cols + j;
      gx[k] = log ? gy[k] - Math.exp(y[k]) * s : y[k] * (gy[k] - s);
    }
  }
  return gx;
}

const rowShapes: [number, number][] = [
  [1, 1],
  [7, 33],
  [3, 1023],
  [33, 7],
];

for (const log of [false, true]) {
  const name = log ? 'logSoftmax' : 'softmax';
  const fwd = log ? native.logSoftmaxForward : native.softmaxForward;
  const bwd = log ? native.logSoftmaxBackward : native.softmaxBackward;
  for (const { name: dt, C, tol } of dtypes) {
    test(`${name} ${dt}: forward and backward match the reference`, () => {
      const next = rng(3);
      for (const [rows, cols] of rowShapes) {
        const x = random(C, rows * cols, next, 4);
        x[0] += 500; // large logits stay finite
        const y = new C(rows * cols);
        fwd(x, y, rows, cols);
        close(y, softmaxRef(x, rows, cols, log), tol, `${name} y ${rows}x${cols}`);
        const gy = random(C, rows * cols, next);
        const gx = new C(rows * cols);
        bwd(y, gy, gx, rows, cols);
        close(gx, softmaxGradRef(y, gy, rows, cols, log), tol, `${name} gx ${rows}x${cols}`);
      }
    });
  }
  test(`${name} f64: backward matches finite differences`, () => {
    const next = rng(5);
    const [rows, cols] = [3, 7];
    const x = random(Float64Array, rows * cols, next, 2) as Float64Array;
    const w = random(Float64Array, rows * cols, next);
    const y = new Float64Array(rows * cols);
    const objective = () => (fwd(x, y, rows, cols), dot(y, w));
    const numeric = numericGrad(x, objective);
    objective();
    const gx = new Float64Array(rows * cols);
    bwd(y, w, gx, rows, cols);
    close(gx, numeric, 1e-7, `${name} gx vs finite differences`);
  });
}

// ---------------------------------------------------------------------------------------------
// LayerNorm, RMSNorm

interface NormRef {
  y: Float64Array;
  mean: Float64Array;
  rstd: Float64Array;
  gx: Float64Array;
  gw: Float64Array;
  gb: Float64Array;
}

/** LayerNorm (rms = false) or RMSNorm (rms = true) forward and backward in float64. */
function normRef(
  rms: boolean,
  x: ArrayLike<number>,
  w: ArrayLike<number> | null,
  b: ArrayLike<number> | null,
  gy: ArrayLike<number>,
  rows: number,
  cols: number,
  eps: number,
): NormRef {
  const r: NormRef = {
    y: new Float64Array(rows * cols),
    mean: new Float64Array(rows),
    rstd: new Float64Array(rows),
    gx: new Float64Array(rows * cols),
    gw: new Float64Array(cols),
    gb: new Float64Array(cols),
  };
  for (let i = 0; i < rows; i++) {
    const row = Array.from({ length: cols }, (_, j) => x[i * cols + j]);
    const mu = rms ? 0 : row.reduce((s, v) => s + v, 0) / cols;
    const ms = row.reduce((s, v) => s + (v - mu) * (v - mu), 0) / cols;
    const rs = 1 / Math.sqrt(ms + eps);
    r.mean[i] = mu;
    r.rstd[i] = rs;
    const xhat = row.map((v) => (v - mu) * rs);
    const g = xhat.map((_, j) => gy[i * cols + j] * (w ? w[j] : 1));
    const a = rms ? 0 : g.reduce((s, v) => s + v, 0) / cols;
    const c = g.reduce((s, v, j) => s + v * xhat[j], 0) / cols;
    for (let j = 0; j < cols; j++) {
      r.y[i * cols + j] = xhat[j] * (w ? w[j] : 1) + (b ? b[j] : 0);
      r.gx[i * cols + j] = rs * (g[j] - a - xhat[j] * c);
      r.gw[j] += gy[i * cols + j] * xhat[j];
      r.gb[j] += gy[i * cols + j];
    }
  }
  return r;
}

function plus(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: a.length }, (_, i) => a[i] + b[i]);
}

for (const { name: dt, C, tol } of dtypes) {
  test(`layerNorm ${dt}: every weight/bias combination, gw and gb accumulate`, () => {
    const next = rng(11);
    const eps = 1e-5;
    for (const [rows, cols] of rowShapes) {
      for (const [hasW, hasB] of [
        [true, true],
        [true, false],
        [false, true],
        [false, false],
      ]) {
        const x = random(C, rows * cols, next, 3);
        const w = hasW ? random(C, cols, next) : null;
        const b = hasB ? random(C, cols, next) : null;
        const gy = random(C, rows * cols, next);
        const ref = normRef(false, x, w, b, gy, rows, cols, eps);
        const [y, mean, rstd] = [new C(rows * cols), new C(rows), new C(rows)];
        native.layerNormForward(x, w, b, y, mean, rstd, rows, cols, eps);
        const what = `layerNorm ${rows}x${cols} w=${hasW} b=${hasB}`;
        close(y, ref.y, tol, `${what} y`);
        close(mean, ref.mean, tol, `${what} mean`);
        close(rstd, ref.rstd, tol, `${what} rstd`);
        const gx = new C(rows * cols);
        const gw0 = random(C, cols, next);
        const gb0 = random(C, cols, next);
        const [gw, gb] = [gw0.slice(), gb0.slice()];
        native.layerNormBackward(gy, x, w, mean, rstd, gx, hasW ? gw : null, gb, rows, cols);
        close(gx, ref.gx, tol, `${what} gx`, maxAbs(gy) * maxAbs(ref.rstd) * (w ? maxAbs(w) : 1));
        if (hasW) close(gw, plus(gw0, ref.gw), tol, `${what} gw`);
        close(gb, plus(gb0, ref.gb), tol, `${what} gb`);
        const gxOnly = new C(rows * cols);
        native.layerNormBackward(gy, x, w, mean, rstd, gxOnly, null, null, rows, cols);
        assert.deepEqual(gxOnly, gx);
      }
    }
  });

  test(`rmsNorm ${dt}: with and without weight, gw accumulates`, () => {
    const next = rng(12);
    const eps = 1e-6;
    for (const [rows, cols] of rowShapes) {
      for (const hasW of [true, false]) {
        const x = random(C, rows * cols, next, 3);
        const w = hasW ? random(C, cols, next) : null;
        const gy = random(C, rows * cols, next);
        const ref = normRef(true, x, w, null, gy, rows, cols, eps);
        const [y, rstd] = [new C(rows * cols), new C(rows)];
        native.rmsNormForward(x, w, y, rstd, rows, cols, eps);
        const what = `rmsNorm ${rows}x${cols} w=${hasW}`;
        close(y, ref.y, tol, `${what} y`);
        close(rstd, ref.rstd, tol, `${what} rstd`);
        const gx = new C(rows * cols);
        const gw0 = random(C, cols, next);
        const gw = gw0.slice();
        native.rmsNormBackward(gy, x, w, rstd, gx, hasW ? gw : null, rows, cols);
        close(gx, ref.gx, tol, `${what} gx`, maxAbs(gy) * maxAbs(ref.rstd) * (w ? maxAbs(w) : 1));
        if (hasW) close(gw, plus(gw0, ref.gw), tol, `${what} gw`);
      }
    }
  });
}

test('layerNorm and rmsNorm f64: backward matches finite differences', () => {
  const next = rng(13);
  const [rows, cols, eps] = [3, 9, 1e-5];
  const x = random(Float64Array, rows * cols, next, 2) as Float64Array;
  const w = random(Float64Array, cols, next) as Float64Array;
  const b = random(Float64Array, cols, next) as Float64Array;
  const gy = random(Float64Array, rows * cols, next);
  const [y, mean, rstd] = [new Float64Array(rows * cols), new Float64Array(rows), new Float64Array(rows)];
  for (const rms of [false, true]) {
    const objective = () => {
      if (rms) native.rmsNormForward(x, w, y, rstd, rows, cols, eps);
      else native.layerNormForward(x, w, b, y, mean, rstd, rows, cols, eps);
      return dot(y, gy);
    };
    const [nx, nw, nb] = [numericGrad(x, objective), numericGrad(w, objective), numericGrad(b, objective)];
    objective();
    const [gx, gw, gb] = [new Float64Array(rows * cols), new Float64Array(cols), new Float64Array(cols)];
    if (rms) native.rmsNormBackward(gy, x, w, rstd, gx, gw, rows, cols);
    else native.layerNormBackward(gy, x, w, mean, rstd, gx, gw, gb, rows, cols);
    close(gx, nx, 1e-7, `rms=${rms} gx`);
    close(gw, nw, 1e-7, `rms=${rms} gw`);
    if (!rms) close(gb, nb, 1e-7, 'gb');
  }
});

// ---------------------------------------------------------------------------------------------
// cross-entropy

function crossEntropyRef(
  x: ArrayLike<number>,
  t: ArrayLike<number>,
  gLoss: ArrayLike<number>,
  rows: number,
  classes: number,
  ignore: number,
  eps: number,
) {
  const loss = new Float64Array(rows);
  const lse = new Float64Array(rows);
  const gx = new Float64Array(rows * classes);
  for (let r = 0; r < rows; r++) {
    const row = Array.from({ length: classes }, (_, c) => x[r * classes + c]);
    const m = Math.max(...row);
    lse[r] = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    if (t[r] === ignore) continue;
    const meanX = row.reduce((s, v) => s + v, 0) / classes;
    loss[r] = (1 - eps) * (lse[r] - row[t[r]]) + eps * (lse[r] - meanX);
    for (let c = 0; c < classes; c++) {
      gx[r * classes + c] = gLoss[r] * (Math.exp(row[c] - lse[r]) - eps / classes - (c === t[r] ? 1 - eps : 0));
    }
  }
  return { loss, lse, gx };
}

for (const { name: dt, C, tol } of dtypes) {
  test(`crossEntropy ${dt}: ignoreIndex, label smoothing, int32 and int64 targets`, () => {
    const next = rng(21);
    for (const [rows, classes] of [
      [1, 1],
      [7, 33],
      [5, 1023],
    ]) {
      for (const eps of [0, 0.1]) {
        const x = random(C, rows * classes, next, 5);
        const t32 = Int32Array.from({ length: rows }, (_, r) =>
          r % 3 === 1 ? -100 : Math.floor(((next() + 1) / 2) * classes),
        );
        const gLoss = random(C, rows, next);
        const ref = crossEntropyRef(x, t32, gLoss, rows, classes, -100, eps);
        for (const targets of [t32, BigInt64Array.from(t32, (v) => BigInt(v))]) {
          const [loss, lse, gx] = [new C(rows), new C(rows), new C(rows * classes)];
          native.crossEntropyForward(x, targets, loss, lse, rows, classes, -100, eps);
          const what = `crossEntropy ${rows}x${classes} eps=${eps} ${targets.constructor.name}`;
          close(loss, ref.loss, tol, `${what} loss`);
          close(lse, ref.lse, tol, `${what} lse`);
          native.crossEntropyBackward(x, targets, lse, gLoss, gx, rows, classes, -100, eps);
          close(gx, ref.gx, tol, `${what} gx`);
        }
      }
    }
  });
}

test('crossEntropy f64: backward matches finite differences', () => {
  const next = rng(22);
  const [rows, classes] = [4, 6];
  const x = random(Float64Array, rows * classes, next, 3) as Float64Array;
  const t = Int32Array.from([2, -100, 0, 5]);
  const gLoss = random(Float64Array, rows, next);
  const [loss, lse, gx] = [new Float64Array(rows), new Float64Array(rows), new Float64Array(rows * classes)];
  const objective = () => (native.crossEntropyForward(x, t, loss, lse, rows, classes, -100, 0.2), dot(loss, gLoss));
  const numeric = numericGrad(x, objective);
  objective();
  native.crossEntropyBackward(x, t, lse, gLoss, gx, rows, classes, -100, 0.2);
  close(gx, numeric, 1e-7, 'crossEntropy gx');
});

test('crossEntropy: a target out of range throws a RangeError naming it and its row', () => {
  const x = new Float32Array(10);
  const out = [new Float32Array(2), new Float32Array(2)] as const;
  assert.throws(
    () => native.crossEntropyForward(x, Int32Array.from([1, 5]), out[0], out[1], 2, 5, -100, 0),
    (e: Error) => e instanceof RangeError && /target 5 at row 1 is outside \[0, 5\)/.test(e.message),
  );
  assert.throws(
    () => native.crossEntropyBackward(x, BigInt64Array.from([-1n, 0n]), out[1], out[0], x, 2, 5, -100, 0),
    /target -1 at row 0/,
  );
});

// ---------------------------------------------------------------------------------------------
// flash attention

interface AttnCase {
  B: number;
  Hq: number;
  Hkv: number;
  Tq: number;
  Tk: number;
  D: number;
  scale?: number;
  causal?: boolean;
  window?: number;
  bias?: [number, number]; // [biasB, biasH]
  keyMask?: boolean;
  dropoutP?: number;
  seed?: number;
}

interface AttnInputs {
  q: FloatArray;
  k: FloatArray;
  v: FloatArray;
  bias: FloatArray | null;
  keyMask: Uint8Array | null;
  gOut: FloatArray;
}

function fmix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** The documented dropout mask: 1 / (1 - p) where weight (b, h, i, j) is kept, else 0. */
function keepFactor(c: AttnCase, b: number, h: number, i: number, j: number): number {
  const p = c.dropoutP ?? 0;
  if (p === 0) return 1;
  const index = ((b * c.Hq + h) * c.Tk + j) >>> 0;
  const row = fmix32(((c.seed ?? 0) ^ fmix32((Math.imul(index, 0x9e3779b9) + 0x7f4a7c15) >>> 0)) >>> 0);
  const r = fmix32((row + Math.imul(i, 0x27d4eb2f)) >>> 0);
  return r >>> 1 >= Math.floor(p * 2 ** 31) ? 1 / (1 - p) : 0;
}

/** Attention forward and backward in float64, one query at a time over the full score row. */
function attentionRef(c: AttnCase, x: AttnInputs) {
  const { B, Hq, Hkv, Tq, Tk, D } = c;
  const scale = c.scale ?? 1 / Math.sqrt(D);
  const [biasB, biasH] = c.bias ?? [1, 1];
  const group = Hq / Hkv;
  const off = Tk - Tq;
  const out = new Float64Array(B * Hq * Tq * D);
  const lse = new Float64Array(B * Hq * Tq);
  const gq = new Float64Array(out.length);
  const gk = new Float64Array(B * Hkv * Tk * D);
  const gv = new Float64Array(gk.length);
  const gBias = new Float64Array(biasB * biasH * Tq * Tk);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < Hq; h++) {
      const kv = b * Hkv + Math.floor(h / group);
      const biasRow0 = ((biasB === 1 ? 0 : b) * biasH + (biasH === 1 ? 0 : h)) * Tq * Tk;
      for (let i = 0; i < Tq; i++) {
        const qi = ((b * Hq + h) * Tq + i) * D;
        const s = new Float64Array(Tk);
        let m = -Infinity;
        for (let j = 0; j < Tk; j++) {
          const seen =
            (!c.causal || j <= i + off) &&
            (!c.window || j > i + off - c.window) &&
            (!x.keyMask || x.keyMask[b * Tk + j] !== 0);
          let score = -Infinity;
          if (seen) {
            let d = 0;
            for (let e = 0; e < D; e++) d += x.q[qi + e] * x.k[(kv * Tk + j) * D + e];
            score = scale * d + (x.bias ? x.bias[biasRow0 + i * Tk + j] : 0);
          }
          s[j] = score;
          m = Math.max(m, score);
        }
        const p = s.map((v) => (m === -Infinity ? 0 : Math.exp(v - m)));
        const l = p.reduce((a, v) => a + v, 0);
        for (let j = 0; j < Tk; j++) p[j] = l > 0 ? p[j] / l : 0;
        lse[(b * Hq + h) * Tq + i] = l > 0 ? m + Math.log(l) : -Infinity;
        const f = Float64Array.from({ length: Tk }, (_, j) => keepFactor(c, b, h, i, j));
        const dP = new Float64Array(Tk);
        for (let j = 0; j < Tk; j++) {
          let gv_ = 0;
          for (let e = 0; e < D; e++) {
            out[qi + e] += p[j] * f[j] * x.v[(kv * Tk + j) * D + e];
            gv_ += x.gOut[qi + e] * x.v[(kv * Tk + j) * D + e];
          }
          dP[j] = gv_ * f[j];
        }
        const delta = dot(p, dP);
        for (let j = 0; j < Tk; j++) {
          const dS = p[j] * (dP[j] - delta);
          gBias[biasRow0 + i * Tk + j] += dS;
          for (let e = 0; e < D; e++) {
            const kj = (kv * Tk + j) * D + e;
            gq[qi + e] += scale * dS * x.k[kj];
            gk[kj] += scale * dS * x.q[qi + e];
            gv[kj] += p[j] * f[j] * x.gOut[qi + e];
          }
        }
      }
    }
  }
  return { out, lse, gq, gk, gv, gBias };
}

function attnInputs(C: Ctor, c: AttnCase, seed: number): AttnInputs {
  const next = rng(seed);
  const nq = c.B * c.Hq * c.Tq * c.D;
  const nkv = c.B * c.Hkv * c.Tk * c.D;
  let bias: FloatArray | null = null;
  if (c.bias) {
    bias = random(C, c.bias[0] * c.bias[1] * c.Tq * c.Tk, next, 2);
    for (let i = 0; i < bias.length; i += 7) bias[i] = -Infinity; // an arbitrary additive mask
  }
  let keyMask: Uint8Array | null = null;
  if (c.keyMask) {
    keyMask = Uint8Array.from({ length: c.B * c.Tk }, () => (next() > -0.6 ? 1 : 0));
    keyMask.fill(0, 0, c.Tk); // batch 0: every key masked
  }
  return {
    q: random(C, nq, next, 2),
    k: random(C, nkv, next, 2),
    v: random(C, nkv, next),
    bias,
    keyMask,
    gOut: random(C, nq, next),
  };
}

function attnArgs(c: AttnCase) {
  const [biasB, biasH] = c.bias ?? [1, 1];
  return [
    c.B,
    c.Hq,
    c.Hkv,
    c.Tq,
    c.Tk,
    c.D,
    c.scale ?? 1 / Math.sqrt(c.D),
    c.causal ?? false,
    c.window ?? 0,
    biasB,
    biasH,
    c.dropoutP ?? 0,
    c.seed ?? 0,
  ] as const;
}

function attnForward(c: AttnCase, x: AttnInputs) {
  const C = x.q.constructor as Ctor;
  const out = new C(x.q.length);
  const lse = new C(c.B * c.Hq * c.Tq);
  native.attentionForward(x.q, x.k, x.v, x.bias, x.keyMask, out, lse, ...attnArgs(c), c.Tk);
  return { out, lse };
}

function attnBackward(c: AttnCase, x: AttnInputs, out: FloatArray, lse: FloatArray, gBias: FloatArray | null) {
  const C = x.q.constructor as Ctor;
  const [gq, gk, gv] = [new C(x.q.length), new C(x.k.length), new C(x.v.length)];
  native.attentionBackward(x.q, x.k, x.v, x.bias, x.keyMask, out, lse, x.gOut, gq, gk, gv, gBias, ...attnArgs(c));
  return { gq, gk, gv };
}

const attnCases: [string, AttnCase][] = [
  ['plain', { B: 2, Hq: 3, Hkv: 3, Tq: 33, Tk: 33, D: 16 }],
  ['single query and key, D = 1', { B: 1, Hq: 1, Hkv: 1, Tq: 1, Tk: 1, D: 1 }],
  ['several tiles, odd D', { B: 1, Hq: 2, Hkv: 2, Tq: 130, Tk: 140, D: 7, scale: 0.4 }],
  ['causal, grouped-query, Tq < Tk (KV cache)', { B: 2, Hq: 4, Hkv: 2, Tq: 33, Tk: 70, D: 16, causal: true }],
  ['causal, Tq > Tk: early queries see nothing', { B: 1, Hq: 2, Hkv: 1, Tq: 80, Tk: 70, D: 8, causal: true }],
  ['causal sliding window', { B: 1, Hq: 2, Hkv: 2, Tq: 140, Tk: 140, D: 24, causal: true, window: 17 }],
  ['window without causal', { B: 1, Hq: 1, Hkv: 1, Tq: 40, Tk: 70, D: 5, window: 9 }],
  ['key padding (batch 0 all masked), multi-query', { B: 3, Hq: 3, Hkv: 1, Tq: 33, Tk: 70, D: 8, keyMask: true }],
  ['bias [1, Hq] (T5), causal', { B: 2, Hq: 3, Hkv: 3, Tq: 33, Tk: 33, D: 8, bias: [1, 3], causal: true }],
  ['bias [B, 1]', { B: 2, Hq: 3, Hkv: 1, Tq: 20, Tk: 70, D: 8, bias: [2, 1] }],
  ['bias [1, 1] with key padding', { B: 2, Hq: 2, Hkv: 2, Tq: 9, Tk: 70, D: 4, bias: [1, 1], keyMask: true }],
  ['bias [B, Hq]', { B: 2, Hq: 2, Hkv: 1, Tq: 9, Tk: 11, D: 4, bias: [2, 2], scale: 1 }],
  ['decoding: one query over 1023 keys', { B: 1, Hq: 2, Hkv: 1, Tq: 1, Tk: 1023, D: 8, causal: true }],
  ['few queries (the decode path): causal, window, bias, key padding, grouped-query', { B: 2, Hq: 4, Hkv: 2, Tq: 3, Tk: 70, D: 12, causal: true, window: 20, bias: [2, 1], keyMask: true }],
  ['few queries, causal, Tq > Tk: early queries see nothing', { B: 1, Hq: 2, Hkv: 1, Tq: 4, Tk: 2, D: 8, causal: true }],
  ['dropout', { B: 2, Hq: 2, Hkv: 1, Tq: 70, Tk: 70, D: 8, dropoutP: 0.3, seed: 1234 }],
  [
    'dropout, causal, window, bias, key padding',
    {
      B: 2,
      Hq: 2,
      Hkv: 2,
      Tq: 33,
      Tk: 40,
      D: 8,
      causal: true,
      window: 20,
      bias: [1, 2],
      keyMask: true,
      dropoutP: 0.5,
      seed: 7,
    },
  ],
];

for (const [label, c] of attnCases) {
  for (const { name: dt, C, tol } of dtypes) {
    test(`attention ${dt}: ${label}`, () => {
      const x = attnInputs(C, c, 31);
      const ref = attentionRef(c, x);
      const { out, lse } = attnForward(c, x);
      close(out, ref.out, tol, 'out');
      close(lse, ref.lse, tol, 'lse');
      const gBias0 = x.bias ? random(C, x.bias.length, rng(5)) : null;
      const gBias = gBias0 ? gBias0.slice() : null;
      const g = attnBackward(c, x, out, lse, gBias);
      close(g.gq, ref.gq, tol, 'gq');
      close(g.gk, ref.gk, tol, 'gk');
      close(g.gv, ref.gv, tol, 'gv');
      if (gBias && gBias0) close(gBias, plus(gBias0, ref.gBias), tol, 'gBias');
      for (const a of [out, lse, g.gq, g.gk, g.gv]) assert.ok(!a.some(Number.isNaN), 'no NaN');
    });
  }
}

test('attention forward reads k and v whose heads are kvRows apart (a KV cache with room) as if packed', () => {
  const c: AttnCase = { B: 2, Hq: 4, Hkv: 2, Tq: 1, Tk: 37, D: 8, causal: true, keyMask: true };
  const x = attnInputs(Float32Array, c, 33);
  const rows = 50;
  // Heads `rows` rows apart, the gaps filled with NaN: the kernel must never read them.
  const spread = (packed: FloatArray) => {
    const out = new Float32Array((c.B * c.Hkv - 1) * rows * c.D + c.Tk * c.D).fill(NaN);
    for (let h = 0; h < c.B * c.Hkv; h++) out.set(packed.subarray(h * c.Tk * c.D, (h + 1) * c.Tk * c.D), h * rows * c.D);
    return out;
  };
  const [out, lse] = [new Float32Array(x.q.length), new Float32Array(c.B * c.Hq * c.Tq)];
  native.attentionForward(x.q, spread(x.k), spread(x.v), null, x.keyMask, out, lse, ...attnArgs(c), rows);
  const packed = attnForward(c, x);
  assert.deepEqual(out, packed.out);
  assert.deepEqual(lse, packed.lse);
  assert.throws(
    () => native.attentionForward(x.q, x.k, x.v, null, x.keyMask, out, lse, ...attnArgs(c), rows),
    /k has 1184 elements; expected B\*Hkv\*kvRows\*D - \(kvRows - Tk\)\*D = 2\*2\*50\*8 - \(50 - 37\)\*8 = 1496/,
  );
});

test('attention f64: backward matches finite differences (GQA, causal, bias, key padding, dropout)', () => {
  const c: AttnCase = {
    ...{ B: 2, Hq: 2, Hkv: 1, Tq: 5, Tk: 7, D: 3, causal: true, bias: [1, 2], keyMask: true },
    ...{ dropoutP: 0.25, seed: 99 },
  };
  const x = attnInputs(Float64Array, c, 41);
  x.keyMask![0] = 1; // batch 0 keeps one key
  const objective = () => dot(attnForward(c, x).out, x.gOut);
  const numeric = (a: FloatArray) => numericGrad(a as Float64Array, objective);
  const [nq, nk, nv, nb] = [numeric(x.q), numeric(x.k), numeric(x.v), numeric(x.bias!)];
  const { out, lse } = attnForward(c, x);
  const gBias = new Float64Array(x.bias!.length);
  const g = attnBackward(c, x, out, lse, gBias);
  close(g.gq, nq, 1e-7, 'gq');
  close(g.gk, nk, 1e-7, 'gk');
  close(g.gv, nv, 1e-7, 'gv');
  close(gBias, nb, 1e-7, 'gBias');
});

test('attention dropout: the seed fixes the mask, about p of the weights are dropped', () => {
  const c: AttnCase = { B: 1, Hq: 2, Hkv: 2, Tq: 64, Tk: 64, D: 4, dropoutP: 0.3, seed: 5 };
  const x = attnInputs(Float32Array, c, 51);
  const first = attnForward(c, x);
  assert.deepEqual(attnForward(c, x), first);
  assert.notDeepEqual(attnForward({ ...c, seed: 6 }, x).out, first.out);
  let dropped = 0;
  for (let i = 0; i < 64; i++) for (let j = 0; j < 64; j++) dropped += keepFactor(c, 0, 1, i, j) === 0 ? 1 : 0;
  assert.ok(Math.abs(dropped / 4096 - 0.3) < 0.03, `dropped fraction ${dropped / 4096}`);
});

test('attention: results do not depend on the thread count', { skip: native.numThreads() < 2 }, () => {
  const c: AttnCase = { B: 2, Hq: 4, Hkv: 2, Tq: 130, Tk: 130, D: 16, causal: true, bias: [1, 4] };
  const x = attnInputs(Float32Array, c, 61);
  const run = () => {
    const { out, lse } = attnForward(c, x);
    const gBias = new Float32Array(x.bias!.length);
    return { out, lse, ...attnBackward(c, x, out, lse, gBias), gBias };
  };
  const threads = native.numThreads();
  const many = run();
  native.setNumThreads(1);
  try {
    assert.deepEqual(run(), many);
  } finally {
    native.setNumThreads(threads);
  }
});

// ---------------------------------------------------------------------------------------------
// RoPE, AdamW

function ropeRef(x: ArrayLike<number>, cos: ArrayLike<number>, sin: ArrayLike<number>, shape: number[], cosB: number) {
  const [B, H, T, D] = shape;
  const half = D / 2;
  const out = new Float64Array(B * H * T * D);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let t = 0; t < T; t++) {
        const r = ((b * H + h) * T + t) * D;
        const cs = ((cosB === 1 ? 0 : b) * T + t) * D;
        for (let d = 0; d < D; d++) {
          const rot = d < half ? -x[r + d + half] : x[r + d - half];
          out[r + d] = x[r + d] * cos[cs + d] + rot * sin[cs + d];
        }
      }
  return out;
}

for (const { name: dt, C, tol } of dtypes) {
  test(`rope ${dt}: forward matches the reference, backward is its transpose`, () => {
    const next = rng(71);
    for (const [B, H, T, D, cosB] of [
      [1, 1, 1, 2, 1],
      [2, 3, 7, 8, 1],
      [2, 2, 33, 64, 2],
    ]) {
      const x = random(C, B * H * T * D, next);
      const cos = random(C, cosB * T * D, next);
      const sin = random(C, cosB * T * D, next);
      const out = new C(x.length);
      native.ropeForward(x, cos, sin, out, B, H, T, D, cosB);
      close(out, ropeRef(x, cos, sin, [B, H, T, D], cosB), tol, `rope ${B}x${H}x${T}x${D} cosBatch=${cosB}`);
      const g = random(C, x.length, next);
      const gx = new C(x.length);
      native.ropeBackward(g, cos, sin, gx, B, H, T, D, cosB);
      const [lhs, rhs] = [dot(out, g), dot(x, gx)]; // <R x, g> = <x, R^T g>
      assert.ok(Math.abs(lhs - rhs) <= tol * 10 * (Math.abs(lhs) + 1), `adjoint ${lhs} vs ${rhs}`);
    }
  });

  test(`adamw ${dt}: three steps match PyTorch's AdamW formula`, () => {
    const next = rng(81);
    const n = 1027;
    const [lr, b1, b2, eps, wd] = [1e-2, 0.9, 0.999, 1e-8, 0.1];
    const p = random(C, n, next);
    const [m, v] = [new C(n), new C(n)];
    const ref = { p: Float64Array.from(p), m: new Float64Array(n), v: new Float64Array(n) };
    for (let step = 1; step <= 3; step++) {
      const g = random(C, n, next);
      native.adamw(p, g, m, v, n, lr, b1, b2, eps, wd, step);
      for (let i = 0; i < n; i++) {
        ref.p[i] *= 1 - lr * wd;
        ref.m[i] += (1 - b1) * (g[i] - ref.m[i]);
        ref.v[i] = b2 * ref.v[i] + (1 - b2) * g[i] * g[i];
        const denom = Math.sqrt(ref.v[i]) / Math.sqrt(1 - b2 ** step) + eps;
        ref.p[i] -= (lr / (1 - b1 ** step)) * (ref.m[i] / denom);
      }
    }
    close(p, ref.p, dt === 'f32' ? 1e-6 : 1e-14, 'param');
    close(m, ref.m, dt === 'f32' ? 1e-6 : 1e-14, 'm');
    close(v, ref.v, dt === 'f32' ? 1e-6 : 1e-14, 'v');
  });
}

// ---------------------------------------------------------------------------------------------
// argument checks, determinism, portable kernels

test('argument checks name the argument and the numbers', () => {
  const f32 = new Float32Array(6);
  assert.throws(
    () => native.softmaxForward(f32, new Float32Array(6), 2, 4),
    (e: Error) =>
      e instanceof RangeError && e.message === 'softmaxForward: x has 6 elements; expected rows*cols = 2*4 = 8',
  );
  assert.throws(
    () => native.softmaxForward(f32, new Float64Array(6) as unknown as Float32Array, 2, 3),
    (e: Error) => e instanceof TypeError && /y must be a Float32Array/.test(e.message),
  );
  assert.throws(
    () => native.rmsNormBackward(f32, f32, null, new Float32Array(2), f32, new Float32Array(3), 2, 3),
    /gw was given but weight is null/,
  );
  assert.throws(() => native.ropeForward(f32, f32, f32, f32, 1, 1, 2, 3, 1), /D must be even/);
  assert.throws(() => native.adamw(f32, f32, f32, f32, 6, 1e-3, 0.9, 0.999, 1e-8, 0, 0), /step must be >= 1/);
  const c: AttnCase = { B: 1, Hq: 3, Hkv: 2, Tq: 2, Tk: 2, D: 1 };
  const x = attnInputs(Float32Array, { ...c, Hkv: 1 }, 1);
  assert.throws(() => attnForward(c, x), /Hq \(3\) must be a positive multiple of Hkv \(2\)/);
  assert.throws(
    () => attnForward({ ...c, Hkv: 1, Tk: 3 }, x),
    /k has 2 elements; expected B\*Hkv\*Tk\*D = 1\*1\*3\*1 = 3/,
  );
  assert.throws(() => attnForward({ ...c, Hkv: 1, dropoutP: 1 }, x), /dropoutP must be in \[0, 1\)/);
  assert.throws(
    () =>
      native.attentionForward(
        x.q,
        x.k,
        x.v,
        new Float32Array(4),
        null,
        new Float32Array(6),
        new Float32Array(6),
        1,
        3,
        1,
        2,
        2,
        1,
        1,
        false,
        0,
        1,
        2,
        0,
        0,
        2,
      ),
    /biasH must be 1 or Hq \(3\), got 2/,
  );
  assert.throws(() => native.attentionForward(x.q, x.k, x.v, null, null, new Float32Array(6), new Float32Array(6), ...attnArgs({ ...c, Hkv: 1 }), 1), /kvRows \(1\) must be at least Tk \(2\)/);
});

test('layerNorm: parameter gradients are the same on every run', () => {
  const next = rng(91);
  const [rows, cols] = [2048, 96];
  const x = random(Float32Array, rows * cols, next);
  const gy = random(Float32Array, rows * cols, next);
  const [y, mean, rstd] = [new Float32Array(rows * cols), new Float32Array(rows), new Float32Array(rows)];
  native.layerNormForward(x, null, null, y, mean, rstd, rows, cols, 1e-5);
  const run = () => {
    const [gw, gb] = [new Float32Array(cols), new Float32Array(cols)];
    native.layerNormBackward(gy, x, new Float32Array(cols).fill(1), mean, rstd, null, gw, gb, rows, cols);
    return [gw, gb];
  };
  assert.deepEqual(run(), run());
});

test('portable kernels (PEFTJS_SIMD=portable in a child process)', { skip: portableChild }, () => {
  const file = fileURLToPath(import.meta.url);
  const env: NodeJS.ProcessEnv = { ...process.env, PEFTJS_SIMD: 'portable', PEFTJS_NN_TEST_PORTABLE: '1' };
  delete env.NODE_TEST_CONTEXT; // run as a plain script: its own exit status, not the parent runner's protocol
  const run = spawnSync(process.execPath, ['--import', 'tsx', file], { env, encoding: 'utf8' });
  assert.equal(run.status, 0, `portable run failed:\n${run.stdout}\n${run.stderr}`);
});

test('the child process runs the portable kernels', { skip: !portableChild }, () => {
  assert.equal(native.simdLevel(), 'portable');
});
