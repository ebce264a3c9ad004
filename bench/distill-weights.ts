/**
 * `npm run bench:distill-weights`: what MPT's distillation terms do to target accuracy. The setup
 * of mpt.test.ts's accuracy test on the real stories260K model: five yes/no source tasks sharing a
 * rule, prompt-tuning teachers (stage 1), distillation (stage 2, 900 steps) under each weighting,
 * then stage 3 on an unseen target frame at k = 2 per label, 5 draws, scored by accuracy on 64 test
 * examples. Weightings: lambda in {0, 0.1, 1}, with the hidden-state MSE (hiddenWeight 1, the
 * paper's sum) or without it (0). Two seed sets, weak teachers (200 steps) and strong ones (800).
 *
 *   npm run bench:distill-weights [-- --seeds 3:11,7:23 --teacher-steps 200,800]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { openBackbone } from '../src-main/backbone/load.js';
import { TrainConfigSchema } from '../src-main/peft/config.js';
import { createMethod } from '../src-main/peft/methods.js';
import { openAdapter } from '../src-main/peft/run-folder.js';
import { evaluateExamples, fewShot, splitOf, trainRun, type TaskData } from '../src-main/services/training.js';
import { readYesNoNli, YES_NO_SOURCES, YES_NO_TARGET, type NliVariant } from '../test/support/learnable-task.js';
import { STORIES_DIR } from '../test/support/tiny-llama.js';
import { arg, machine, writeResults } from './support.js';

const seedSets = arg('seeds', '3:11,7:23')
  .split(',')
  .map((s) => s.split(':').map(Number) as [number, number]);
const teacherBudgets = arg('teacher-steps', '200,800').split(',').map(Number);
const WEIGHTINGS = [
  { lambda: 0, hiddenWeight: 1 },
  { lambda: 0.1, hiddenWeight: 1 },
  { lambda: 0.1, hiddenWeight: 0 },
  { lambda: 1, hiddenWeight: 1 },
  { lambda: 1, hiddenWeight: 0 },
];
const DRAWS = [0, 1, 2, 3, 4];
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

interface Row {
  seeds: string;
  teacherSteps: number;
  teachers: number[];
  lambda: number;
  hiddenWeight: number;
  accuracies: number[];
}

async function main(): Promise<void> {
  const before = machine();
  const scratch = mkdtempSync(join(tmpdir(), 'bench-distill-weights-'));
  const rows: Row[] = [];
  try {
    const backbone = openBackbone(STORIES_DIR, { cacheDir: scratch });
    const ctx = { backbone, backboneName: 'stories260K' };
    const dir = (name: string) => join(scratch, name);
    const run = (
      method: string,
      settings: Record<string, unknown>,
      seed: number,
      train: object,
      data: TaskData | TaskData[],
      out: string,
    ) =>
      trainRun({
        ...ctx,
        method: createMethod(method, settings, ctx),
        config: TrainConfigSchema.parse({ seed, batchSize: 8, ...train }),
        data,
        outDir: dir(out),
      });
    const accuracy = async (out: string, data: TaskData) =>
      (await evaluateExamples(backbone, openAdapter(dir(out), backbone).adapter, data.task, splitOf(data, 'test')))
        .value;
    for (const [seed, dataSeed] of seedSets) {
      const read = (v: NliVariant) => readYesNoNli(dir(`${dataSeed}-${v}.jsonl`), v, dataSeed);
      const sources = await Promise.all(YES_NO_SOURCES.map(read));
      const target = await read(YES_NO_TARGET);
      for (const teacherSteps of teacherBudgets) {
        const tag = `${seed}-${dataSeed}-${teacherSteps}`;
        const teachers = YES_NO_SOURCES.map((v) => `teacher-${tag}-${v}`);
        for (const [k, t] of teachers.entries())
          await run('pt', { promptLength: 8 }, seed, { steps: teacherSteps, lr: 0.3 }, sources[k]!, t);
        const teacherAccuracy = await Promise.all(teachers.map((t, k) => accuracy(t, sources[k]!)));
        for (const w of WEIGHTINGS) {
          const meta = `meta-${tag}-${w.lambda}-${w.hiddenWeight}`;
          console.error(`[${tag}] lambda ${w.lambda}, hiddenWeight ${w.hiddenWeight}`);
          await run('mpt-distill', { teachers: teachers.map(dir), ...w }, seed, { steps: 900, lr: 0.1 }, sources, meta);
          const accuracies = [];
          for (const draw of DRAWS) {
            await run(
              'mpt',
              { meta: dir(meta) },
              seed,
              { steps: 20, lr: 0.03 },
              fewShot(target, 2, draw),
              `${meta}-${draw}`,
            );
            accuracies.push(await accuracy(`${meta}-${draw}`, target));
          }
          rows.push({ seeds: `${seed}/${dataSeed}`, teacherSteps, teachers: teacherAccuracy, ...w, accuracies });
        }
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const f = (x: number) => x.toFixed(2);
  const lines = [
    `# Distillation weights and target accuracy ${before.date}`,
    '',
    "MPT on stories260K (the setup of mpt.test.ts's accuracy test): 5 yes/no source tasks, prompt-tuning",
    'teachers (L = 8), distillation 900 steps at lr 0.1, then stage 3 on the unseen target frame at k = 2 per',
    'label (20 steps at lr 0.03), accuracy on 64 test examples, 5 draws. loss = CE + lambda (KL + w MSE).',
    '',
    "| seeds (model/data) | teacher steps | teachers' accuracy on their sources | lambda | w (hiddenWeight) | target accuracy per draw | mean |",
    '|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.seeds} | ${r.teacherSteps} | ${r.teachers.map(f).join(' ')} | ${r.lambda} | ${r.lambda === 0 ? '-' : r.hiddenWeight} | ${r.accuracies.map(f).join(' ')} | ${mean(r.accuracies).toFixed(3)} |`,
    ),
  ];
  const md = writeResults('distill-weights', { meta: { ...before, seedSets, teacherBudgets }, rows }, lines);
  console.log(lines.join('\n'));
  console.error(`written: ${md}`);
}

await main();
