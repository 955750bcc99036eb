// Counters and histograms for /metrics, written in Prometheus' text format (version 0.0.4).
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

class Histogram {
  readonly counts = new Array<number>(LATENCY_BUCKETS.length).fill(0);
  sum = 0;
  count = 0;

  observe(seconds: number): void {
    this.sum += seconds;
    this.count++;
    LATENCY_BUCKETS.forEach((le, i) => {
      if (seconds <= le) this.counts[i]!++;
    });
  }

  lines(name: string): string[] {
    return [
      ...LATENCY_BUCKETS.map((le, i) => `${name}_bucket{le="${le}"} ${this.counts[i]}`),
      `${name}_bucket{le="+Inf"} ${this.count}`,
      `${name}_sum ${this.sum}`,
      `${name}_count ${this.count}`,
    ];
  }
}

/** Gauges read when /metrics is asked for. */
export interface GaugeSource {
  waiting(): number;
  running(): number;
  kvBlocksInUse(): number;
  kvBlocksTotal(): number;
  adaptersResident(): number;
  preemptions(): number;
}

export class Metrics {
  private readonly requests = new Map<string, Map<string, number>>();
  private readonly promptTokens = new Map<string, number>();
  private readonly generationTokens = new Map<string, number>();
  readonly ttft = new Histogram();
  readonly itl = new Histogram();

  /** A request that ended, by model (base or adapter name) and finish reason (stop, length, abort, error). */
  requestDone(model: string, reason: string): void {
    const byReason = this.requests.get(model) ?? new Map<string, number>();
    byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
    this.requests.set(model, byReason);
  }

  tokens(model: string, prompt: number, generated: number): void {
    this.promptTokens.set(model, (this.promptTokens.get(model) ?? 0) + prompt);
    this.generationTokens.set(model, (this.generationTokens.get(model) ?? 0) + generated);
  }

  render(g: GaugeSource): string {
    const lines: string[] = [];
    const family = (name: string, type: string, help: string, body: string[]) => lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...body);
    const label = (s: string) => s.replace(/["\\\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
    family('peft_requests_total', 'counter', 'Requests finished, by model and finish reason.',
      [...this.requests].flatMap(([m, byReason]) => [...byReason].map(([r, n]) => `peft_requests_total{model="${label(m)}",finish_reason="${r}"} ${n}`)));
    family('peft_prompt_tokens_total', 'counter', 'Prompt tokens of finished requests, by model.',
      [...this.promptTokens].map(([m, n]) => `peft_prompt_tokens_total{model="${label(m)}"} ${n}`));
    family('peft_generation_tokens_total', 'counter', 'Generated tokens, by model.',
      [...this.generationTokens].map(([m, n]) => `peft_generation_tokens_total{model="${label(m)}"} ${n}`));
    family('peft_num_requests_waiting', 'gauge', 'Sequences waiting (the queue).', [`peft_num_requests_waiting ${g.waiting()}`]);
    family('peft_num_requests_running', 'gauge', 'Sequences in the running batch.', [`peft_num_requests_running ${g.running()}`]);
    family('peft_kv_blocks_in_use', 'gauge', 'KV cache blocks held by sequences.', [`peft_kv_blocks_in_use ${g.kvBlocksInUse()}`]);
    family('peft_kv_blocks_total', 'gauge', 'KV cache blocks in the pool.', [`peft_kv_blocks_total ${g.kvBlocksTotal()}`]);
    family('peft_adapters_resident', 'gauge', 'Adapters loaded in memory.', [`peft_adapters_resident ${g.adaptersResident()}`]);
    family('peft_preemptions_total', 'counter', 'Sequences preempted (recomputed later) because the KV cache was full.', [`peft_preemptions_total ${g.preemptions()}`]);
    family('peft_time_to_first_token_seconds', 'histogram', 'Time from arrival to the first generated token.', this.ttft.lines('peft_time_to_first_token_seconds'));
    family('peft_inter_token_latency_seconds', 'histogram', 'Time between consecutive generated tokens of a request.', this.itl.lines('peft_inter_token_latency_seconds'));
    return `${lines.join('\n')}\n`;
  }
}
