/**
 * The golden test on a real pretrained model no one here trained: stories260K (llama2.c format,
 * ../shared/models), greedy from "Once upon a time", must print the continuation that
 * ../shared/data/README.md gives. This exercises the llama2.c reader and tokenizer, the conversion
 * to an HF folder (q/k RoPE permutation), tokenizer.json through @huggingface/tokenizers, the
 * inference graph on onnxruntime and the KV cache.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { generate } from '../../../src-main/backbone/generate/decoding.js';
import { BackboneRunner } from '../../../src-main/backbone/generate/runner.js';
import { scoreContinuations, sequenceScorer } from '../../../src-main/backbone/generate/scoring.js';
import { openBackbone } from '../../../src-main/backbone/load.js';
import { chooseLabel } from '../../../src-main/tasks/closed-label.js';
import { findLlama2cFiles } from '../../../src-main/backbone/llama2c/convert.js';
import { Llama2cTokenizer, readLlama2cTokenizer } from '../../../src-main/backbone/llama2c/tokenizer.js';
import { runCliCaptured } from '../../support/cli.js';
import { skipUnlessAvailable } from '../../support/prerequisites.js';
import { SHARED_DIR } from '../../support/paths.js';
import { makeTempDir } from '../../support/temp.js';
import { STORIES_DIR } from '../../support/tiny-llama.js';

/** The continuation ../shared/data/README.md gives, read from there (whitespace normalised). */
function readmeGolden(): string {
  const readme = readFileSync(path.join(SHARED_DIR, 'data', 'README.md'), 'utf8');
  const m = /Greedy decoding from "Once upon a time" gives: "([\s\S]+?)\.\.\."/.exec(readme);
  if (!m) throw new Error('../shared/data/README.md no longer states the stories260K golden continuation');
  return m[1]!.replace(/\s+/g, ' ');
}

