// Chat: messages rendered with the tokenizer's chat template; the loss is taken on the
// assistant's messages only. Each assistant span is found by rendering the conversation up to it
// (with the generation prompt) and up to its end: the template's text between the two is the
// reply, and must extend the text before it (templates that rewrite earlier turns cannot be masked).
import type { ChatMessage, PreTrainedTokenizer } from '../../../io/tokenizer/index.js';
import type { Example } from '../example.js';
import { RowProblem } from './fields.js';
import { maskedExample } from './instruction.js';
import { fieldName, type DataOptions } from './options.js';

export function chatExample(values: Record<string, unknown>, tokenizer: PreTrainedTokenizer, options: DataOptions): Example {
  const name = fieldName(options, 'messages', 'messages');
  const messages = checkMessages(values[name], name);
  const render = (upTo: number, addGenerationPrompt: boolean) =>
    tokenizer.applyChatTemplate(messages.slice(0, upTo), { tokenize: false, addGenerationPrompt });
  const segments: [string, boolean][] = [];
  let done = '';
  messages.forEach((message, i) => {
    if (message.role !== 'assistant') return;
    const before = render(i, true);
    const after = render(i + 1, false);
    if (!before.startsWith(done) || !after.startsWith(before)) {
      throw new RowProblem(`the chat template does not render message ${i} as an extension of the messages before it, so its reply cannot be masked`);
    }
    segments.push([before.slice(done.length), false], [after.slice(before.length), true]);
    done = after;
  });
  const full = render(messages.length, false);
  if (!full.startsWith(done)) throw new RowProblem('the chat template renders the whole conversation differently from its parts');
  segments.push([full.slice(done.length), false]);
  if (!segments.some(([, trained]) => trained)) throw new RowProblem(`'${name}' has no assistant message to learn from`);
  const encode = (text: string) => (text === '' ? [] : tokenizer.encode(text, { addSpecialTokens: false }));
  return maskedExample(segments.map(([text, trained]) => [encode(text), trained] as const), options.maxLength);
}

function checkMessages(value: unknown, name: string): ChatMessage[] {
  if (!Array.isArray(value) || value.length === 0) throw new RowProblem(`'${name}' must be a non-empty list of { role, content }`);
  value.forEach((m, i) => {
    const message = m as Record<string, unknown> | null;
    if (typeof message?.role !== 'string' || typeof message.content !== 'string') {
      throw new RowProblem(`'${name}[${i}]' must be { role: string, content: string }`);
    }
  });
  return value as ChatMessage[];
}
