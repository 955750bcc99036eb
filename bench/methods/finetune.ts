// Stage 2 for one method: load the pretrained checkpoint as a sequence classifier (fresh pooler and
// classifier, reported by the loader), wrap it with the method, train, and test on held-out mails.
// Memory: the process's RSS and the engine's live tensor bytes, both sampled after every forward
// pass (when the activations that backward needs are all alive), kept at their maximum.
import {
  ExampleDataset, Trainer, getPeftModel, loadPretrained, manualSeed, memoryStats, type Batch, type Example, type IndexedBatches, type Module, type TrainableModel,
} from '../../src/index.js';
import { missingPlugin, type MethodContext, type MethodSpec } from '../../src/quickstart/methods.js';

export interface FinetuneSettings {
  batchSize: number;
  epochs: number;
  /** Optimizer steps instead of epochs (the quick mode's single steps). */
  maxSteps?: number;
  seed: number;
  virtualTokens: number;
  padTokenId: number;
}

export interface FinetuneData {
  train: readonly Example[];
  test: readonly Example[];
}

/**
 * One method's row of the comparison. A method that did not run says why in `reason`: skipped (its
 * plug-in is not in this build), unsupported (the plug-in refused this model or these options),
 * failed (an error while training or testing).
 */
export interface MethodResult {
  method: string;
  family: string;
  status: 'ok' | 'skipped' | 'unsupported' | 'failed';
  reason?: string;
  lr?: number;
  steps?: number;
  trainableParams?: number;
  totalParams?: number;
  trainablePct?: number;
  accuracy?: number;
  /** F1 of the spam class. */
  f1?: number;
  evalLoss?: number;
  trainLoss?: number;
  secondsPerEpoch?: number;
  peakRssMB?: number;
  peakTensorMB?: number;
  /** Parameters the checkpoint lacked, initialised by the loader. */
  freshParameters?: string[];
}

const MB = 1024 * 1024;

/** Counts what trains, as HF PEFT's get_nb_trainable_parameters (the total includes the adapters). */
function parameterCounts(model: Module): { trainable: number; total: number } {
  const params = model.parameters();
  return { trainable: params.filter((p) => p.requiresGrad).reduce((n, p) => n + p.size, 0), total: params.reduce((n, p) => n + p.size, 0) };
}

/** Makes `model.forward` record the peak RSS and live tensor bytes after each call. */
function trackMemory(model: TrainableModel): { rss: number; tensors: number } {
  const peak = { rss: 0, tensors: 0 };
  const forward = model.forward.bind(model);
  model.forward = (batch) => {
    const out = forward(batch);
    peak.rss = Math.max(peak.rss, process.memoryUsage().rss);
    peak.tensors = Math.max(peak.tensors, memoryStats().liveBytes);
    return out;
  };
  return peak;
}

export async function finetuneMethod(method: MethodSpec, checkpointDir: string, data: FinetuneData, settings: FinetuneSettings): Promise<MethodResult> {
  const row: MethodResult = { method: method.name, family: method.family, status: 'ok', lr: method.lr };
  const missing = missingPlugin(method);
  if (missing !== null) return { ...row, status: 'skipped', reason: missing };
  const batches = (examples: readonly Example[]) => new ExampleDataset(examples, { padTokenId: settings.padTokenId }).batches(settings.batchSize) as IndexedBatches<Batch>;
  const trainSet = batches(data.train);
  const testSet = batches(data.test);
  const totalSteps = settings.maxSteps ?? trainSet.length * settings.epochs;
  const context: MethodContext = { totalSteps, virtualTokens: settings.virtualTokens };
  manualSeed(settings.seed); // the same fresh head for every method
  const { model, newlyInitialized } = await loadPretrained(checkpointDir, 'sequence-classification', { numLabels: 2, logger: { warn: () => {} } });
  let trained: TrainableModel;
  try {
    trained = method.options ? getPeftModel(model, method.options(context)) : (model as TrainableModel);
  } catch (error) {
    return { ...row, status: 'unsupported', reason: describe(error) };
  }
  try {
    const { trainable, total } = parameterCounts(trained);
    const peak = trackMemory(trained);
    const trainer = new Trainer({
      model: trained,
      trainDataset: trainSet,
      args: { epochs: settings.epochs, maxSteps: settings.maxSteps, lr: method.lr, warmupRatio: 0.06, seed: settings.seed, loggingSteps: 1000 },
    });
    const start = performance.now();
    const { globalStep, trainLoss } = await trainer.train();
    const seconds = (performance.now() - start) / 1000;
    const metrics = await trainer.evaluate(testSet);
    return {
      ...row, steps: globalStep, trainableParams: trainable, totalParams: total, trainablePct: (100 * trainable) / total,
      accuracy: metrics.evalAccuracy, f1: metrics.evalF1, evalLoss: metrics.evalLoss, trainLoss,
      secondsPerEpoch: seconds / (globalStep / trainSet.length), peakRssMB: peak.rss / MB, peakTensorMB: peak.tensors / MB,
      freshParameters: newlyInitialized,
    };
  } catch (error) {
    return { ...row, status: 'failed', reason: describe(error) };
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
