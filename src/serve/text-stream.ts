// Incremental detokenization with stop strings: the output text is decoded as tokens come, and
// text is held back while it could still become a stop string (or ends in an unfinished
// multi-byte character), so that no client ever sees text a stop string later removes.
export interface Detokenizer {
  decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string;
}

export class TextStream {
  private readonly output: number[] = [];
  private emitted = 0;
  /** The full output text (up to a stop string) once finished. */
  text = '';
  stopped = false;

  constructor(private readonly tokenizer: Detokenizer | null, private readonly stops: readonly string[]) {}

  /** Adds a token; returns the text now safe to show, and whether a stop string was reached. */
  push(token: number): { delta: string; stopped: boolean } {
    if (this.tokenizer === null) return { delta: '', stopped: false };
    this.output.push(token);
    let text = this.tokenizer.decode(this.output, { skipSpecialTokens: true });
    let hold = text.endsWith('\uFFFD') ? 1 : 0;
    for (const stop of this.stops) {
      const at = text.indexOf(stop, Math.max(0, this.emitted - stop.length + 1));
      if (at >= 0) {
        text = text.slice(0, at);
        this.stopped = true;
        hold = 0;
      }
    }
    if (!this.stopped) hold = Math.max(hold, ...this.stops.map((s) => partialSuffix(text, s)));
    this.text = text;
    return { delta: this.take(text.length - hold), stopped: this.stopped };
  }

  /** The text held back, released when the sequence ends without a stop string. */
  flush(): string {
    return this.take(this.text.length);
  }

  private take(upTo: number): string {
    if (upTo <= this.emitted) return '';
    const delta = this.text.slice(this.emitted, upTo);
    this.emitted = upTo;
    return delta;
  }
}

/** The length of the longest end of `text` that begins `stop` (and is shorter than it). */
function partialSuffix(text: string, stop: string): number {
  for (let n = Math.min(stop.length - 1, text.length); n > 0; n--) if (text.endsWith(stop.slice(0, n))) return n;
  return 0;
}
