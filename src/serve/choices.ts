// One API request as engine sequences: each prompt × n choices becomes a sequence; their output
// is gathered per choice (text, token ids, logprobs, finish reason) and can be streamed as it
// comes. Cancelling (the client went away) stops every sequence and frees its blocks.
import type { Service } from './service.js';
import type { SamplingParams } from './sampling-params.js';
import type { FinishReason, Sequence } from './sequence.js';
import type { TokenLogprob } from './sampler.js';

export interface Choice {
  index: number;
  promptTokens: readonly number[];
  text: string;
  tokens: number[];
  logprobs: TokenLogprob[];
  finishReason: FinishReason | null;
}

/** A piece of one choice's output, as it is produced (finishReason set on its last piece). */
export interface ChoiceDelta {
  index: number;
  text: string;
  tokens: number[];
  logprobs: TokenLogprob[];
  finishReason: FinishReason | null;
}

export class ChoiceRun {
  readonly choices: Choice[];
  private readonly sequences: Sequence[] = [];
  private left: number;
  private resolveDone!: () => void;
  readonly done = new Promise<void>((resolve) => (this.resolveDone = resolve));
  onDelta: (delta: ChoiceDelta) => void = () => {};

  private constructor(prompts: readonly (readonly number[])[], n: number) {
    this.choices = prompts.flatMap((p) => Array.from({ length: n }, () => p)).map((promptTokens, index) => ({ index, promptTokens, text: '', tokens: [], logprobs: [], finishReason: null }));
    this.left = this.choices.length;
  }

  /** Submits every choice; on an error none is left running. */
  static async start(service: Service, model: string, prompts: readonly (readonly number[])[], n: number, params: SamplingParams): Promise<ChoiceRun> {
    const run = new ChoiceRun(prompts, n);
    try {
      for (const choice of run.choices) {
        const j = choice.index % n;
        const seed = params.seed === null ? null : params.seed + j;
        run.sequences.push(await service.submit(model, choice.promptTokens, { ...params, seed }, {
          onOutput: (tokens, text, logprobs) => {
            choice.tokens.push(...tokens);
            choice.text += text;
            choice.logprobs.push(...logprobs);
            run.onDelta({ index: choice.index, text, tokens, logprobs, finishReason: null });
          },
          onFinish: (reason) => {
            choice.finishReason = reason;
            run.onDelta({ index: choice.index, text: '', tokens: [], logprobs: [], finishReason: reason });
            if (--run.left === 0) run.resolveDone();
          },
        }));
      }
    } catch (error) {
      run.cancel(service);
      throw error;
    }
    return run;
  }

  get promptTokens(): number {
    return this.choices.filter((c) => c.index === 0 || c.promptTokens !== this.choices[c.index - 1]!.promptTokens).reduce((s, c) => s + c.promptTokens.length, 0);
  }

  get completionTokens(): number {
    return this.choices.reduce((s, c) => s + c.tokens.length, 0);
  }

  cancel(service: Service): void {
    for (const seq of this.sequences) service.engine.cancel(seq);
  }
}
