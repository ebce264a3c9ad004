/**
 * The wizard's Adapt and Evaluate requests against the real services: a store dataset trained on
 * in a worker that holds no store key (the host hands its examples over in memory), the run
 * recorded in the encrypted store, a cancelled run resumed by the same request, and the trained
 * prompt scored beside the untrained backbone and other runs with intervals and per-example outputs.
 */
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import type { AdaptRunView, EvaluationView, JobState } from '../../../src-main/ipc/contract.js';
import { readRunRecord } from '../../../src-main/peft/run-folder.js';
import { createServices } from '../../../src-main/services/index.js';
import { writeLearnableNli } from '../../support/learnable-task.js';
import { makeTempDir } from '../../support/temp.js';
import { STORIES_DIR } from '../../support/tiny-llama.js';

const tmp = makeTempDir('clinprompt-adapt-');
const services = createServices({ dataDir: path.join(tmp.dir, 'home'), store: { scrypt: { N: 2 ** 14, r: 8, p: 1 } } });
afterAll(async () => {
  await services.dispose();
  tmp.cleanup();
});
// The real stories260K (512 positions): room for prompt tuning's 100 virtual tokens.
const backbone = STORIES_DIR;
const h = services.handlers;

async function finished(state: JobState): Promise<JobState> {
  return services.jobs.wait(state.jobId);
}

