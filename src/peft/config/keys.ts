// The one mapping between camelCase options and adapter_config.json's snake_case keys.

/** camelCase → snake_case, the rule for every key that has no exception in `overrides`. */
export function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** Options (camelCase, as TypeScript users write them) → JSON keys. Values are kept as given. */
export function optionsToJson(options: Record<string, unknown>, overrides: Record<string, string> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) out[overrides[key] ?? snakeCase(key)] = value;
  }
  return out;
}
