// The native GEMM against a float64 triple loop: every transpose combination, padded rows, offsets,
// batches with broadcast operands, bf16/f16 B, float64, argument checks, and (in a child process
// with PEFTJS_SIMD=portable) the portable kernels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { native } from '../../src/tensor/native/index.js';
import { check } from './gemm-check.js';

const portableChild = process.env.PEFTJS_GEMM_TEST_PORTABLE === '1';

const trans: [boolean, boolean][] = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];

test('f32: sizes 1, 7, 33, 1023 and mixes, every transpose combination', () => {
  const shapes: [number, number, number][] = portableChild
    ? [
        [1, 1, 1],
        [7, 33, 7],
        [33, 7, 300],
        [5, 40, 33],
      ]
    : [
        [1, 1, 1],
        [7, 7, 7],
        [33, 33, 33],
        [1, 1023, 33],
        [33, 7, 1023],
        [1023, 33, 65],
        [7, 1023, 17],
        [2, 300, 1023],
        [150, 40, 600],
      ];
  for (const [transA, transB] of trans) {
    for (const [M, N, K] of shapes) check({ M, N, K, transA, transB, alpha: 1.5, beta: 0.5, pad: 3 });
  }
});

test('f32: alpha/beta variants, beta = 0 ignores NaN in C, K = 0 and alpha = 0 scale C', () => {
  for (const [alpha, beta] of [
    [1, 0],
    [-0.75, 1],
    [2, -1.25],
    [0, 0.5],
    [0, 0],
  ]) {
    check({ M: 40, N: 37, K: 50, alpha, beta, transB: true });
    check({ M: 3, N: 100, K: 64, alpha, beta });
  }
  check({ M: 5, N: 6, K: 0, alpha: 1, beta: 0.5 });
  check({ M: 5, N: 6, K: 0, alpha: 1, beta: 0 });
  check({ M: 0, N: 6, K: 3 });
  check({ M: 6, N: 0, K: 3 });
});

test('f32: batches with strides, broadcast A or B (stride 0)', () => {
  for (const [transA, transB] of trans) {
    check({ M: 20, N: 30, K: 40, transA, transB, batch: 3, alpha: 0.5, beta: 1, pad: 1 });
    check({ M: 2, N: 70, K: 33, transA, transB, batch: 4, broadcastB: true });
    check({ M: 17, N: 9, K: 129, transA, transB, batch: 5, broadcastA: true });
    check({ M: 4, N: 4, K: 4, transA, transB, batch: 6, broadcastA: true, broadcastB: true, beta: 2 });
  }
});

test('f32: bf16 and f16 B (compared with the rounded values)', () => {
  for (const bType of [1, 2] as const) {
    for (const [transA, transB] of trans) {
      check({ M: 33, N: 45, K: 70, transA, transB, bType, alpha: 1.25, beta: 0.5, pad: 2 });
      check({ M: 1, N: 300, K: 257, transA, transB, bType });
      check({ M: 4, N: 33, K: 1023, transA, transB, bType, batch: 2, broadcastB: true });
    }
    if (!portableChild) check({ M: 200, N: 130, K: 300, transB: true, bType, batch: 2 });
  }
  check({ M: 3, N: 5, K: 7, bType: 2 }, 7);
});

test('f32: few rows (M = 1..8, the decode kernels): every row count, both B layouts, B in f32/bf16/f16, tails in K and N', () => {
  for (let M = 1; M <= 8; M++) {
    for (const bType of [0, 1, 2] as const) {
      for (const transB of [false, true]) {
        // Short rows stored N x K (f32/bf16): on AVX2 the one-row-at-a-time kernel, K tails of 3 and 1.
        check({ M, N: 37, K: 43, transB, bType, alpha: 0.75, beta: M % 2 ? 0 : 0.5, pad: 2 });
        check({ M, N: 300, K: 129, transB, bType, transA: M === 3 }, M);
      }
    }
    // B stored N x K with rows over 8 KB (f32 K = 2100, bf16 K = 4200): the AVX-512 kernel reads these four
    // rows at a time; bf16 K = 2100 is one row at a time with a K tail.
    check({ M, N: 37, K: 2100, transB: true, alpha: 0.75, beta: M % 2 ? 0 : 0.5, pad: 3 });
    check({ M, N: 37, K: 2100, transB: true, bType: 1, alpha: 0.75, beta: M % 2 ? 0 : 0.5, pad: 3 });
    check({ M, N: 21, K: 4200, transB: true, bType: 1, beta: M % 2 ? 0.5 : 0 });
  }
});

test('f32: a wide B packed in several column chunks', { skip: portableChild }, () => {
  check({ M: 7, N: 2100, K: 1030, transB: true, bType: 1 });
  check({ M: 9, N: 2100, K: 1030, alpha: 0.5, beta: 0.5 });
});

