// The initialisers LoHa and LoKr draw their factors with (HF calls torch's initialisers directly).
import { Parameter, init } from '../../../nn/index.js';

/** torch's kaiming_uniform_(a=√5) of a 2-D [rows, cols] tensor: U(−1/√cols, 1/√cols). */
export function kaimingParameter(rows: number, cols: number): Parameter {
  return new Parameter(init.uniform([rows, cols], 1 / Math.sqrt(cols)));
}

export function zeroParameter(rows: number, cols: number): Parameter {
  return new Parameter(init.zeros([rows, cols]));
}
