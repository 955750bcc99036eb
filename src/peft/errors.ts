// Typed errors of the PEFT layer. Each names the bad value and the fix; none leaves the base model changed.
import { PeftError } from '../tensor/index.js';

/** An adapter config (options or adapter_config.json) with a bad or unsupported value. */
export class PeftConfigError extends PeftError {
  constructor(message: string) {
    super('E_PEFT_CONFIG', message);
  }
}

/** target_modules (or a pattern) that selects nothing, or something that cannot be adapted. */
export class TargetModulesError extends PeftError {
  constructor(message: string) {
    super('E_TARGET_MODULES', message);
  }
}

/** An adapter name that does not exist (or already exists). */
export class AdapterNameError extends PeftError {
  constructor(message: string) {
    super('E_ADAPTER_NAME', message);
  }
}

/** Adapter weights that do not fit the model: wrong shapes, missing or extra tensors, another architecture. */
export class AdapterWeightsError extends PeftError {
  constructor(message: string) {
    super('E_ADAPTER_WEIGHTS', message);
  }
}
