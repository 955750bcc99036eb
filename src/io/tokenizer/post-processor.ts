// tokenizer.json's post_processor, applied to token ids as the `tokenizers` library does: special tokens around
// one sequence or a pair, and the token type ids of each position.
import { TokenizerError } from './errors.js';

/** A piece of an encoding: ids and the type id of each. */
export interface Segment {
  ids: number[];
  typeIds: number[];
}

export interface PostProcessor {
  /** How many special tokens it adds to one sequence (or to a pair). */
  addedTokens(isPair: boolean): number;
  /** The raw segments (the first, and the pair if any) with special tokens added. */
  process(segments: Segment[], addSpecialTokens: boolean): Segment[];
}

type Piece = { SpecialToken: { id: string; type_id: number } } | { Sequence: { id: 'A' | 'B'; type_id: number } };
interface ProcessorJSON {
  type?: string;
  single?: Piece[];
  pair?: Piece[];
  special_tokens?: Record<string, { ids: number[] }>;
  sep?: [string, number];
  cls?: [string, number];
  processors?: ProcessorJSON[];
}

const fill = (ids: number[], typeId: number): Segment => ({ ids, typeIds: ids.map(() => typeId) });

/** `$A` / `$B` and named special tokens, each with its type id ("[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1"). */
function templateProcessing(json: ProcessorJSON): PostProcessor {
  const specialIds = (id: string): number[] => {
    const ids = json.special_tokens?.[id]?.ids;
    if (!ids) throw new TokenizerError('E_TOKENIZER_FILE', `tokenizer.json: TemplateProcessing uses special token ${id}, which its special_tokens do not define`);
    return ids;
  };
  const template = (isPair: boolean): Piece[] => (isPair ? json.pair : json.single) ?? [];
  return {
    addedTokens: (isPair) =>
      template(isPair).reduce((n, piece) => n + ('SpecialToken' in piece ? specialIds(piece.SpecialToken.id).length : 0), 0),
    process: (segments, addSpecialTokens) =>
      template(segments.length === 2).flatMap((piece): Segment[] => {
        if ('Sequence' in piece) return [fill(segments[piece.Sequence.id === 'A' ? 0 : 1]!.ids, piece.Sequence.type_id)];
        return addSpecialTokens ? [fill(specialIds(piece.SpecialToken.id), piece.SpecialToken.type_id)] : [];
      }),
  };
}

/** BERT: [CLS] A [SEP] (type 0) B [SEP] (type 1). */
function bertProcessing(json: ProcessorJSON): PostProcessor {
  const [cls, sep] = [json.cls![1], json.sep![1]];
  return {
    addedTokens: (isPair) => (isPair ? 3 : 2),
    process: (segments, addSpecialTokens) =>
      !addSpecialTokens ? segments : segments.map((s, i) => (i === 0 ? fill([cls, ...s.ids, sep], 0) : fill([...s.ids, sep], 1))),
  };
}

/** RoBERTa: <s> A </s> </s> B </s>, every type id 0. */
function robertaProcessing(json: ProcessorJSON): PostProcessor {
  const [cls, sep] = [json.cls![1], json.sep![1]];
  return {
    addedTokens: (isPair) => (isPair ? 4 : 2),
    process: (segments, addSpecialTokens) =>
      segments.map((s, i) => fill(!addSpecialTokens ? s.ids : i === 0 ? [cls, ...s.ids, sep] : [sep, ...s.ids, sep], 0)),
  };
}

/** No post-processor, or ByteLevel (which only trims offsets): the sequences as they are. */
const identity: PostProcessor = { addedTokens: () => 0, process: (segments) => segments };

function sequence(json: ProcessorJSON): PostProcessor {
  const steps = (json.processors ?? []).map(postProcessorFromJSON);
  return {
    addedTokens: (isPair) => steps.reduce((n, step) => n + step.addedTokens(isPair), 0),
    process: (segments, addSpecialTokens) => steps.reduce((s, step) => step.process(s, addSpecialTokens), segments),
  };
}

export function postProcessorFromJSON(value: unknown): PostProcessor {
  if (value === null || value === undefined) return identity;
  const json = value as ProcessorJSON;
  switch (json.type) {
    case 'TemplateProcessing':
      return templateProcessing(json);
    case 'BertProcessing':
      return bertProcessing(json);
    case 'RobertaProcessing':
      return robertaProcessing(json);
    case 'ByteLevel':
      return identity;
    case 'Sequence':
      return sequence(json);
    default:
      throw new TokenizerError('E_TOKENIZER_FILE', `tokenizer.json: post_processor type ${JSON.stringify(json.type)} is not supported (supported: TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence)`);
  }
}

/** The raw encodings before post-processing: the first sequence has type id 0, the pair type id 1. */
export function rawSegments(a: number[], b: number[] | null): Segment[] {
  return b === null ? [fill(a, 0)] : [fill(a, 0), fill(b, 1)];
}

export function merge(segments: Segment[]): Segment {
  return { ids: segments.flatMap((s) => s.ids), typeIds: segments.flatMap((s) => s.typeIds) };
}