describe('adaptation requests', () => {
  it('describes a backbone folder in plain words and refuses a missing one naming the field', async () => {
    const view = await h['backbone.describe']({ backbone });
    expect(view).toMatchObject({
      name: 'stories260K',
      embedded: false,
      architecture: 'llama',
      fits: true,
      metaPrompt: null,
    });
    expect(view.parameters).toBeGreaterThan(1000);
    expect(view.provider).toMatch(/CPU/);
    expect(view.trainingBytes).toBeGreaterThan(view.inferenceBytes);
    await expect(h['backbone.describe']({ backbone: path.join(tmp.dir, 'nowhere') })).rejects.toThrow(/does not exist/);
    const options = await h['adapt.options']({ backbone });
    expect(options.defaultMethod).toBe('pt'); // no meta-prompt beside this backbone
    expect(options.methods.find((m) => m.method === 'mpt')?.unavailable).toMatch(/no shipped meta-prompt/);
    const epochs = options.settings.find((s) => s.key === 'epochs')!;
    expect(epochs).toMatchObject({ default: 3, basic: true, kind: 'number' });
    expect(options.settings.find((s) => s.key === 'steps')?.help).toBe(
      'optimizer steps to run (default: from "Epochs")',
    );
  });

  it('trains on a store dataset, resumes after a cancel, records the run, and evaluates against the backbone', async () => {
    await services.store.setUp({ passphrase: 'adapt service passphrase' });
    const file = writeLearnableNli(path.join(tmp.dir, 'nli.jsonl'), { train: 24, dev: 0, test: 12 });
    await h['datasets.import']({ format: 'jsonl', path: file, task: 'nli', name: 'happy-nli' });
    await expect(h['adapt.start']({ backbone, dataset: 'happy-nli', method: 'mpt', train: {} })).rejects.toThrow(
      /no shipped meta-prompt/,
    );
    await expect(h['adapt.start']({ backbone, dataset: 'happy-nli', method: 'pt', train: { lr: -1 } })).rejects.toThrow(
      /^Learning rate: /,
    );

    const request = {
      backbone,
      dataset: 'happy-nli',
      method: 'pt',
      train: { steps: 30, batchSize: 2, checkpointEvery: 2, promptLength: 4 },
    } as const;
    // promptLength belongs to the method, not the trainer: refused by name
    await expect(h['adapt.start'](request)).rejects.toThrow(/promptLength/);
    const { promptLength: _, ...train } = request.train;
    const first = await h['adapt.start']({ ...request, train });
    await new Promise<void>((resolve) => {
      const stop = services.jobs.subscribe({
        onDidProgress: (p) => p.jobId === first.jobId && p.step >= 3 && (stop(), resolve()),
      });
    });
    expect((await h['jobs.cancel'](first.jobId)).status).toBe('cancelled');
    const second = await finished(await h['adapt.start']({ ...request, train }));
    expect(second.status).toBe('succeeded');
    const run = second.result as AdaptRunView;
    expect(run.resumedFromStep).toBeGreaterThanOrEqual(2);
    expect(run.steps).toBe(30);
    expect(run.losses.length).toBeGreaterThan(0);
    expect(path.dirname(run.outDir)).toBe(path.join(services.info.dataDir, 'runs'));
    // No note text beside the tensors: the run folder holds the adapter, checkpoint and record only.
    for (const f of readdirSync(run.outDir)) expect(f).toMatch(/\.(json|safetensors)$/);

    // one run, one record: the resume went on under the cancelled run's record
    await expect.poll(() => services.store.use((s) => s.runs.list().map((r) => r.status))).toEqual(['succeeded']);

    const evaluated = await finished(await h['adapt.evaluate']({ backbone, dataset: 'happy-nli', run: run.outDir }));
    expect(evaluated.status).toBe('succeeded');
    const view = evaluated.result as EvaluationView;
    expect(view).toMatchObject({ split: 'test', n: 12, headline: 'accuracy', confidence: 0.95 });
    const accuracy = view.adapted.find((m) => m.name === 'accuracy')!;
    expect(accuracy.low).toBeLessThanOrEqual(accuracy.estimate);
    expect(accuracy.high).toBeGreaterThanOrEqual(accuracy.estimate);
    expect(view.baseline.map((m) => m.name)).toEqual(view.adapted.map((m) => m.name));
    expect(view.examples).toHaveLength(12);
    for (const e of view.examples) {
      expect(e.input).toMatch(/^premise: .*\nhypothesis: /);
      expect(['entailment', 'contradiction']).toContain(e.gold);
      expect(e.adaptedCorrect).toBe(e.adapted === e.gold);
    }
    expect(accuracy.estimate).toBeCloseTo(view.examples.filter((e) => e.adaptedCorrect).length / 12, 10);
    // The test metrics join the run's record, as `clinprompt eval` writes them.
    await expect
      .poll(() => (readRunRecord(run.outDir)?.metrics as Record<string, Record<string, number>>)['test']?.['accuracy'])
      .toBe(accuracy.estimate);
  });

  it('resumes a cancelled run after the app restarts, from the same request', async () => {
    const request = {
      backbone,
      dataset: 'happy-nli',
      method: 'lora',
      train: { steps: 20, batchSize: 2, checkpointEvery: 2 },
    } as const;
    const first = await h['adapt.start'](request);
    await new Promise<void>((resolve) => {
      const stop = services.jobs.subscribe({
        onDidProgress: (p) => p.jobId === first.jobId && p.step >= 3 && (stop(), resolve()),
      });
    });
    await h['jobs.cancel'](first.jobId);
    const restarted = createServices({ dataDir: services.info.dataDir, store: { scrypt: { N: 2 ** 14, r: 8, p: 1 } } });
    try {
      await restarted.store.unlock({ passphrase: 'adapt service passphrase' });
      const again = await restarted.jobs.wait((await restarted.handlers['adapt.start'](request)).jobId);
      expect(again.status).toBe('succeeded');
      expect((again.result as AdaptRunView).resumedFromStep).toBeGreaterThanOrEqual(2);
    } finally {
      await restarted.dispose();
    }
  });

  it('offers a run stopped by closing the app for resume, at its checkpoint step, and finishes it under its own record', async () => {
    const options = { dataDir: services.info.dataDir, store: { scrypt: { N: 2 ** 14, r: 8, p: 1 } } };
    const closed = createServices(options);
    let runId: number;
    try {
      await closed.store.unlock({ passphrase: 'adapt service passphrase' });
      const job = await closed.handlers['adapt.start']({
        backbone,
        dataset: 'happy-nli',
        method: 'pt',
        train: { steps: 24, batchSize: 2, checkpointEvery: 2, seed: 5 },
      });
      await new Promise<void>((resolve) => {
        const stop = closed.jobs.subscribe({
          onDidProgress: (p) => p.jobId === job.jobId && p.step >= 3 && (stop(), resolve()),
        });
      });
      runId = (await closed.store.use((s) => s.runs.list()))[0]!.id;
    } finally {
      await closed.dispose(); // as the app quits: the store locks first, then the worker stops
    }
    const restarted = createServices(options);
    try {
      await restarted.store.unlock({ passphrase: 'adapt service passphrase' });
      const h2 = restarted.handlers;
      const [stopped, ...others] = await h2['adapt.interrupted']();
      expect(others).toEqual([]);
      expect(stopped).toMatchObject({
        runId,
        method: 'pt',
        task: 'nli',
        dataset: 'happy-nli',
        totalSteps: 24,
        backbone: path.resolve(backbone),
      });
      expect(stopped!.step).toBeGreaterThanOrEqual(3);
      expect(stopped!.step).toBeLessThan(24);
      // not finished anywhere: neither offered as a prompt nor recorded as succeeded
      expect((await h2['runs.list']()).map((r) => r.runId)).not.toContain(runId);
      expect((await restarted.store.use((s) => s.runs.get(runId))).status).toBe('running');

      const resumed = await restarted.jobs.wait((await h2['adapt.resume']({ runId })).jobId);
      expect(resumed.status).toBe('succeeded');
      expect(resumed.result as AdaptRunView).toMatchObject({ steps: 24, resumedFromStep: stopped!.step });
      await expect.poll(() => restarted.store.use((s) => s.runs.get(runId).status)).toBe('succeeded');
      expect(await h2['adapt.interrupted']()).toEqual([]);
      expect((await h2['runs.list']()).map((r) => r.runId)).toContain(runId);
      await expect(h2['adapt.resume']({ runId })).rejects.toThrow(/has nothing to resume/);
    } finally {
      await restarted.dispose();
    }
  });

  it('records a run that finished while the store was locked once it is unlocked again', async () => {
    const before = await services.store.use((s) => s.runs.list().length);
    const job = await h['adapt.start']({
      backbone,
      dataset: 'happy-nli',
      method: 'pt',
      train: { steps: 4, batchSize: 2 },
    });
    await services.store.lock();
    expect((await services.jobs.wait(job.jobId)).status).toBe('succeeded');
    await services.store.unlock({ passphrase: 'adapt service passphrase' });
    await h['adapt.options']({ backbone });
    const runs = await services.store.use((s) => s.runs.list());
    expect(runs).toHaveLength(before + 1);
    expect(runs[0]).toMatchObject({ kind: 'train:pt', status: 'succeeded' });
  });

  it('lists the finished runs with task, method, date and metric after a restart, leaving out runs whose folder is gone', async () => {
    const restarted = createServices({ dataDir: services.info.dataDir, store: { scrypt: { N: 2 ** 14, r: 8, p: 1 } } });
    try {
      await restarted.store.unlock({ passphrase: 'adapt service passphrase' });
      const runs = await restarted.handlers['runs.list']();
      const recorded = await restarted.store.use((s) => s.runs.list());
      // every succeeded training run of the store, newest first, and nothing else
      expect(runs.map((r) => r.runId)).toEqual(recorded.filter((r) => r.status === 'succeeded').map((r) => r.id));
      expect(runs.map((r) => r.method)).toEqual(expect.arrayContaining(['pt', 'lora']));
      const evaluated = runs.find((r) => r.steps === 30)!;
      expect(evaluated).toMatchObject({
        method: 'pt',
        task: 'nli',
        dataset: 'happy-nli',
        backbone: { name: 'stories260K', folder: path.resolve(backbone) },
        metric: {
          name: 'accuracy',
          split: 'test',
          value: readRunRecord(evaluated.outDir)!.metrics['test']!['accuracy'],
        },
      });
      expect(Date.parse(evaluated.finishedAt)).toBeGreaterThan(Date.parse(recorded.at(-1)!.startedAt));
      // trained without dev examples and never evaluated: no metric to show
      const unevaluated = runs.find((r) => r.steps === 4)!;
      expect(unevaluated.metric).toBeNull();

      rmSync(unevaluated.outDir, { recursive: true });
      const left = await restarted.handlers['runs.list']();
      expect(left.map((r) => r.runId)).toEqual(runs.filter((r) => r !== unevaluated).map((r) => r.runId));
    } finally {
      await restarted.dispose();
    }
  });

  it('scores baseline runs beside the adapted prompt, with a few-shot curve when a method ran at several k', async () => {
    // A second prompt-tuning run on 6 examples of the same task: pt now has k = 6 and k = 24.
    const small = writeLearnableNli(path.join(tmp.dir, 'small-nli.jsonl'), { train: 6, dev: 0, test: 2 });
    await h['datasets.import']({ format: 'jsonl', path: small, task: 'nli', name: 'small-nli' });
    const fewShot = await finished(
      await h['adapt.start']({ backbone, dataset: 'small-nli', method: 'pt', train: { steps: 4, batchSize: 2 } }),
    );
    const runs = await h['runs.list']();
    const adapted = runs.find((r) => r.steps === 30)!;
    const lora = runs.find((r) => r.method === 'lora')!;
    const k6 = (fewShot.result as AdaptRunView).outDir;
    // k as the run records it: the training examples left after the import's de-duplication
    const k = (dir: string) => readRunRecord(dir)!.data.train;
    expect(k(k6)).toBeLessThan(k(adapted.outDir));

    await expect(
      h['adapt.evaluate']({ backbone, dataset: 'happy-nli', run: adapted.outDir, baselines: [tmp.dir] }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND', field: 'baselines' });
    const evaluated = await finished(
      await h['adapt.evaluate']({ backbone, dataset: 'happy-nli', run: adapted.outDir, baselines: [k6, lora.outDir] }),
    );
    expect(evaluated.status).toBe('succeeded');
    const view = evaluated.result as EvaluationView;
    expect(view).toMatchObject({ method: 'pt', trainExamples: k(adapted.outDir) });
    expect(view.runs.map((r) => [r.run, r.method, r.trainExamples])).toEqual([
      [k6, 'pt', k(k6)],
      [lora.outDir, 'lora', k(lora.outDir)],
    ]);
    for (const r of view.runs) expect(r.metrics.map((m) => m.name)).toEqual(view.adapted.map((m) => m.name));
    // pt ran at two k (the untrained backbone is its k = 0); lora at one k only: no curve of its own.
    const accuracy = (metrics: readonly { name: string; estimate: number }[]) =>
      metrics.find((m) => m.name === 'accuracy')!.estimate;
    expect(view.curve.map((p) => [p.method, p.k, p.estimate])).toEqual([
      ['pt', 0, accuracy(view.baseline)],
      ['pt', k(k6), accuracy(view.runs[0]!.metrics)],
      ['pt', k(adapted.outDir), accuracy(view.adapted)],
    ]);
    const { svg } = await h['charts.fewShot']({ metric: view.headline, points: [...view.curve] });
    expect(svg).toContain("X-axis titled 'training examples (k)'");
  });

  it('draws the loss curve as an SVG document', async () => {
    const { svg } = await h['charts.loss']({ losses: [2, 1.5, 1.2, 1.1], totalSteps: 10 });
    expect(svg).toMatch(/^<svg[^>]*>/);
    expect(svg).toContain('training loss');
  });
});
