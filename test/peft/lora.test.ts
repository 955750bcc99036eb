// Parity with HF PEFT for LoRA and its variants on every architecture that has a fixture:
// logits, loss, gradients, eval logits, generation, saved files, parameter counts, merging.
import { parityTests } from '../helpers/peft-parity.js';

parityTests(['lora', 'lora_rslora', 'lora_dora', 'lora_bias', 'lora_patterns']);
