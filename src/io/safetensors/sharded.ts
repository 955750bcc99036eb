// Sharded checkpoints: model.safetensors.index.json maps each tensor name to the shard file that
// holds it ({"metadata": {...}, "weight_map": {name: file}}). Every shard is checked to exist when
// the index is opened; each is opened (and its header validated) on first use.
import type { Tensor } from '../../tensor/tensor.js';
import { MissingFileError, SafetensorsError } from '../errors.js';
import { SafetensorsFile } from './reader.js';
import type { ReadTensorOptions, TensorInfo, TensorSource } from './types.js';
import { fileAt } from '../files/default.js';
import type { FileSource } from '../files/types.js';

export const INDEX_FILE = 'model.safetensors.index.json';

export class ShardedSafetensors implements TensorSource {
  private readonly opened = new Map<string, Promise<SafetensorsFile>>();
  private closed = false;

  private constructor(
    /** The folder that holds the index and its shards. */
    private readonly source: FileSource,
    /** The index file, as messages name it. */
    readonly path: string,
    /** The index's "metadata" object (HF writes total_size there). */
    readonly metadata: Readonly<Record<string, unknown>>,
    private readonly weightMap: ReadonlyMap<string, string>,
  ) {}

  /**
   * Reads and validates the index at `indexPath` (or the file `name` of `source`); throws a
   * MissingFileError naming every absent shard.
   */
  static async open(indexPath: string): Promise<ShardedSafetensors>;
  static async open(source: FileSource, name?: string): Promise<ShardedSafetensors>;
  static async open(where: string | FileSource, name = INDEX_FILE): Promise<ShardedSafetensors> {
    const { source, name: indexName } = typeof where === 'string' ? fileAt(where) : { source: where, name };
    const indexPath = source.describe(indexName);
    const text = await source.readText(indexName).catch((error: unknown) => {
      throw new SafetensorsError(indexPath, `cannot be read: ${(error as Error).message}`);
    });
    if (text === null) throw new MissingFileError([indexPath]);
    const { metadata, weightMap } = parseIndex(text, indexPath);
    const shards = [...new Set(weightMap.values())];
    const present = await Promise.all(shards.map((file) => source.isFile(file)));
    const missing = shards.filter((_, i) => !present[i]).map((file) => source.describe(file));
    if (missing.length > 0) throw new MissingFileError(missing, `shards named in ${indexPath}`);
    return new ShardedSafetensors(source, indexPath, metadata, weightMap);
  }

  keys(): string[] {
    return [...this.weightMap.keys()];
  }

  has(name: string): boolean {
    return this.weightMap.has(name);
  }

  /** The shard files, as paths (or URLs). */
  shardPaths(): string[] {
    return [...new Set(this.weightMap.values())].map((file) => this.source.describe(file));
  }

  async info(name: string): Promise<TensorInfo> {
    return (await this.shard(name)).info(name);
  }

  async get(name: string, options?: ReadTensorOptions): Promise<Tensor> {
    return (await this.shard(name)).get(name, options);
  }

  async close(): Promise<void> {
    this.closed = true;
    const files = await Promise.all([...this.opened.values()].map((p) => p.catch(() => null)));
    this.opened.clear();
    await Promise.all(files.map((f) => f?.close()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private shard(name: string): Promise<SafetensorsFile> {
    const file = this.weightMap.get(name);
    if (file === undefined) throw new SafetensorsError(this.path, "not in this index's weight_map", name);
    if (this.closed) throw new SafetensorsError(this.path, 'the checkpoint was closed; open it again to read', name);
    let opening = this.opened.get(file);
    if (opening === undefined) {
      opening = this.openShard(file);
      this.opened.set(file, opening);
    }
    return opening;
  }

  /** Opens a shard and checks it holds every tensor the index places in it. */
  private async openShard(file: string): Promise<SafetensorsFile> {
    const shard = await SafetensorsFile.open(this.source, file);
    for (const [name, f] of this.weightMap) {
      if (f === file && !shard.has(name)) {
        await shard.close();
        throw new SafetensorsError(
          shard.path,
          `${this.path} places this tensor in this shard, which does not hold it`,
          name,
        );
      }
    }
    return shard;
  }
}

function parseIndex(text: string, path: string): { metadata: Record<string, unknown>; weightMap: Map<string, string> } {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (error) {
    throw new SafetensorsError(path, `is not valid JSON: ${(error as Error).message}`);
  }
  if (!isObject(root)) {
    throw new SafetensorsError(path, 'must be a JSON object {"metadata": {...}, "weight_map": {...}}');
  }
  const metadata = root.metadata ?? {};
  if (!isObject(metadata)) throw new SafetensorsError(path, '"metadata" must be an object');
  if (!isObject(root.weight_map)) {
    throw new SafetensorsError(path, '"weight_map" must be an object mapping tensor names to shard files');
  }
  const weightMap = new Map<string, string>();
  for (const [name, file] of Object.entries(root.weight_map)) {
    if (
      typeof file !== 'string' ||
      file === '' ||
      file === '.' ||
      file === '..' ||
      file.includes('/') ||
      file.includes('\\')
    ) {
      throw new SafetensorsError(
        path,
        `weight_map must name a shard file in the index's own folder; it gives ${JSON.stringify(file)}`,
        name,
      );
    }
    weightMap.set(name, file);
  }
  return { metadata, weightMap };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
