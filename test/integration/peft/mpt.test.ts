/**
 * Multitask prompt tuning proves the method, not only that it runs, on the real stories260K model
 * and a family of tasks with shared structure (test/support/learnable-task.ts NLI_VARIANTS):
 * stage 1 trains a prompt-tuning teacher per source task; stage 2 distils them into P* and rank-1
 * task updates, whose KL and hidden-state distance to each task's teacher end below those of the
 * same training without the distillation terms (lambda 0); stage 3 adapts P* to a target task none of
 * the sources is, and at small k (2 examples per label, 3 seeded draws shared by both methods)
 * makes the target's gold answers more likely than prompt tuning from scratch with the same data
 * and budget. Gold-answer log-likelihood is the measure there because with the default NLI template
 * and entailment/contradiction answers a 260K-parameter model stays near chance accuracy with any
 * prompt (the learning tests show LoRA/full FT reach it); the second block below measures accuracy
 * on yes/no variants with a short task template, where prompts can reach it.
 * A distillation cancelled half-way resumes to the same tensors as an unbroken one.
 */
import { copyFileSync, cpSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { CancelledError } from '../../../src-main/common/errors.js';
import { ADAPTER_WEIGHTS, loadPeftAdapter } from '../../../src-main/peft/adapter-folder.js';
import { TrainConfigSchema } from '../../../src-main/peft/config.js';
import { createMethod } from '../../../src-main/peft/methods.js';
import { averageFactors, fitFactors, readMetaPrompt } from '../../../src-main/peft/mpt/model.js';
import { readRunRecord } from '../../../src-main/peft/run-folder.js';
import { runKey, type TrainProgress } from '../../../src-main/peft/trainer.js';
import {
  evaluateExamples,
  fewShot,
  framedTexts,
  readTaskData,
  splitOf,
  type TaskData,
} from '../../../src-main/services/training.js';
import {
  readYesNoNli,
  writeLearnableNli,
  YES_NO_SOURCES,
  YES_NO_TARGET,
  type NliVariant,
} from '../../support/learnable-task.js';
import { storiesTraining } from '../../support/training.js';

const { backbone, dir, run, goldLogLikelihood } = storiesTraining('clinprompt-mpt-', 3);
const SOURCES: NliVariant[] = ['saw', 'had', 'played'];
const TARGET: NliVariant = 'lost';

const read = (variant: NliVariant) =>
  readTaskData(writeLearnableNli(dir(`${variant}.jsonl`), { train: 24, dev: 0, test: 16 }, 11, variant), {
    task: 'nli',
  });

/** Mean log-likelihood of the target's test answers under a run folder's prompt. */
const testGoldLogLikelihood = (adapterDir: string, data: TaskData) =>
  goldLogLikelihood(loadPeftAdapter(adapterDir, backbone.config).prompt, framedTexts(data.task, splitOf(data, 'test')));

const DISTILL = { steps: 60, lr: 0.3 };

describe('multitask prompt tuning', () => {
  let sources: TaskData[];
  let target: TaskData;

  it("stage 1 + 2: distillation lowers each task prompt's KL to its teacher, and ends closer to it than CE alone (lambda 0)", async () => {
    sources = await Promise.all(SOURCES.map(read));
    target = await read(TARGET);
    for (const [k, v] of SOURCES.entries())
      await run('pt', { promptLength: 4 }, { steps: 25, lr: 0.3 }, sources[k]!, `teacher-${v}`);
    const summary = await run(
      'mpt-distill',
      { teachers: SOURCES.map((v) => dir(`teacher-${v}`)) },
      DISTILL,
      sources,
      'meta',
    );
    expect(summary.trainableParameters).toBe(4 * 64 + 3 * 4 * 1 + 3 * 1 * 64);
    expect(summary.tasks!.map((t) => t.name)).toEqual(SOURCES.map((v) => `${v}.jsonl`));
    const control = await run(
      'mpt-distill',
      { teachers: SOURCES.map((v) => dir(`teacher-${v}`)), lambda: 0 },
      DISTILL,
      sources,
      'meta-ce-only',
    );
    summary.tasks!.forEach((t, k) => {
      const ceOnly = control.tasks![k]!.parts.last;
      expect(t.parts.last['kl']!, t.name).toBeLessThan(ceOnly['kl']!);
      expect(t.parts.last['mse']!, t.name).toBeLessThan(ceOnly['mse']!);
      // and distillation itself lowers each task's KL to its teacher by a quarter or more over the run
      // (measured: 2.74 -> 1.01, 1.06 -> 0.52, 0.69 -> 0.10 nats over the first and last 5 steps)
      expect(t.parts.last['kl']!, t.name).toBeLessThan(0.75 * t.parts.first['kl']!);
    });
    const meta = readMetaPrompt(dir('meta'), 64);
    expect([meta.tasks, meta.length, meta.rank]).toEqual([3, 4, 1]);
  });

  it('hiddenWeight scales the hidden-state MSE inside the distillation terms: loss = CE + lambda (KL + w MSE)', async () => {
    for (const [lambda, hiddenWeight] of [
      [1, 0],
      [1, 1],
      [0.5, 2],
    ] as const) {
      // two teachers: P* starts as their mean, away from each (one teacher would start at it: no MSE)
      const teachers = [dir(`teacher-${SOURCES[0]}`), dir(`teacher-${SOURCES[1]}`)];
      const out = `meta-w-${lambda}-${hiddenWeight}`;
      let step: TrainProgress | undefined;
      await run('mpt-distill', { teachers, lambda, hiddenWeight }, { steps: 1 }, sources.slice(0, 2), out, {
        onProgress: (p) => void (p.phase === 'train' && (step = p)),
      });
      const { ce, kl, mse } = step!.parts!;
      expect(step!.loss!, out).toBeCloseTo(ce! + lambda * (kl! + hiddenWeight * mse!), 4);
      expect(mse!, out).toBeGreaterThan(0.01); // the term is there to be weighted
    }
  });

  it('stage 3: at k = 2 per label, adapting P* beats prompt tuning from scratch on the target (mean of 3 draws)', async () => {
    const gains: number[] = [];
    for (const draw of [0, 1, 2]) {
      const few = fewShot(target, 2, draw);
      expect(splitOf(few, 'train')).toHaveLength(4);
      const mpt = await run('mpt', { meta: dir('meta') }, { steps: 10, lr: 0.3 }, few, `mpt-${draw}`);
      await run('pt', { promptLength: 4 }, { steps: 10, lr: 0.3 }, few, `pt-${draw}`);
      expect(mpt.trainableParameters).toBe(4 * 64 + 4 + 64); // L*d + L*r + r*d
      gains.push(
        (await testGoldLogLikelihood(dir(`mpt-${draw}`), target)) -
          (await testGoldLogLikelihood(dir(`pt-${draw}`), target)),
      );
    }
    const mean = gains.reduce((a, b) => a + b, 0) / gains.length;
    expect(mean, `per-draw gains ${gains.map((g) => g.toFixed(2)).join(', ')}`).toBeGreaterThan(1);
  });

  it('the fitted start is the best rank-r approximation of the mean update; average is the mean of each factor', () => {
    const meta = readMetaPrompt(dir('meta'), 64);
    const d = 64;
    const { u: ua, v: va } = averageFactors(meta, d);
    const { u: uf, v: vf } = fitFactors(meta, d);
    const err = (u: Float32Array, v: Float32Array) => {
      let e = 0;
      for (let l = 0; l < meta.length; l++)
        for (let j = 0; j < d; j++) {
          let mean = 0;
          for (let k = 0; k < meta.tasks; k++)
            mean += (meta.cols[k * meta.length + l]! * meta.rows[k * d + j]!) / meta.tasks;
          e += (mean - u[l]! * v[j]!) ** 2;
        }
      return e;
    };
    expect(err(uf, vf)).toBeLessThanOrEqual(err(ua, va) + 1e-9);
    expect(ua[0]).toBeCloseTo((meta.cols[0]! + meta.cols[meta.length]! + meta.cols[2 * meta.length]!) / 3, 6);
  });

  it('a distillation cancelled half-way resumes to the same meta-prompt as an unbroken one', async () => {
    const teachers = SOURCES.map((v) => dir(`teacher-${v}`));
    const settings = { teachers };
    const train = { ...DISTILL, steps: 12, checkpointEvery: 3 };
    const controller = new AbortController();
    let steps = 0;
    await expect(
      run('mpt-distill', settings, train, sources, 'meta-cancelled', {
        signal: controller.signal,
        onProgress: (p) => {
          if (p.phase === 'train' && ++steps === 6) controller.abort();
        },
      }),
    ).rejects.toBeInstanceOf(CancelledError);
    const resumed = await run('mpt-distill', settings, train, sources, 'meta-cancelled');
    expect(resumed.resumedFromStep).toBe(6);
    await run('mpt-distill', settings, train, sources, 'meta-unbroken');
    const a = readMetaPrompt(dir('meta-cancelled'), 64);
    const b = readMetaPrompt(dir('meta-unbroken'), 64);
    expect([...a.shared]).toEqual([...b.shared]);
    expect([...a.cols]).toEqual([...b.cols]);
    expect([...a.rows]).toEqual([...b.rows]);
    expect(readRunRecord(dir('meta-cancelled'))!.steps).toBe(12);
  });

  it("a run's identity covers its teachers' and its meta-prompt's contents: one retrained in place makes a new run", () => {
    const ctx = { backbone, backboneName: 'stories260K' };
    const config = TrainConfigSchema.parse({});
    const teachers = SOURCES.map((v, k) => {
      const copy = dir(`teacher-copy-${k}`);
      cpSync(dir(`teacher-${v}`), copy, { recursive: true });
      return copy;
    });
    const distillKey = () => runKey(backbone, createMethod('mpt-distill', { teachers }, ctx), config, 'sources');
    const before = distillKey();
    expect(distillKey()).toBe(before);
    // the first teacher retrained in the same folder (here: another teacher's prompt written over it)
    copyFileSync(path.join(teachers[1]!, ADAPTER_WEIGHTS), path.join(teachers[0]!, ADAPTER_WEIGHTS));
    expect(distillKey()).not.toBe(before);

    const meta = dir('meta-copy');
    cpSync(dir('meta'), meta, { recursive: true });
    const adaptKey = () => runKey(backbone, createMethod('mpt', { meta }, ctx), config, 'target');
    const first = adaptKey();
    copyFileSync(path.join(dir('meta-ce-only'), ADAPTER_WEIGHTS), path.join(meta, ADAPTER_WEIGHTS));
    expect(adaptKey()).not.toBe(first);
  });
});

/**
 * The task's own metric: accuracy by closed-label scoring (evaluateExamples, as `eval` and the app
 * score it), not log-likelihood. What makes accuracy reachable on stories260K, measured: the task's
 * own template puts the premise right before the answer ("{{premise}} {{hypothesis}}\nAnswer:", a
 * per-task template as users set them; with the default NLI template, PT on 48 examples stays at
 * 0.54-0.56 after 200 steps) and the answers are yes/no (on this template a 100-step PT run on 48
 * examples reached 1.0). Five sources (saw, made, found, got, hugged) and the target (lost) share
 * the rule and the cue words ("happy" -> yes, "sad" -> no); the target's sentence frame is new.
 * Stage 2 runs 900 steps with lambda 0.1: at the default lambda 1 the distilled start P* o (u v)
 * scores 0.54-0.58 on the target and the adapted MPT 0.55-0.61 (two seed sets); with three
 * sources instead of five, two of three seed sets ended at MPT 0.69-0.73. Stage 3 and PT get the
 * same k = 2 per label, 20 steps at lr 0.03 (PT at lr 0.3 or 1.0 is no better). Mean accuracy
 * over 5 draws, MPT vs PT, measured with this code on four (model seed, data seed, draws) sets:
 * 0.97 vs 0.63 (3, 11, draws 0-4: the one below), 0.89 vs 0.54 (7, 23, 5-9), 0.93 vs 0.54
 * (13, 37, 10-14), 0.99 vs 0.52 (21, 51, 15-19); margins 0.34-0.47 against the asserted 0.25.
 */
describe('multitask prompt tuning, measured by accuracy', () => {
  const readYesNo = (variant: NliVariant, seed: number) => readYesNoNli(dir(`yes-no-${variant}.jsonl`), variant, seed);
  const accuracy = async (outDir: string, data: TaskData) =>
    (await evaluateExamples(backbone, loadPeftAdapter(dir(outDir), backbone.config), data.task, splitOf(data, 'test')))
      .value;

  it('at k = 2 per label, adapting P* reaches a higher target accuracy than prompt tuning from scratch (mean of 5 draws)', async () => {
    const sources = await Promise.all(YES_NO_SOURCES.map((v) => readYesNo(v, 11)));
    const target = await readYesNo(YES_NO_TARGET, 11);
    expect(target.task.labels).toEqual(['no', 'yes']);
    for (const [k, v] of YES_NO_SOURCES.entries())
      await run('pt', { promptLength: 8 }, { steps: 200, lr: 0.3 }, sources[k]!, `yes-no-teacher-${v}`);
    const teachers = YES_NO_SOURCES.map((v) => dir(`yes-no-teacher-${v}`));
    await run('mpt-distill', { teachers, lambda: 0.1 }, { steps: 900, lr: 0.1 }, sources, 'yes-no-meta');
    const mpt: number[] = [];
    const pt: number[] = [];
    for (const draw of [0, 1, 2, 3, 4]) {
      const few = fewShot(target, 2, draw);
      await run('mpt', { meta: dir('yes-no-meta') }, { steps: 20, lr: 0.03 }, few, `yes-no-mpt-${draw}`);
      await run('pt', { promptLength: 8 }, { steps: 20, lr: 0.03 }, few, `yes-no-pt-${draw}`);
      mpt.push(await accuracy(`yes-no-mpt-${draw}`, target));
      pt.push(await accuracy(`yes-no-pt-${draw}`, target));
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const detail = `MPT ${mpt.map((a) => a.toFixed(2)).join(', ')}; PT ${pt.map((a) => a.toFixed(2)).join(', ')}`;
    expect(mean(mpt), detail).toBeGreaterThanOrEqual(0.8);
    expect(mean(mpt) - mean(pt), detail).toBeGreaterThanOrEqual(0.25);
  });
});
