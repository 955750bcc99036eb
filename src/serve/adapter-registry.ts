// The adapters a server knows: named folders (--adapter name=path), folders discovered lazily
// under --adapter-dir, and those added at run time (POST /v1/load_lora_adapter). An adapter is
// read on first use and kept in memory while requests use it; cold ones are evicted least
// recently used first when the resident adapters exceed --max-adapter-mb, and read again when
// asked for. Adapters of one method share one PeftModel (rows routed by adapterNames); each
// method gets its own module tree over the same base weights (cloneModule with shared tensors),
// so an IA3 row and a LoRA row run in the same step without touching each other's layers.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { cloneModule } from '../nn/index.js';
import type { PretrainedModel } from '../models/index.js';
import { PeftModel } from '../peft/peft-model.js';
import { LoraLinear } from '../peft/tuners/lora/layer.js';
import { LycorisLayer } from '../peft/tuners/lycoris/layer.js';
import { CONFIG_FILE, readAdapterConfig, WEIGHTS_FILE } from '../peft/files.js';
import { BlobSource, type FileSource } from '../io/index.js';
import { readWholeFile } from '../io/files/read-whole.js';
import { configFromJson } from '../peft/config/make-config.js';
import { isPromptLearning } from '../peft/prompt/method.js';
import { PromptTunerModel } from '../peft/prompt/tuner-model.js';
import { disposeVirtualPrefix, virtualPrefix, type VirtualPrefix } from './virtual-prefix.js';
import { PeftError, type Tensor } from '../tensor/index.js';
import { ServeError } from './errors.js';
import type { Runner } from './engine.js';

/** What a request runs through: the adapter's model tree, its internal name and content hash. */
export interface ResolvedModel {
  runner: Runner;
  routed: boolean;
  /** The adapter's name inside its PeftModel (null for the base). */
  internal: string | null;
  hash: string;
  /** Prompt learning: the virtual tokens in front of each prompt (the runner is the base). */
  virtual: VirtualPrefix | null;
  /** Set for methods that cannot route rows: rows of one adapter run together, with it made active. */
  group: object | null;
  activate: (() => void) | null;
}

interface Resident {
  internal: string;
  tree: PeftModel;
  hash: string;
  bytes: number;
  pins: number;
  lastUsed: number;
  virtual: VirtualPrefix | null;
}

/** Methods whose loading writes into the base weights: they would change every other row's model. */
const UNSERVABLE = new Set(['BITFIT']);
/** Hybrids put a prefix in every attention layer, which cannot differ per row: one adapter per forward. */
const WHOLE_BATCH = new Set(['MAM', 'UNIPELT']);
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface RegistryOptions {
  adapters: ReadonlyMap<string, string>;
  adapterDirs: readonly string[];
  maxAdapterBytes: number;
  /** The base model's name in the API (listed in errors beside the adapters). */
  baseName: string;
}

export class AdapterRegistry {
  private readonly explicit = new Map<string, string>();
  private readonly removed = new Set<string>();
  private readonly roots: string[];
  private readonly resident = new Map<string, Resident>();
  private readonly loading = new Map<string, Promise<Resident>>();
  /** Per method, the module trees its adapters live in (usually one). */
  private readonly trees = new Map<string, PeftModel[]>();
  private nextInternal = 1;
  private get baseName(): string {
    return this.options.baseName;
  }
  private clock = 0;
  loads = 0;
  evictions = 0;

  /** The dtype of the model's activations (prompt-learning tensors are cast to it). */
  dtype: Tensor['dtype'] = 'float32';

  constructor(private readonly base: PretrainedModel, private readonly options: RegistryOptions) {
    this.roots = [...options.adapterDirs, ...options.adapters.values()].map((p) => realpathSync(resolve(p)));
    for (const [name, path] of options.adapters) this.explicit.set(checkName(name), resolve(path));
  }

