// JSON as Python's json.dumps(value, indent=2, sort_keys=True) writes it, so the config files we
// write are byte-identical to HF's (adapter_config.json by PEFT, config.json by transformers).

/** `value` with every object's keys sorted, recursively (Python's sort_keys order). */
export function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortKeysDeep((value as Record<string, unknown>)[k])]),
  );
}

/** Two-space indented JSON with sorted keys. */
export function sortedJsonText(value: unknown): string {
  return JSON.stringify(sortKeysDeep(value), null, 2);
}