test('f64: gemmF64 matches the reference', () => {
  for (const [transA, transB] of trans) {
    check({ M: 33, N: 7, K: 65, transA, transB, alpha: 1.5, beta: 0.25, pad: 2, f64: true });
    check({ M: 1, N: 40, K: 300, transA, transB, f64: true, batch: 2, broadcastA: true });
  }
  check({ M: 130, N: 70, K: 260, f64: true });
});

test('argument checks', () => {
  const f: Float32Array = new Float32Array(16);
  const h = new Uint16Array(16);
  const base = {
    M: 2,
    N: 2,
    K: 2,
    A: f,
    aOff: 0,
    lda: 2,
    sA: 0,
    B: f as Float32Array | Uint16Array,
    bOff: 0,
    bt: 0 as 0 | 1 | 2,
    ldb: 2,
    sB: 0,
    C: f,
    cOff: 0,
    ldc: 2,
    sC: 4,
    batch: 1,
  };
  const call = (over: Partial<typeof base>) => {
    const a = { ...base, ...over };
    native.gemm(
      false,
      false,
      a.M,
      a.N,
      a.K,
      1,
      a.A,
      a.aOff,
      a.lda,
      a.sA,
      a.B,
      a.bOff,
      a.bt,
      a.ldb,
      a.sB,
      0,
      a.C,
      a.cOff,
      a.ldc,
      a.sC,
      a.batch,
    );
  };
  call({});
  assert.throws(() => call({ M: -1 }), RangeError);
  assert.throws(() => call({ aOff: 13 }), { name: 'RangeError', message: /A needs 17 elements .* but has 16/ });
  assert.throws(() => call({ lda: 1 }), /lda = 1 is less than the 2 columns/);
  assert.throws(() => call({ batch: 4, sB: 5 }), /B needs 19 elements/);
  assert.throws(() => call({ batch: 2, sC: 0 }), /strideC = 0/);
  assert.throws(() => call({ bt: 1 }), TypeError);
  assert.throws(() => call({ B: h, bt: 3 as 2 }), RangeError);
  assert.throws(() => call({ C: new Float64Array(16) as unknown as Float32Array }), TypeError);
  call({ B: h, bt: 2 });
  call({ batch: 0 });
  assert.throws(
    () =>
      native.gemmF64(
        false,
        false,
        2,
        2,
        2,
        1,
        new Float64Array(4),
        0,
        2,
        0,
        new Float64Array(3),
        0,
        2,
        0,
        0,
        new Float64Array(4),
        0,
        2,
        0,
        1,
      ),
    /B needs 4 elements/,
  );
});

test('fmaPeak: a positive rate for widths the CPU has, an error for the others', () => {
  const level = native.simdLevel();
  if (level === 'portable') {
    assert.throws(() => native.fmaPeak(256, 1, 0.01), /not available/);
  } else {
    assert.ok(native.fmaPeak(256, 1, 0.02) > 0);
    assert.ok(native.fmaPeak(128, 2, 0.02) > 0);
  }
  if (level !== 'avx512') assert.throws(() => native.fmaPeak(512, 1, 0.01), /not available/);
  assert.throws(() => native.fmaPeak(64 as 128, 1, 0.01), RangeError);
});

test('portable kernels (PEFTJS_SIMD=portable in a child process)', { skip: portableChild }, () => {
  const file = fileURLToPath(import.meta.url);
  const env: NodeJS.ProcessEnv = { ...process.env, PEFTJS_SIMD: 'portable', PEFTJS_GEMM_TEST_PORTABLE: '1' };
  delete env.NODE_TEST_CONTEXT; // run as a plain script: its own exit status, not the parent runner's protocol
  const run = spawnSync(process.execPath, ['--import', 'tsx', file], { env, encoding: 'utf8' });
  assert.equal(run.status, 0, `portable run failed:\n${run.stdout}\n${run.stderr}`);
});

test('the child process runs the portable kernels', { skip: !portableChild }, () => {
  assert.equal(native.simdLevel(), 'portable');
});

// Decode-shaped products against GPT-2's Conv1D weights (B stored K x N): the AVX-512 kernel
// (avx512/small_m_rows_avx512.cc) keeps each element's operations and their order, so a served token
// is the same on either instruction set. The inputs are a function of their index, the same in the child.
const KN_CASES = [
  { M: 1, N: 300, K: 129, bType: 0 },
  { M: 8, N: 300, K: 129, bType: 1 },
  { M: 5, N: 37, K: 43, bType: 1, beta: 0.5 },
  { M: 3, N: 96, K: 70, bType: 0, alpha: 0.75 },
] as const;

