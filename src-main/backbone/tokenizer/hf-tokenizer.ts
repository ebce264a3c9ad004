/**
 * Hugging Face fast-tokenizer files (`tokenizer.json` + `tokenizer_config.json`) run by
 * @huggingface/tokenizers, the maintained pure-JS port used by transformers.js, so ids match
 * transformers' `AutoTokenizer` without Python.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { Tokenizer } from '@huggingface/tokenizers';

import { UserError } from '../../common/errors.js';
import type { TextTokenizer } from './text-tokenizer.js';

export type TokenizerConfigJson = Record<string, unknown>;

function readJson(file: string, what: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value as Record<string, unknown>;
  } catch {
    throw new UserError('BAD_FILE', `${file} (the ${what}) is not a valid JSON object. Copy the model folder again.`);
  }
}

/** `tokenizer_config.json` of a folder, or {} when absent. */
export function readTokenizerConfig(dir: string): TokenizerConfigJson {
  const file = path.join(dir, 'tokenizer_config.json');
  return existsSync(file) ? readJson(file, 'tokenizer configuration') : {};
}

/** A special token of tokenizer_config.json: a string, or an AddedToken object with `content`. */
export function specialTokenText(config: TokenizerConfigJson, key: string): string | undefined {
  const v = config[key];
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as { content?: unknown }).content === 'string')
    return (v as { content: string }).content;
  return undefined;
}

export class HfTokenizer implements TextTokenizer {
  readonly vocabSize: number;

  constructor(
    private readonly tokenizer: Tokenizer,
    readonly config: TokenizerConfigJson,
  ) {
    this.vocabSize = tokenizer.get_vocab(true).size;
  }

  static fromFolder(dir: string): HfTokenizer {
    const file = path.join(dir, 'tokenizer.json');
    if (!existsSync(file))
      throw new UserError(
        'NOT_FOUND',
        `${dir} has no tokenizer.json. ClinPrompt needs the fast-tokenizer file; save it with transformers' tokenizer.save_pretrained() and copy it in.`,
      );
    const json = readJson(file, 'tokenizer');
    const config = readTokenizerConfig(dir);
    try {
      return new HfTokenizer(new Tokenizer(json, config), config);
    } catch (error) {
      throw new UserError(
        'UNSUPPORTED',
        `${file} could not be loaded by the tokenizer library; it may use a component it does not support.`,
        {
          cause: error,
        },
      );
    }
  }

  encode(text: string, options: { addSpecialTokens?: boolean } = {}): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: options.addSpecialTokens ?? true }).ids;
  }

  decode(ids: readonly number[]): string {
    return this.tokenizer.decode([...ids], { skip_special_tokens: true });
  }

  tokenId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }

  /** A special token named in tokenizer_config.json (e.g. "eos_token"), as text. */
  specialToken(key: string): string | undefined {
    return specialTokenText(this.config, key);
  }
}
