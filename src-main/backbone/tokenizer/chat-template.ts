/**
 * Chat templates: the Jinja `chat_template` of tokenizer_config.json rendered with
 * @huggingface/jinja, as transformers' `apply_chat_template` does (variables `messages`,
 * `add_generation_prompt`, `bos_token`, `eos_token`; the library provides `raise_exception`).
 */
import { Template } from '@huggingface/jinja';

import { UserError } from '../../common/errors.js';
import type { TokenizerConfigJson } from './hf-tokenizer.js';
import { specialTokenText } from './hf-tokenizer.js';

export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

/** The folder's default chat template (a string, or the entry named "default" of a list), if any. */
export function chatTemplateOf(config: TokenizerConfigJson): string | undefined {
  const t = config['chat_template'];
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const named = t as { name?: string; template?: string }[];
    return (named.find((x) => x.name === 'default') ?? named[0])?.template;
  }
  return undefined;
}

/** Renders `messages` into the prompt text the model was tuned on. */
export function applyChatTemplate(
  config: TokenizerConfigJson,
  messages: readonly ChatMessage[],
  options: { addGenerationPrompt?: boolean; source?: string } = {},
): string {
  const source = options.source ?? 'tokenizer_config.json';
  const text = chatTemplateOf(config);
  if (text === undefined)
    throw new UserError('NOT_FOUND', `${source} has no chat_template; use a plain prompt with this backbone.`);
  let template: Template;
  try {
    template = new Template(text);
  } catch (error) {
    throw new UserError('BAD_FILE', `The chat_template in ${source} is not valid Jinja.`, { cause: error });
  }
  try {
    return template.render({
      messages,
      add_generation_prompt: options.addGenerationPrompt ?? true,
      bos_token: specialTokenText(config, 'bos_token') ?? '',
      eos_token: specialTokenText(config, 'eos_token') ?? '',
    });
  } catch (error) {
    // the template's own message may quote the messages (note text), so it is not repeated here
    throw new UserError(
      'INVALID_ARGUMENT',
      `The chat template in ${source} refused these ${messages.length} messages (templates often require alternating user/assistant roles).`,
      { cause: error },
    );
  }
}
