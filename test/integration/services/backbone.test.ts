/**
 * The backbone use cases (services/backbone.ts) on the real stories260K model and onnxruntime:
 * what `clinprompt backbone info`, `generate` and `score` print is what these return.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { backboneInfo, generateText, scoreCandidates } from '../../../src-main/services/backbone.js';
import { runCliCaptured } from '../../support/cli.js';
import { makeTempDir } from '../../support/temp.js';
import { STORIES_DIR } from '../../support/tiny-llama.js';

describe('backbone services', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  let cache: string | undefined;
  beforeAll(() => {
    tmp = makeTempDir();
    cache = process.env['CLINPROMPT_MODEL_CACHE'];
    process.env['CLINPROMPT_MODEL_CACHE'] = tmp.dir;
  });
  afterAll(() => {
    if (cache === undefined) delete process.env['CLINPROMPT_MODEL_CACHE'];
    else process.env['CLINPROMPT_MODEL_CACHE'] = cache;
    tmp.cleanup();
  });

  it('describes a folder, generates and scores', async () => {
    const info = backboneInfo({ backbone: STORIES_DIR, contextTokens: 256 });
    expect(info).toMatchObject({ format: 'llama2c', parameters: 260_032, layers: 5 });
    expect(info.memory).toMatchObject({ provider: 'cpu', contextTokens: 256 });

    const generated = await generateText({ backbone: STORIES_DIR, prompt: 'Once upon a time', stop: ['Lily'] });
    expect(generated).toMatchObject({
      prompt: 'Once upon a time',
      text: ', there was a little girl named ',
      stoppedBy: 'stop-sequence',
      provider: 'cpu',
    });

    const prompt = 'Once upon a time, there was a little girl named';
    const scores = await scoreCandidates({ backbone: STORIES_DIR, prompt, candidates: [' Tom', ' Lily'] });
    expect(scores.map((s) => s.candidate)).toEqual([' Tom', ' Lily']);
    expect(scores.every((s) => Number.isFinite(s.logLikelihood) && s.logLikelihood < 0)).toBe(true);
    expect(scores[1]!.logLikelihood).toBeGreaterThan(scores[0]!.logLikelihood);
  });

  it('names the setting that is wrong: the field in the service, the flag in the CLI', async () => {
    await expect(scoreCandidates({ backbone: STORIES_DIR, prompt: 'x', candidates: [] })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'candidates',
    });
    const run = await runCliCaptured(['score', '--backbone', STORIES_DIR, '--prompt', 'x']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('clinprompt: --candidate: Give at least one continuation to score.\n');
  });
});
