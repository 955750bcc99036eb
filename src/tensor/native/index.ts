// Loads the native CPU backend (build/Release/peftjs.node, built by `npm install`).
// Each kernel module declares its functions in a file beside this one.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InfoKernels } from './info.js';
import type { GemmKernels } from './gemm.js';
import type { NnKernels } from './nn.js';
import type { ElementwiseKernels } from './elementwise.js';
import type { ReduceKernels } from './reduce.js';
import type { IndexKernels } from './index-kernels.js';
import type { LinalgKernels } from './linalg.js';
import type { QuantKernels } from './quant.js';
import type { MemoryKernels } from './memory.js';
import type { RandomKernels } from './random.js';
import type { GgmlKernels } from './ggml.js';

export type NativeAddon = InfoKernels &
  GemmKernels &
  NnKernels &
  ElementwiseKernels &
  ReduceKernels &
  IndexKernels &
  LinalgKernels &
  QuantKernels &
  MemoryKernels &
  RandomKernels &
  GgmlKernels;

function findPackageRoot(start: string): string {
  let dir = start;
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'binding.gyp'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`peftjs: cannot find the package root above ${start}`);
    dir = parent;
  }
  return dir;
}

function load(): NativeAddon {
  const root = findPackageRoot(dirname(fileURLToPath(import.meta.url)));
  const file = join(root, 'build', 'Release', 'peftjs.node');
  if (!existsSync(file)) {
    throw new Error(
      `peftjs: the native backend ${file} is missing. Build it with \`npm run build:native\` ` +
        '(needs python3, make and g++).',
    );
  }
  return createRequire(import.meta.url)(file) as NativeAddon;
}

export const native: NativeAddon = load();
