// The quickstart's encoder, built once per user: the small BERT pretrained with masked LM on
// SpamAssassin mails (pretrain.ts), kept as an HF model folder under the cache folder and reused
// by every later run. The folder's name holds a hash of everything that decides its weights, so a
// change of settings or of the build code (BUILD_VERSION) builds a new one beside the old.
import { createHash } from 'node:crypto';
import { access, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { writeFolderAtomic } from '../io/atomic.js';
import type { TrainerCallback } from '../train/index.js';
import { pretrainEncoder, type PretrainResult, type PretrainSettings } from './pretrain.js';

/** Bump when the code changes what a build makes (vocabulary rules, model, masking, config fields). */
const BUILD_VERSION = 2;
/** What a built folder records about its build (besides the HF files). */
export const BUILD_FILE = 'build.json';

export interface EncoderBuild {
  /** Mails pretrained on: the first of the corpus shuffled with `seed` (fine-tuning takes the next ones). */
  mails: number;
  seed: number;
  pretrain: Omit<PretrainSettings, 'callbacks' | 'seed'>;
}

/** build.json: the settings, and how the pretraining went. */
export interface BuildRecord {
  version: number;
  build: EncoderBuild;
  result: Omit<PretrainResult, 'tokenizer'>;
}

export interface CachedEncoder {
  dir: string;
  /** Whether this call built it (false: it was in the cache). */
  built: boolean;
  record: BuildRecord;
}

/**
 * peftjs's cache folder: `override` (--cache-dir), else $PEFTJS_CACHE, else $XDG_CACHE_HOME/peftjs
 * (an absolute XDG_CACHE_HOME only, as the XDG spec says), else ~/.cache/peftjs.
 */
export function cacheRoot(override?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (override) return override;
  if (env.PEFTJS_CACHE) return env.PEFTJS_CACHE;
  const xdg = env.XDG_CACHE_HOME;
  return xdg && isAbsolute(xdg) ? join(xdg, 'peftjs') : join(homedir(), '.cache', 'peftjs');
}

/** The folder a build is kept in: encoders/spam-bert-<layers>x<hidden>-<hash of the build>. */
export function encoderFolder(root: string, build: EncoderBuild): string {
  const hash = createHash('sha256').update(JSON.stringify({ version: BUILD_VERSION, build })).digest('hex').slice(0, 12);
  return join(root, 'encoders', `spam-bert-${build.pretrain.shape.layers}x${build.pretrain.shape.hidden}-${hash}`);
}

const exists = (path: string) => access(path).then(() => true, () => false);

async function readRecord(dir: string): Promise<BuildRecord | null> {
  if (!(await exists(join(dir, BUILD_FILE)))) return null;
  return JSON.parse(await readFile(join(dir, BUILD_FILE), 'utf8')) as BuildRecord;
}

export interface EncoderTexts {
  /** The pretraining mails (`build.mails` of them). */
  pretrain: readonly string[];
  /** Held-out mails for the masked-token accuracy recorded in build.json. */
  heldOut: readonly string[];
}

export interface CacheOptions {
  root: string;
  /** The pretraining Trainer's callbacks (a progress bar). */
  callbacks?: TrainerCallback[];
  /** Told before a build starts, with the folder it will fill. */
  onBuild?: (dir: string) => void;
}

/** The encoder of `build`: from the cache, or built (atomically) and cached. */
export async function cachedEncoder(build: EncoderBuild, texts: EncoderTexts, options: CacheOptions): Promise<CachedEncoder> {
  const dir = encoderFolder(options.root, build);
  const cached = await readRecord(dir);
  if (cached !== null) return { dir, built: false, record: cached };
  await mkdir(join(options.root, 'encoders'), { recursive: true });
  await removeAbandonedBuilds(join(options.root, 'encoders'));
  options.onBuild?.(dir);
  let record: BuildRecord | undefined;
  try {
    await writeFolderAtomic(dir, async (folder) => {
      const { tokenizer: _, ...result } = await pretrainEncoder(folder, texts.pretrain, texts.heldOut, { ...build.pretrain, seed: build.seed, callbacks: options.callbacks });
      record = { version: BUILD_VERSION, build, result };
      await writeFile(join(folder, BUILD_FILE), `${JSON.stringify(record, null, 2)}\n`);
    });
  } catch (error) {
    // Another process finished the same build first: its folder is as good as ours.
    const theirs = await readRecord(dir);
    if (theirs !== null) return { dir, built: false, record: theirs };
    throw error;
  }
  return { dir, built: true, record: record! };
}

/** Removes the temporary folders of builds whose process is gone (interrupted: Ctrl-C, a crash). */
async function removeAbandonedBuilds(folder: string): Promise<void> {
  for (const name of await readdir(folder)) {
    const pid = /^\..+\.(\d+)\.[0-9a-f]+\.tmp$/.exec(name)?.[1];
    if (pid !== undefined && !processAlive(Number(pid))) await rm(join(folder, name), { recursive: true, force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM'; // alive, another user's
  }
}
