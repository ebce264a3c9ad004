/**
 * `npm run bench:mpt-init`: which start of MPT's stage 3 adapts better? Stage 3 starts from the
 * shared meta-prompt P* with u, v either `fit` (the best rank-r fit of the mean source update
 * mean_k(u_k v_k^T)) or `average` (the mean u_k and mean v_k, PEFT's AVERAGE_SOURCE_TASKS).
 * On the embedded backbone with its shipped meta-prompt, each target task is adapted with both
 * starts, and with prompt tuning from scratch for reference, on the same seeded few-shot draws and
 * budget as the committed protocol (docs/results/embedded-protocol), then scored on the first test
 * examples by the mean log-likelihood of their gold answers' first 160 characters (nats per example;
 * it moves where the embedded backbone's task metrics stay at 0) and, for closed-label targets, by accuracy.
 *
 *   npm run bench:mpt-init [-- --targets evidence-inference,bc5cdr,ddi --k 1,5 --draws 3 --test 50 --threads 2]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { BackboneRunner } from '../src-main/backbone/generate/runner.js';
import { scoreContinuations } from '../src-main/backbone/generate/scoring.js';
import { embeddedBackboneDir, shippedMetaPromptDir } from '../src-main/backbone/embedded.js';
import { openBackbone } from '../src-main/backbone/load.js';
import { TrainConfigSchema } from '../src-main/peft/config.js';
import { createMethod } from '../src-main/peft/methods.js';
import { openAdapter } from '../src-main/peft/run-folder.js';
import {
  evaluateExamples,
  fewShot,
  framedTexts,
  readCatalogueData,
  splitOf,
  trainRun,
} from '../src-main/services/training.js';
import { taskDefinition } from '../src-main/tasks/registry.js';
import { arg, machine, REPO_ROOT, writeResults } from './support.js';

const targets = arg('targets', 'evidence-inference,bc5cdr,ddi').split(',');
const ks = arg('k', '1,5').split(',').map(Number);
const draws = Number(arg('draws', '3'));
const testCount = Number(arg('test', '50'));
const threads = Number(arg('threads', '2'));
// the committed protocol's budget (docs/results/embedded-protocol/config.json)
const train = { steps: 60, lr: 0.3, batchSize: 8, maxLength: 192, threads };
// Long answers (relation and entity lists) would not fit the 256-token context beside the text.
const GOLD_CHARS = 160;
const VARIANTS = [
  { key: 'fit', method: 'mpt', settings: { init: 'fit' } },
  { key: 'average', method: 'mpt', settings: { init: 'average' } },
  { key: 'pt', method: 'pt', settings: { promptLength: 16 } },
] as const;
type VariantKey = (typeof VARIANTS)[number]['key'];

interface Row {
  target: string;
  k: number;
  draw: number;
  variant: VariantKey;
  goldNats: number;
  accuracy?: number;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: readonly number[]) =>
  xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1));
const fmt = (xs: readonly number[], digits = 2) => `${mean(xs).toFixed(digits)} ± ${sd(xs).toFixed(digits)}`;

async function main(): Promise<void> {
  const before = machine();
  const backbone = openBackbone(embeddedBackboneDir());
  const ctx = { backbone, backboneName: 'embedded' };
  const meta = shippedMetaPromptDir();
  const scratch = mkdtempSync(join(tmpdir(), 'bench-mpt-init-'));
  const rows: Row[] = [];
  const started = performance.now();
  try {
    for (const target of targets) {
      const all = await readCatalogueData(target, join(REPO_ROOT, '..', 'shared', 'data'));
      const test = splitOf(all, 'test').slice(0, testCount);
      const texts = framedTexts(all.task, test);
      const closed = taskDefinition(all.task.type).closedLabels(test[0]!.input as never, all.task.labels) !== undefined;
      for (const k of ks)
        for (let draw = 0; draw < draws; draw++)
          for (const v of VARIANTS) {
            const outDir = join(scratch, `${target}-${v.key}-k${k}-d${draw}`);
            const settings = v.method === 'mpt' ? { ...v.settings, meta } : v.settings;
            await trainRun({
              backbone,
              backboneName: 'embedded',
              method: createMethod(v.method, settings, ctx),
              config: TrainConfigSchema.parse(train),
              data: fewShot(all, k, draw),
              outDir,
              devLimit: 0,
            });
            const { adapter } = openAdapter(outDir, backbone);
            const runner = await BackboneRunner.create(backbone, { threads });
            let total = 0;
            try {
              for (const t of texts)
                total += (
                  await scoreContinuations(runner, t.prompt, [t.target.slice(0, GOLD_CHARS)], {
                    prompt: adapter?.prompt,
                  })
                )[0]!;
            } finally {
              await runner.release();
            }
            const row: Row = { target, k, draw, variant: v.key, goldNats: total / texts.length };
            if (closed) row.accuracy = (await evaluateExamples(backbone, adapter, all.task, test, { threads })).value;
            rows.push(row);
            rmSync(outDir, { recursive: true, force: true });
            console.error(JSON.stringify(row));
          }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const minutes = (performance.now() - started) / 60000;

  const lines = [
    `# MPT stage 3: fit versus average start, ${before.date}`,
    '',
    'The embedded backbone with its shipped meta-prompt; each target adapted on the same seeded few-shot draws',
    `(k per label for closed-label tasks, ${draws} draws) with the committed protocol's budget (60 steps of batch 8 at lr 0.3),`,
    `MPT from the \`fit\` and the \`average\` start and prompt tuning from scratch (16 tokens). Scored on the first ${testCount}`,
    `test examples: the mean log-likelihood of the gold answer's first ${GOLD_CHARS} characters (nats per example, higher is better) and, for`,
    'closed-label targets, accuracy. Mean ± sample standard deviation over the draws. "fit better" counts the draws',
    'where `fit` scored the gold answers higher than `average` on the same draw.',
    `${before.cpus} cores (${before.cpuModel ?? 'unknown CPU'}), ${threads} threads, ${minutes.toFixed(1)} min;`,
    `1-minute load average ${before.loadAverage[0]!.toFixed(1)} before (other work shares this machine).`,
    '',
    '| target | k | fit: gold nats | average: gold nats | PT: gold nats | fit better | fit / average / PT accuracy |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const target of targets)
    for (const k of ks) {
      const of = (variant: VariantKey) => rows.filter((r) => r.target === target && r.k === k && r.variant === variant);
      const fit = of('fit');
      const average = of('average');
      const wins = fit.filter((r, i) => r.goldNats > average[i]!.goldNats).length;
      const accuracy =
        fit[0]?.accuracy === undefined
          ? ''
          : VARIANTS.map((v) =>
              fmt(
                of(v.key).map((r) => r.accuracy!),
                3,
              ),
            ).join(' / ');
      lines.push(
        `| ${target} | ${k} | ${fmt(fit.map((r) => r.goldNats))} | ${fmt(average.map((r) => r.goldNats))} | ${fmt(of('pt').map((r) => r.goldNats))} | ${wins} of ${fit.length} | ${accuracy} |`,
      );
    }
  // per-example nats differ by two orders of magnitude between targets: count paired wins, not a mean
  const fitRows = rows.filter((r) => r.variant === 'fit');
  const twin = (r: Row, variant: VariantKey) =>
    rows.find((o) => o.target === r.target && o.k === r.k && o.draw === r.draw && o.variant === variant)!;
  const beats = (variant: VariantKey) => fitRows.filter((r) => r.goldNats > twin(r, variant).goldNats).length;
  lines.push(
    '',
    `Over every draw: fit scored the gold answers higher than average on ${beats('average')} of ${fitRows.length}, and higher than PT on ${beats('pt')} of ${fitRows.length}.`,
  );
  const md = writeResults('mpt-init', { machine: before, train, testCount, rows }, lines);
  console.log(lines.join('\n'));
  console.error(`written: ${md}`);
}

await main();