  /** Every registered adapter name: the named ones and the folders under --adapter-dir. */
  names(): string[] {
    const found = new Set(this.explicit.keys());
    for (const dir of this.options.adapterDirs) {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (NAME.test(entry.name) && existsSync(join(dir, entry.name, CONFIG_FILE))) found.add(entry.name);
      }
    }
    for (const name of this.removed) found.delete(name);
    return [...found].sort();
  }

  /** The folder of adapter `name`, or null when no such adapter is registered. */
  pathOf(name: string): string | null {
    if (!NAME.test(name) || name.includes('..') || this.removed.has(name)) return null;
    const named = this.explicit.get(name);
    if (named !== undefined) return named;
    for (const dir of this.options.adapterDirs) {
      const folder = join(dir, name);
      if (existsSync(join(folder, CONFIG_FILE))) return folder;
    }
    return null;
  }

  get residentCount(): number {
    return this.resident.size;
  }

  get residentBytes(): number {
    return [...this.resident.values()].reduce((s, r) => s + r.bytes, 0);
  }

  /** Loads adapter `name` if needed and pins it until release(); throws ServeError 404/400. */
  async acquire(name: string): Promise<ResolvedModel> {
    const path = this.pathOf(name);
    if (path === null) throw new ServeError(404, `the model '${name}' does not exist; models here: ${[this.baseName, ...this.names()].join(', ')}`, 'model', 'model_not_found');
    let entry = this.resident.get(name);
    if (entry === undefined) {
      let pending = this.loading.get(name);
      if (pending === undefined) {
        pending = this.load(name, path).finally(() => this.loading.delete(name));
        this.loading.set(name, pending);
      }
      entry = await pending;
    }
    entry.pins++;
    entry.lastUsed = ++this.clock;
    const base = { internal: entry.internal, hash: entry.hash, group: null, activate: null };
    if (entry.virtual !== null) return { ...base, runner: this.base, routed: false, virtual: entry.virtual };
    if (WHOLE_BATCH.has(entry.tree.base_model.method.peftType)) {
      const { tree, internal } = entry;
      return { ...base, runner: tree, routed: false, virtual: null, group: entry, activate: () => tree.setAdapter(internal) };
    }
    return { ...base, runner: entry.tree, routed: true, virtual: null };
  }

  release(name: string): void {
    const entry = this.resident.get(name);
    if (entry === undefined) return;
    entry.pins--;
    if (this.removed.has(name) && entry.pins === 0) this.evict(name, entry);
    else this.evictCold();
  }

  /** POST /v1/load_lora_adapter: registers `path` (under a root given at start) as `name` and reads it now. */
  async add(name: string, path: string): Promise<void> {
    checkName(name);
    if (this.pathOf(name) !== null) throw new ServeError(400, `an adapter named '${name}' is already registered; unload it first or pick another name`, 'lora_name');
    const folder = this.underRoots(path);
    this.explicit.set(name, folder);
    this.removed.delete(name);
    try {
      await this.acquire(name);
      this.release(name);
    } catch (error) {
      this.explicit.delete(name);
      throw error;
    }
  }

  /** POST /v1/unload_lora_adapter: forgets `name` (freed once no request uses it). */
  remove(name: string): void {
    if (this.pathOf(name) === null) throw new ServeError(404, `no adapter named '${name}' is registered; adapters here: ${this.names().join(', ') || '(none)'}`, 'lora_name', 'model_not_found');
    this.explicit.delete(name);
    this.removed.add(name);
    const entry = this.resident.get(name);
    if (entry !== undefined && entry.pins === 0) this.evict(name, entry);
  }

  private underRoots(path: string): string {
    if (typeof path !== 'string' || path.length === 0 || path.includes('\0')) throw new ServeError(400, 'lora_path must be a folder path', 'lora_path');
    const full = resolve(path);
    const real = existsSync(full) ? realpathSync(full) : null;
    const inside = (root: string) => real !== null && (real === root || (!relative(root, real).startsWith('..') && !isAbsolute(relative(root, real))));
    if (real === null || !this.roots.some(inside)) {
      throw new ServeError(400, `lora_path '${path}' is not a folder under the adapter roots given at start (${this.roots.join(', ') || 'none: start with --adapter-dir'})`, 'lora_path');
    }
    if (!statSync(real).isDirectory() || !existsSync(join(real, CONFIG_FILE))) throw new ServeError(400, `lora_path '${path}' holds no adapter_config.json`, 'lora_path');
    return real;
  }

  /**
   * Reads the adapter's two files once: the content hash and the adapter's layers come from the
   * same bytes, and the layers are built without drawing initial values (the file sets them all).
   * (WebCrypto's digest was tried to hash off the main thread: its synchronous part alone took
   * longer than createHash's whole hash of a 9.4 MB file.)
   */
  private async load(name: string, path: string): Promise<Resident> {
    const [configBytes, weightBytes] = await Promise.all([readWholeFile(join(path, CONFIG_FILE)), readWholeFile(join(path, WEIGHTS_FILE)).catch(() => null)]);
    if (weightBytes === null) throw new ServeError(400, `adapter '${name}' has no ${WEIGHTS_FILE} in ${path}`, 'model');
    const hash = createHash('sha256').update(configBytes).update(weightBytes).digest('hex');
    const files = new BlobSource(new Map([[CONFIG_FILE, configBytes], [WEIGHTS_FILE, weightBytes]]), path);
    const peftType = await this.methodOf(name, files);
    const internal = `a${this.nextInternal++}`;
    const tree = await this.treeFor(peftType, name, files, internal);
    tree.eval();
    // Served weights never change once loaded: DoRA's weight norms are computed once, not per step,
    // and LoHa's and LoKr's ΔW are built now (counted in the adapter's resident bytes).
    let kept = 0;
    for (const [, m] of tree.namedModules()) {
      if (m instanceof LoraLinear) m.cacheDoraNorms = true;
      if (m instanceof LycorisLayer) kept += m.keepDeltas();
    }
    this.loads++;
    const prompt = tree.base_model instanceof PromptTunerModel ? virtualPrefix(tree.base_model, internal, this.dtype) : null;
    const entry: Resident = { internal, tree, hash, bytes: weightBytes.length + kept, pins: 0, lastUsed: ++this.clock, virtual: prompt };
    this.resident.set(name, entry);
    this.evictCold(name);
    return entry;
  }

  /**
   * Loads the adapter into a tree of its method that takes it (a bottleneck adapter of another
   * kind, say, cannot join some), else into a new tree. An error of the new tree is the answer.
   */
  private async treeFor(peftType: string, name: string, files: FileSource, internal: string): Promise<PeftModel> {
    const trees = this.trees.get(peftType) ?? [];
    this.trees.set(peftType, trees);
    for (const tree of trees) {
      try {
        await tree.loadAdapter(files, internal, { lowCpuMemUsage: true });
        return tree;
      } catch (error) {
        if (!(error instanceof PeftError)) throw error;
      }
    }
    try {
      const tree = await PeftModel.fromPretrained(cloneModule(this.base, { shareTensors: true }), files, { adapterName: internal, lowCpuMemUsage: true });
      trees.push(tree);
      return tree;
    } catch (error) {
      if (error instanceof PeftError) throw new ServeError(400, `adapter '${name}' does not fit this base model: ${error.message}`, 'model', 'adapter_mismatch');
      throw error;
    }
  }

  private async methodOf(name: string, files: FileSource): Promise<string> {
    try {
      const { method, config } = configFromJson(await readAdapterConfig(files), files.describe(CONFIG_FILE));
      if (config.bias !== undefined && config.bias !== 'none') {
        throw new ServeError(400, `adapter '${name}' trains the base layers' biases (bias '${config.bias}'), which every other request shares; merge it into a model folder and serve that`, 'model', 'unsupported_adapter');
      }
      if (UNSERVABLE.has(method.peftType)) throw new ServeError(400, `adapter '${name}' is ${method.peftType}, which changes the base weights themselves; merge it into a model folder and serve that`, 'model');
      if (isPromptLearning(method) && config.taskType !== 'CAUSAL_LM') throw new ServeError(400, `adapter '${name}' is a ${method.peftType} adapter for ${config.taskType ?? 'no task'}; only CAUSAL_LM prompt-learning adapters generate text`, 'model');
      return method.peftType;
    } catch (error) {
      if (error instanceof PeftError) throw new ServeError(400, `adapter '${name}': ${error.message}`, 'model');
      throw error;
    }
  }

  /** Evicts unpinned adapters, least recently used first, until the resident ones fit the budget. */
  private evictCold(keep?: string): void {
    const cold = [...this.resident].filter(([n, r]) => r.pins === 0 && n !== keep).sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [name, entry] of cold) {
      if (this.residentBytes <= this.options.maxAdapterBytes) return;
      this.evict(name, entry);
    }
  }

  private evict(name: string, entry: Resident): void {
    entry.tree.deleteAdapter(entry.internal);
    if (entry.virtual !== null) disposeVirtualPrefix(entry.virtual);
    this.resident.delete(name);
    this.evictions++;
  }
}

function checkName(name: string): string {
  if (typeof name !== 'string' || !NAME.test(name) || name.includes('..')) {
    throw new ServeError(400, `adapter name ${JSON.stringify(name)} is not valid: use letters, digits, '.', '_' and '-' (no '..', no '/'), at most 128 characters`, 'lora_name');
  }
  return name;
}
