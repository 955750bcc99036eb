// A strict JSON parser for safetensors headers. Unlike JSON.parse it rejects duplicate keys (a
// header naming a tensor twice is ambiguous) and lone surrogates (as the reference reader does),
// keeps integers exact (as bigint: offsets and shapes may exceed 2^53), and bounds nesting depth
// so hostile input cannot overflow the stack.

export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | JsonObject;
/** Objects are Maps: no prototype keys, insertion order kept. */
export type JsonObject = Map<string, JsonValue>;

/** Malformed JSON; `position` is the character index where parsing stopped. */
export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(`${message} at character ${position}`);
  }
}

/** A header is at most 3 levels deep (object, tensor entry, shape); anything deeper is hostile. */
const MAX_DEPTH = 16;
/** Digits of the largest u64: longer integers cannot be offsets or sizes, and stay plain numbers. */
const MAX_INTEGER_DIGITS = 20;

const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
const HEX4 = /^[0-9a-fA-F]{4}$/;
/** A UTF-16 surrogate outside a pair (only \u escapes can produce one; UTF-8 text cannot). */
const LONE_SURROGATE = /\p{Cs}/u;
const LITERALS: [string, boolean | null][] = [
  ['true', true],
  ['false', false],
  ['null', null],
];

/** Parses `text`: integer literals of up to 20 digits become bigint, other numbers number, objects Map. */
export function parseStrictJson(text: string): JsonValue {
  let pos = 0;

  const fail = (message: string): never => {
    throw new JsonSyntaxError(message, pos);
  };

  const skipSpace = (): void => {
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      pos++;
    }
  };

  const parseLiteral = (): boolean | null => {
    for (const [word, value] of LITERALS) {
      if (text.startsWith(word, pos)) {
        pos += word.length;
        return value;
      }
    }
    return fail('unexpected character');
  };

  const parseString = (): string => {
    pos++; // opening quote
    let out = '';
    let start = pos;
    let escapedUnit = false;
    for (;;) {
      if (pos >= text.length) fail('unterminated string');
      const c = text.charCodeAt(pos);
      if (c === 0x22) break;
      if (c < 0x20) fail('control character in string');
      if (c !== 0x5c) {
        pos++;
        continue;
      }
      out += text.slice(start, pos);
      const e = text[pos + 1];
      if (e === 'u') {
        const hex = text.slice(pos + 2, pos + 6);
        if (!HEX4.test(hex)) fail('bad \\u escape');
        out += String.fromCharCode(parseInt(hex, 16));
        escapedUnit = true;
        pos += 6;
      } else if (e !== undefined && Object.hasOwn(ESCAPES, e)) {
        out += ESCAPES[e];
        pos += 2;
      } else {
        fail('bad escape');
      }
      start = pos;
    }
    out += text.slice(start, pos);
    if (escapedUnit && LONE_SURROGATE.test(out)) fail('lone surrogate in string');
    pos++; // closing quote
    return out;
  };

  const parseNumber = (): number | bigint => {
    NUMBER.lastIndex = pos;
    const match = NUMBER.exec(text);
    if (match === null) return fail('unexpected character');
    pos += match[0].length;
    const isInteger = match[1] === undefined && match[2] === undefined;
    return isInteger && match[0].replace('-', '').length <= MAX_INTEGER_DIGITS ? BigInt(match[0]) : Number(match[0]);
  };

  const parseValue = (depth: number): JsonValue => {
    if (depth > MAX_DEPTH) fail('nesting too deep');
    skipSpace();
    const c = text[pos];
    if (c === '{') return parseObject(depth);
    if (c === '[') return parseArray(depth);
    if (c === '"') return parseString();
    if (c === 't' || c === 'f' || c === 'n') return parseLiteral();
    if (c === undefined) return fail('unexpected end of input');
    return parseNumber();
  };

  const parseArray = (depth: number): JsonValue[] => {
    pos++;
    const out: JsonValue[] = [];
    skipSpace();
    if (text[pos] === ']') {
      pos++;
      return out;
    }
    for (;;) {
      out.push(parseValue(depth + 1));
      skipSpace();
      const c = text[pos++];
      if (c === ']') return out;
      if (c !== ',') fail("expected ',' or ']'");
    }
  };

  const parseObject = (depth: number): JsonObject => {
    pos++;
    const out: JsonObject = new Map();
    skipSpace();
    if (text[pos] === '}') {
      pos++;
      return out;
    }
    for (;;) {
      skipSpace();
      if (text[pos] !== '"') fail('expected a string key');
      const keyAt = pos;
      const key = parseString();
      if (out.has(key)) {
        pos = keyAt;
        fail(`duplicate key ${JSON.stringify(key)}`);
      }
      skipSpace();
      if (text[pos++] !== ':') fail("expected ':'");
      out.set(key, parseValue(depth + 1));
      skipSpace();
      const c = text[pos++];
      if (c === '}') return out;
      if (c !== ',') fail("expected ',' or '}'");
    }
  };

  const value = parseValue(0);
  skipSpace();
  if (pos < text.length) fail('unexpected text after the JSON value');
  return value;
}