describe('stories260K (real llama2.c model)', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  let runner: BackboneRunner;
  beforeAll(async () => {
    tmp = makeTempDir();
    runner = await BackboneRunner.create(openBackbone(STORIES_DIR, { cacheDir: tmp.dir }), { threads: 1 });
  });
  afterAll(async () => {
    await runner.release();
    tmp.cleanup();
  });

  it('greedy generation from "Once upon a time" prints the known continuation', async () => {
    const golden = readmeGolden();
    expect(golden).toMatch(/^Once upon a time, there was a little girl named Lily\./);
    const result = await generate(runner, 'Once upon a time');
    const printed = 'Once upon a time' + result.text;
    expect(printed.slice(0, golden.length)).toBe(golden);
    expect(result.tokens.length).toBe(256); // default length; this model does not emit BOS/EOS that early
    expect(result.tokensPerSecond).toBeGreaterThan(0);
    // the HF tokenizer decodes what llama2.c's run.c would print for the same ids
    const files = findLlama2cFiles(STORIES_DIR)!;
    const run_c = new Llama2cTokenizer(readLlama2cTokenizer(files.tokenizerFile, 512));
    expect(run_c.decode([...run_c.encode('Once upon a time'), ...result.tokens])).toBe(printed);
  });

  it('`clinprompt generate` prints it too, and `backbone info` describes the model', async () => {
    const gen = await runCliCaptured(
      ['generate', '--backbone', STORIES_DIR, '--prompt', 'Once upon a time', '--max-tokens', '40'],
      {
        CLINPROMPT_MODEL_CACHE: tmp.dir,
      },
    );
    expect(gen.code).toBe(0);
    expect(gen.stdout.replace(/\s+/g, ' ')).toMatch(
      /^Once upon a time, there was a little girl named Lily\. She loved to play outside in the park\./,
    );
    expect(gen.stderr).toMatch(/5 prompt tokens, 40 generated \(max-tokens\), [\d.]+ tokens\/s on cpu/);
    const info = await runCliCaptured(['--json', 'backbone', 'info', STORIES_DIR], { CLINPROMPT_MODEL_CACHE: tmp.dir });
    expect(info.code).toBe(0);
    const json = JSON.parse(info.stdout) as Record<string, unknown>;
    expect(json).toMatchObject({
      format: 'llama2c',
      architecture: 'llama',
      parameters: 260_032,
      layers: 5,
      heads: 8,
      kvHeads: 4,
      tiedEmbeddings: true,
    });
    expect(json['fingerprint']).toMatch(/^sha256:[0-9a-f]{64}$/);
    const scored = await runCliCaptured(
      [
        '--json',
        'score',
        '--backbone',
        STORIES_DIR,
        '--prompt',
        'Once upon a time, there was a little girl named',
        '--candidate',
        ' Tom',
        '--candidate',
        ' Lily',
      ],
      { CLINPROMPT_MODEL_CACHE: tmp.dir },
    );
    const rows = JSON.parse(scored.stdout) as { candidate: string; logLikelihood: number }[];
    expect(rows.map((r) => r.candidate)).toEqual([' Tom', ' Lily']);
    expect(rows[1]!.logLikelihood).toBeGreaterThan(rows[0]!.logLikelihood);
    const bad = await runCliCaptured(['generate', '--backbone', STORIES_DIR, '--prompt', 'x', '--max-tokens', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--max-tokens.*positive integer/);
  });

  it('stops at stop sequences and max tokens; sampling repeats with a seed', async () => {
    const stopped = await generate(runner, 'Once upon a time', { stop: ['Lily'] });
    expect(stopped).toMatchObject({ text: ', there was a little girl named ', stoppedBy: 'stop-sequence' });
    const short = await generate(runner, 'Once upon a time', { maxTokens: 3 });
    expect(short).toMatchObject({ stoppedBy: 'max-tokens', text: ', there was' });
    const a = await generate(runner, 'Once upon a time', { temperature: 1, seed: 5, maxTokens: 30 });
    const b = await generate(runner, 'Once upon a time', { temperature: 1, seed: 5, maxTokens: 30 });
    const c = await generate(runner, 'Once upon a time', { temperature: 1, seed: 6, maxTokens: 30 });
    expect(a.tokens).toEqual(b.tokens);
    expect(c.tokens).not.toEqual(a.tokens);
  });

  it('scores candidate continuations in one batch, equal to scoring them one by one', async () => {
    const prompt = 'Once upon a time, there was a little girl named';
    const candidates = [' Lily', ' Tom', ' a big red ball', ' zzzq'];
    const batched = await scoreContinuations(runner, prompt, candidates);
    expect(batched.indexOf(Math.max(...batched))).toBe(0); // the model's own continuation wins
    for (const [k, cand] of candidates.entries()) {
      const [alone] = await scoreContinuations(runner, prompt, [cand]);
      expect(batched[k]).toBeCloseTo(alone!, 4);
    }
    expect(batched.every((v) => v < 0)).toBe(true);
    const long = 'Lily and Tom played. '.repeat(120); // > 512 tokens
    // a prompt longer than the context loses its middle, as in training: the start and the answer
    // cue (the last tokens) decide, whatever the middle said
    const end = ' Then they went home and had a nap.'.repeat(4);
    const [a] = await scoreContinuations(runner, `${long} The dog barked.${end}`, [' yes']);
    const [b] = await scoreContinuations(runner, `${long} The cat sat on a mat.${end}`, [' yes']);
    const [c] = await scoreContinuations(runner, `${long} The dog barked. Then they ran to the park.`, [' yes']);
    expect(Number.isFinite(a)).toBe(true);
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    await expect(generate(runner, long)).rejects.toThrow(/takes at most 512\. Shorten the prompt/);
    // evaluation cuts it the same way instead, keeping room for the answer: the middle does not matter
    const cut = { cutToFit: true, maxTokens: 20 } as const;
    const g1 = await generate(runner, `${long} The dog barked.${end} Lily said`, cut);
    const g2 = await generate(runner, `${long} The cat sat on a mat.${end} Lily said`, cut);
    expect(g1.promptTokens).toBe(512 - 20);
    expect(g1.tokens.length).toBeGreaterThan(0);
    expect(g1.tokens).toEqual(g2.tokens);
    // through the tasks layer's closed-label chooser
    const choice = await chooseLabel(sequenceScorer(runner), prompt, ['Tom', 'Lily', 'Ben']);
    expect(choice.label).toBe('Lily');
  });

  it('refuses, before loading, a plan that does not fit in the memory available', async () => {
    const b = runner.backbone;
    await expect(BackboneRunner.create(b, { availableBytes: 1024 * 1024 })).rejects.toThrow(
      expect.objectContaining({
        code: 'OUT_OF_MEMORY',
        message: expect.stringMatching(/needs about .* but only 1\.0 MiB is available/),
      }),
    );
  });

  it('runs in float16 on WebGPU where this machine can start it, giving the same greedy tokens', async (ctx) => {
    let gpu: BackboneRunner;
    try {
      gpu = await BackboneRunner.create(runner.backbone, { provider: 'webgpu' });
    } catch (error) {
      // no WebGPU adapter here: the provider probe says why (under CI, where lavapipe is installed, this fails)
      skipUnlessAvailable(
        `WebGPU could not start: ${String((error as Error).message).slice(0, 120)}`,
        'WebGPU generation',
      );
      ctx.skip();
      return;
    }
    try {
      expect(gpu.provider).toBe('webgpu');
      expect(gpu.dtype).toBe('float16'); // half-width weights, activations and KV cache on GPUs
      const onGpu = await generate(gpu, 'Once upon a time', { maxTokens: 4 });
      const onCpu = await generate(runner, 'Once upon a time', { maxTokens: 4 });
      expect(onGpu.tokens).toEqual(onCpu.tokens);
      // float16 log-likelihoods within float16 rounding of float32 ones (batched, repeated KV cache)
      const candidates = [' Lily', ' a big red ball'];
      const prompt = 'Once upon a time, there was a little girl named';
      const gpuScores = await scoreContinuations(gpu, prompt, candidates);
      const cpuScores = await scoreContinuations(runner, prompt, candidates);
      gpuScores.forEach((v, k) =>
        expect(Math.abs(v - cpuScores[k]!)).toBeLessThan(0.05 * Math.max(1, Math.abs(cpuScores[k]!))),
      );
    } finally {
      await gpu.release();
    }
  });
});
