/**
 * `clinprompt train` and `clinprompt eval` as a cluster node runs them (files in, files out, no
 * store): the --json summary, PEFT-valid adapter folders (keys and shapes as PEFT saves them),
 * full fine-tuning's model folder, `--adapter <run dir>` in generate and eval, evaluation with
 * bootstrap intervals and predictions, flags refused in the CLI's words, and resumption: a real
 * process SIGKILLed mid-run and started again with the same command ends with the same tensors as
 * an unbroken run; Ctrl+C stops at a clean point, keeps the checkpoint and says how to resume.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parameterCount } from '../../../src-main/backbone/hf/config.js';
import { EXIT } from '../../../src-main/cli/exit-codes.js';
import { runCliCaptured } from '../../support/cli.js';
import { writeLearnableNli } from '../../support/learnable-task.js';
import { checkpointStepOf, expectSameTensors, startUntilCheckpoint, tensorsOf } from '../../support/resume.js';
import { makeTempDir } from '../../support/temp.js';
import { writeTinyLlamaFolder, TINY_CONFIG } from '../../support/tiny-llama.js';

const tmp = makeTempDir('clinprompt-train-cli-');
const env = { CLINPROMPT_HOME: path.join(tmp.dir, 'home'), CLINPROMPT_MODEL_CACHE: path.join(tmp.dir, 'cache') };
const backbone = path.join(tmp.dir, 'tiny');
const data = path.join(tmp.dir, 'nli.jsonl');
beforeAll(() => {
  writeTinyLlamaFolder(backbone);
  writeLearnableNli(data, { train: 24, dev: 8, test: 8 });
});
afterAll(() => tmp.cleanup());

const base = (out: string, ...extra: string[]) => [
  '--json',
  'train',
  '--backbone',
  backbone,
  '--data',
  data,
  '--task',
  'nli',
  '--out',
  path.join(tmp.dir, out),
  ...extra,
];

async function trainJson(out: string, ...extra: string[]) {
  const run = await runCliCaptured(base(out, ...extra), env);
  expect(run.code, run.stderr).toBe(EXIT.ok);
  return JSON.parse(run.stdout) as Record<string, unknown> & { metrics: Record<string, Record<string, number>> };
}

describe('clinprompt train / eval', () => {
  it('LoRA: a --json summary, a PEFT LORA adapter folder, generate and eval with --adapter', async () => {
    const result = await trainJson('lora', '--method', 'lora', '--rank', '4', '--steps', '6', '--lr', '0.01');
    const c = TINY_CONFIG;
    const expected =
      c.numLayers * (4 * c.hiddenSize + c.numHeads * c.headDim * 4 + 4 * c.hiddenSize + c.numKvHeads * c.headDim * 4);
    expect(result).toMatchObject({
      method: 'lora',
      steps: 6,
      trainableParameters: expected,
      outDir: path.join(tmp.dir, 'lora'),
    });
    expect(result['trainableShare']).toBeCloseTo(expected / parameterCount(c), 12);
    expect(result['lastLoss']).toBeLessThan(result['firstLoss'] as number);
    expect(Object.keys(result.metrics['dev']!)).toEqual(['accuracy']);

    const dir = path.join(tmp.dir, 'lora');
    const config = JSON.parse(readFileSync(path.join(dir, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    expect(Object.keys(config)).toEqual([...Object.keys(config)].sort());
    expect(config).toMatchObject({
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      r: 4,
      lora_alpha: 16,
      target_modules: ['q_proj', 'v_proj'],
      bias: 'none',
      fan_in_fan_out: false,
      use_rslora: false,
      inference_mode: true,
    });
    const tensors = tensorsOf(path.join(dir, 'adapter_model.safetensors'));
    expect(tensors.get('base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight')!.shape).toEqual([4, 32]);
    expect(tensors.get('base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight')!.shape).toEqual([16, 4]);
    expect(tensors.size).toBe(2 * 2 * 2);

    const plain = await runCliCaptured(
      ['--json', 'generate', '--backbone', backbone, '--prompt', 'Once', '--max-tokens', '8'],
      env,
    );
    const adapted = await runCliCaptured(
      ['--json', 'generate', '--backbone', backbone, '--adapter', dir, '--prompt', 'Once', '--max-tokens', '8'],
      env,
    );
    expect(adapted.code, adapted.stderr).toBe(EXIT.ok);
    expect(JSON.parse(adapted.stdout).tokens).not.toEqual(JSON.parse(plain.stdout).tokens);

    const evaluation = await runCliCaptured(
      ['--json', 'eval', '--backbone', backbone, '--adapter', dir, '--data', data, '--task', 'nli'],
      env,
    );
    expect(evaluation.code, evaluation.stderr).toBe(EXIT.ok);
    const e = JSON.parse(evaluation.stdout) as {
      n: number;
      metric: string;
      metrics: Record<string, { low: number; high: number; estimate: number }>;
      predictions: string;
    };
    expect(e.metric).toBe('accuracy');
    expect(e.metrics['accuracy']!.low).toBeLessThanOrEqual(e.metrics['accuracy']!.estimate);
    expect(e.metrics['accuracy']!.high).toBeGreaterThanOrEqual(e.metrics['accuracy']!.estimate);
    const predictions = readFileSync(e.predictions, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { output: string });
    expect(predictions).toHaveLength(e.n);
    expect(predictions.every((p) => ['entailment', 'contradiction'].includes(p.output))).toBe(true);
    const run = JSON.parse(readFileSync(path.join(dir, 'run.json'), 'utf8')) as { metrics: Record<string, unknown> };
    expect(Object.keys(run.metrics)).toEqual(['dev', 'test']);
  });

  it('prompt tuning writes a PEFT PROMPT_TUNING adapter; full fine-tuning a model folder that --adapter runs', async () => {
    const pt = await trainJson('pt', '--method', 'pt', '--prompt-length', '5', '--steps', '3');
    expect(pt['trainableParameters']).toBe(5 * 32);
    const config = JSON.parse(readFileSync(path.join(tmp.dir, 'pt', 'adapter_config.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(config).toMatchObject({
      peft_type: 'PROMPT_TUNING',
      task_type: 'CAUSAL_LM',
      num_virtual_tokens: 5,
      token_dim: 32,
      num_transformer_submodules: 1,
      num_attention_heads: 4,
      num_layers: 2,
      prompt_tuning_init: 'SAMPLE_VOCAB',
    });
    expect(tensorsOf(path.join(tmp.dir, 'pt', 'adapter_model.safetensors')).get('prompt_embeddings')!.shape).toEqual([
      5, 32,
    ]);

    const full = await trainJson('full', '--method', 'full', '--steps', '3', '--lr', '0.001');
    expect(full['trainableShare']).toBe(1);
    const trained = path.join(tmp.dir, 'full', 'model', 'model.safetensors');
    expect(existsSync(trained)).toBe(true);
    // The same run as one graph instead of layer by layer trains the same weights, away from the backbone's.
    const oneGraph = ['--method', 'full', '--steps', '3', '--lr', '0.001', '--gradient-checkpointing', 'off'];
    await trainJson('full-one-graph', ...oneGraph);
    const [layerwise, whole] = [
      tensorsOf(trained),
      tensorsOf(path.join(tmp.dir, 'full-one-graph', 'model', 'model.safetensors')),
    ];
    const before = tensorsOf(path.join(backbone, 'model.safetensors'));
    const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
    let moved = 0;
    for (const [name, t] of layerwise) {
      expect(maxDiff(t.data, whole.get(name)!.data), name).toBeLessThan(1e-5);
      moved = Math.max(moved, maxDiff(t.data, before.get(name)!.data));
    }
    expect(moved).toBeGreaterThan(5e-4); // 3 AdamW steps of lr 1e-3 moved the weights
    const gen = await runCliCaptured(
      [
        '--json',
        'generate',
        '--backbone',
        backbone,
        '--adapter',
        path.join(tmp.dir, 'full'),
        '--prompt',
        'Once',
        '--max-tokens',
        '4',
      ],
      env,
    );
    expect(gen.code, gen.stderr).toBe(EXIT.ok);
  });

  it('evaluates the untrained backbone (zero-shot) when no --adapter is given', async () => {
    const out = path.join(tmp.dir, 'zero');
    const run = await runCliCaptured(
      ['--json', 'eval', '--backbone', backbone, '--data', data, '--task', 'nli', '--split', 'dev', '--out', out],
      env,
    );
    expect(run.code, run.stderr).toBe(EXIT.ok);
    expect(existsSync(path.join(out, 'predictions-dev.jsonl'))).toBe(true);
    const missingOut = await runCliCaptured(['eval', '--backbone', backbone, '--data', data, '--task', 'nli'], env);
    expect(missingOut.stderr).toMatch(/--out/);
  });

  it('refuses flags in the CLI words: a flag of another method, a bad value, another run in --out', async () => {
    const foreign = await runCliCaptured(base('x', '--method', 'pt', '--rank', '4'), env);
    expect(foreign.code).toBe(EXIT.usage);
    expect(foreign.stderr).toMatch(/--rank applies to --method lora, not pt/);
    const bad = await runCliCaptured(base('x', '--method', 'pt', '--prompt-length', '0'), env);
    expect(bad.code).toBe(EXIT.usage);
    expect(bad.stderr).toMatch(/--prompt-length/);
    const noTask = await runCliCaptured(
      ['train', '--method', 'pt', '--backbone', backbone, '--data', data, '--out', path.join(tmp.dir, 'y')],
      env,
    );
    expect(noTask.stderr).toMatch(/--task/);
    // --out holding another run: other settings are refused, nothing overwritten
    await trainJson('clash', '--method', 'lora', '--rank', '4', '--steps', '2');
    const before = readFileSync(path.join(tmp.dir, 'clash', 'adapter_model.safetensors'));
    const clash = await runCliCaptured(base('clash', '--method', 'lora', '--rank', '2', '--steps', '2'), env);
    expect(clash.code).toBe(EXIT.failed);
    expect(JSON.parse(clash.stderr)).toMatchObject({
      error: {
        code: 'ALREADY_EXISTS',
        field: 'out',
        message: expect.stringMatching(/holds a checkpoint of a different run/),
      },
    });
    expect(readFileSync(path.join(tmp.dir, 'clash', 'adapter_model.safetensors'))).toEqual(before);
  });
});

describe('resumable training in a real process', () => {
  const args = (out: string) =>
    base(out, '--method', 'lora', '--steps', '40', '--checkpoint-every', '4', '--batch-size', '2', '--lr', '0.01');
  const checkpointStep = (out: string) => checkpointStepOf(path.join(tmp.dir, out));
  const startUntil = (out: string, atLeast: number) =>
    startUntilCheckpoint(args(out), env, path.join(tmp.dir, out), atLeast);

  it('a run killed with SIGKILL and started again ends with the same tensors as an unbroken run', async () => {
    const unbroken = await runCliCaptured(args('unbroken'), env);
    expect(unbroken.code, unbroken.stderr).toBe(EXIT.ok);

    const { child, exited } = await startUntil('killed', 12);
    child.kill('SIGKILL');
    await exited;
    const killedAt = checkpointStep('killed');
    expect(killedAt).toBeGreaterThanOrEqual(12);
    expect(killedAt).toBeLessThan(40);
    const resumed = await runCliCaptured(args('killed'), env);
    expect(resumed.code, resumed.stderr).toBe(EXIT.ok);
    expect((JSON.parse(resumed.stdout) as { resumedFromStep: number }).resumedFromStep).toBe(killedAt);

    expectSameTensors(
      path.join(tmp.dir, 'killed', 'adapter_model.safetensors'),
      path.join(tmp.dir, 'unbroken', 'adapter_model.safetensors'),
    );
  });

  it('Ctrl+C stops at a clean point, exits 130, keeps the checkpoint and says how to resume', async () => {
    const { child, exited, stderr } = await startUntil('interrupted', 4);
    child.kill('SIGINT');
    const [code] = (await exited) as [number];
    expect(code, stderr()).toBe(EXIT.cancelled);
    expect(stderr()).toMatch(/checkpoint .* is kept\. Run the same command again to resume/);
    const stopped = checkpointStep('interrupted');
    expect(stopped).toBeGreaterThanOrEqual(4);
    const resumed = await runCliCaptured(args('interrupted'), env);
    expect(resumed.code, resumed.stderr).toBe(EXIT.ok);
    expect((JSON.parse(resumed.stdout) as { resumedFromStep: number; steps: number }).steps).toBe(40);
  });
});
