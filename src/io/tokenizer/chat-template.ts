// Chat templates: picking one and rendering it with Jinja exactly as transformers' apply_chat_template does
// (trim_blocks and lstrip_blocks on, raise_exception, strftime_now, tojson without HTML escaping).
import { Template } from '@huggingface/jinja';
import { TokenizerError } from './errors.js';
import type { ChatTemplates } from './config.js';

/** A chat message: a role, its content (text, or a list of content blocks), and anything else a template reads. */
export interface ChatMessage {
  role: string;
  content?: unknown;
  [key: string]: unknown;
}

export interface RenderChatOptions {
  addGenerationPrompt: boolean;
  /** Leave the last message open for the model to continue; a string names the field to continue. */
  continueFinalMessage: boolean | string;
  tools: readonly object[] | null;
  documents: readonly object[] | null;
  /** The special tokens map and the caller's extra variables (which win). */
  variables: Record<string, unknown>;
}

/**
 * The template to use: `requested` names one of the tokenizer's templates or is a template itself; without it,
 * "tool_use" when tools are given and the tokenizer has one, else "default".
 */
export function selectChatTemplate(templates: ChatTemplates | null, requested: string | undefined, hasTools: boolean): string {
  if (templates !== null && typeof templates === 'object') {
    if (requested !== undefined) return templates[requested] ?? requested;
    const name = hasTools && 'tool_use' in templates ? 'tool_use' : 'default';
    const template = templates[name];
    if (template === undefined) {
      throw new TokenizerError('E_NO_CHAT_TEMPLATE', `this tokenizer has several chat templates and none is named "default"; pass { chatTemplate: name } with one of ${Object.keys(templates).sort().join(', ')}`);
    }
    return template;
  }
  const template = requested ?? templates;
  if (template === null) {
    throw new TokenizerError(
      'E_NO_CHAT_TEMPLATE',
      'this tokenizer has no chat_template (neither tokenizer_config.json nor chat_template.jinja defines one); ' +
        "pass one with applyChatTemplate(messages, { chatTemplate: '{% for m in messages %}...{% endfor %}' }) or set tokenizer.chatTemplate",
    );
  }
  return template;
}

// Parsed templates, kept for reuse; bounded because callers may pass a new template on every call.
const compiled = new Map<string, Template>();
const MAX_COMPILED = 32;

function compile(template: string): Template {
  let parsed = compiled.get(template);
  if (parsed === undefined) {
    parsed = attempt(() => new Template(template));
    if (compiled.size >= MAX_COMPILED) compiled.clear();
    compiled.set(template, parsed);
  }
  return parsed;
}

function attempt<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    throw new TokenizerError('E_CHAT_TEMPLATE', `the chat template failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

// transformers marks the end of the message to continue with this tag, renders, and cuts the text at the tag.
const CONTINUE_TAG = 'CONTINUE_FINAL_MESSAGE_TAG ';

/** Appends the tag to the last message's text and returns that text (untagged). */
function tagFinalMessage(messages: ChatMessage[], field: string, template: string): string {
  const last = messages[messages.length - 1]!;
  const final = last[field];
  if (final === undefined || final === null) {
    throw new TokenizerError('E_TOKENIZER_OPTION', `continueFinalMessage is set but the final message has no "${field}" to continue`);
  }
  if (!template.includes(field)) {
    throw new TokenizerError('E_TOKENIZER_OPTION', `continueFinalMessage is set to "${field}" but the chat template never reads that field`);
  }
  if (Array.isArray(final)) {
    const block = [...final].reverse().find((b) => b !== null && typeof b === 'object' && typeof b.text === 'string');
    if (!block) throw new TokenizerError('E_TOKENIZER_OPTION', 'continueFinalMessage is set but the final message has no text block to continue');
    const text = block.text as string;
    block.text = text + CONTINUE_TAG;
    return text;
  }
  last[field] = String(final) + CONTINUE_TAG;
  return String(final);
}

export function renderChatTemplate(template: string, messages: readonly ChatMessage[], options: RenderChatOptions): string {
  const chat = structuredClone(messages) as ChatMessage[];
  const field = options.continueFinalMessage === true ? 'content' : options.continueFinalMessage;
  const final = field === false ? null : tagFinalMessage(chat, field, template);
  const rendered = attempt(() =>
    compile(template).render({
      ...options.variables,
      messages: chat,
      tools: options.tools,
      documents: options.documents,
      add_generation_prompt: options.addGenerationPrompt,
    }),
  );
  if (final === null) return rendered;
  if (!rendered.includes(final.trim()) || !rendered.includes(CONTINUE_TAG.trim())) {
    throw new TokenizerError('E_CHAT_TEMPLATE', `continueFinalMessage is set but the final message does not appear in the rendered chat; the template drops part of it. Final message: ${final.trim()}`);
  }
  const at = rendered.lastIndexOf(CONTINUE_TAG.trim());
  return rendered.startsWith(CONTINUE_TAG, at) ? rendered.slice(0, at) : rendered.slice(0, at).trimEnd();
}
