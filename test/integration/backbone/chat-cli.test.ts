/** `clinprompt generate --chat` on an HF folder: the chat template wraps the prompt before tokenizing. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCliCaptured } from '../../support/cli.js';
import { makeTempDir } from '../../support/temp.js';
import { writeTinyLlamaFolder } from '../../support/tiny-llama.js';

describe('clinprompt generate on a Hugging Face folder', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeAll(() => {
    tmp = makeTempDir();
    writeTinyLlamaFolder(tmp.dir);
  });
  afterAll(() => tmp.cleanup());

  it('applies the chat template with --chat and reports tokens/s as JSON', async () => {
    const run = await runCliCaptured([
      '--json',
      'generate',
      '--backbone',
      tmp.dir,
      '--prompt',
      'Hello',
      '--chat',
      '--max-tokens',
      '5',
    ]);
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as {
      prompt: string;
      promptTokens: number;
      tokens: number[];
      tokensPerSecond: number;
      provider: string;
    };
    expect(out.prompt).toBe('<s>User: Hello\nAssistant:');
    // the template's <s> is the BOS id once (no second BOS from the tokenizer)
    expect(out.promptTokens).toBeGreaterThan(3);
    expect(out.tokens.length).toBeLessThanOrEqual(5);
    expect(out.provider).toBe('cpu');
    const plain = await runCliCaptured([
      '--json',
      'generate',
      '--backbone',
      tmp.dir,
      '--prompt',
      'Hello',
      '--max-tokens',
      '2',
    ]);
    expect((JSON.parse(plain.stdout) as { prompt: string }).prompt).toBe('Hello');
  });

  it('rejects unknown providers and bad flags as usage errors', async () => {
    const run = await runCliCaptured(['generate', '--backbone', tmp.dir, '--prompt', 'x', '--provider', 'tpu']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/must be one of cpu, auto, webgpu, cuda, dml/);
  });
});