function knProducts(): string {
  const out: string[] = [];
  for (const { M, N, K, bType, ...rest } of KN_CASES) {
    const alpha = 'alpha' in rest ? rest.alpha : 1;
    const beta = 'beta' in rest ? rest.beta : 0;
    const A = Float32Array.from({ length: M * K }, (_, i) => Math.sin(i * 0.37) * 0.5);
    const B =
      bType === 1
        ? Uint16Array.from({ length: K * N }, (_, i) => 0x3c00 + ((i * 7919) % 1024) - 512)
        : Float32Array.from({ length: K * N }, (_, i) => Math.cos(i * 0.11) * 0.25);
    const C = Float32Array.from({ length: M * N }, (_, i) => Math.sin(i) * 0.1);
    native.gemm(false, false, M, N, K, alpha, A, 0, K, 0, B, 0, bType, N, 0, beta, C, 0, N, 0, 1);
    out.push(Buffer.from(C.buffer).toString('base64'));
  }
  return out.join(',');
}

if (process.env.PEFTJS_GEMM_KN_CHILD === '1') {
  process.stdout.write(`KN ${knProducts()}\n`);
} else {
  test(
    "few rows against a B stored K x N: the AVX-512 kernel gives the AVX2 kernel's bits",
    { skip: native.simdLevel() !== 'avx512' || portableChild },
    () => {
      const env: NodeJS.ProcessEnv = { ...process.env, PEFTJS_SIMD: 'avx2', PEFTJS_GEMM_KN_CHILD: '1' };
      delete env.NODE_TEST_CONTEXT;
      const run = spawnSync(
        process.execPath,
        ['--import', 'tsx', '--test-name-pattern=^$', fileURLToPath(import.meta.url)],
        { env, encoding: 'utf8' },
      );
      const line = run.stdout.split('\n').find((l) => l.startsWith('KN '));
      assert.ok(line, run.stdout + run.stderr);
      assert.equal(line.slice(3), knProducts());
    },
  );
}

test('9-16 rows against a bf16 B stored K x N (a serving step against Conv1D weights): right, and on AVX-512 each row the bits of its 8-row chunk', () => {
  // K = 1030: several blocks of B rows per thread (the 8-row chunks go over each block in turn), a K tail.
  for (const M of [9, 12, 16]) check({ M, N: 300, K: 1030, bType: 1, alpha: 0.5, beta: M === 12 ? 0.25 : 0, pad: 1 });
  // Elsewhere these products are packed (gemm.cc chunked_rows): right, but in another order.
  if (native.simdLevel() !== 'avx512') return;
  const [N, K] = [300, 1030];
  const A = Float32Array.from({ length: 16 * K }, (_, i) => Math.sin(i * 0.37) * 0.5);
  const B = Uint16Array.from({ length: K * N }, (_, i) => 0x3c00 + ((i * 7919) % 1024) - 512);
  const product = (rows: number, from: number) => {
    const C = new Float32Array(rows * N);
    native.gemm(false, false, rows, N, K, 1, A, from * K, K, 0, B, 0, 1, N, 0, 0, C, 0, N, 0, 1);
    return C;
  };
  const sixteen = product(16, 0);
  assert.deepEqual(sixteen.subarray(0, 8 * N), product(8, 0));
  assert.deepEqual(sixteen.subarray(8 * N), product(8, 8));
  const twelve = product(12, 2); // a group of eight rows and one of four
  assert.deepEqual(twelve.subarray(0, 8 * N), product(8, 2));
  assert.deepEqual(twelve.subarray(8 * N), product(4, 10));
});

test('few rows against a B stored N x K (nn.Linear, an LM head): each row of C the bits of that row alone', () => {
  // Rows of B taken two at a time with an odd N (the last pair repeats a row), a K tail, bf16 and
  // float32; one thread, so the column ranges agree.
  const threads = native.numThreads();
  native.setNumThreads(1);
  try {
    for (const bType of [0, 1] as const) {
      const [N, K] = [301, 200];
      const A = Float32Array.from({ length: 12 * K }, (_, i) => Math.sin(i * 0.37) * 0.5);
      const B =
        bType === 1
          ? Uint16Array.from({ length: N * K }, (_, i) => 0x3c00 + ((i * 7919) % 1024) - 512)
          : Float32Array.from({ length: N * K }, (_, i) => Math.cos(i * 0.11) * 0.25);
      const product = (rows: number, from: number) => {
        const C = new Float32Array(rows * N);
        native.gemm(false, true, rows, N, K, 1, A, from * K, K, 0, B, 0, bType, K, 0, 0, C, 0, N, 0, 1);
        return C;
      };
      for (const rows of [2, 4, 5, 8]) {
        const together = product(rows, 1);
        for (let i = 0; i < rows; i++)
          assert.deepEqual(
            together.subarray(i * N, (i + 1) * N),
            product(1, 1 + i),
            `bType ${bType}, ${rows} rows, row ${i}`,
          );
      }
    }
  } finally {
    native.setNumThreads(threads);
  }
});
