/**
 * Would calibrated label scoring change a closed-label target's accuracy? Re-scores the test
 * examples of an experiment's finished cells (clinprompt experiment --out <dir>) with the label
 * scoring evaluation uses (the sum of a label's token log-likelihoods) and with two calibrations:
 * contextual calibration (Zhao et al. 2021: subtract each label's score for a content-free input,
 * here "N/A" and "" in every field, under the same soft prompt) and per-character length
 * normalisation. A third, transductive correction (subtract each label's mean score over the test
 * examples) is printed as an upper bound of what any prior correction could gain, not as a method.
 *
 *   npx tsx bench/label-calibration.ts --out <experiment folder> --target evidence-inference \
 *     --cells pt/k20-d0,mpt/k20-d0,pt/kfull-d0 [--test 100 --threads 2]
 */
import path from 'node:path';

import { BackboneRunner } from '../src-main/backbone/generate/runner.js';
import { sequenceScorer } from '../src-main/backbone/generate/scoring.js';
import { openBackbone } from '../src-main/backbone/load.js';
import { openAdapter } from '../src-main/peft/run-folder.js';
import { readExperimentFolder } from '../src-main/services/experiment-cell.js';
import { readCatalogueData, splitOf } from '../src-main/services/training.js';
import { continuationFor } from '../src-main/tasks/closed-label.js';
import { framePrompt, taskDefinition } from '../src-main/tasks/registry.js';
import { arg } from './support.js';

const outDir = arg('out', '');
const targetName = arg('target', 'evidence-inference');
const cells = arg('cells', 'zero-shot').split(',');
const testCount = Number(arg('test', '100'));
const threads = Number(arg('threads', '2'));

const argmax = (v: readonly number[]) => v.indexOf(Math.max(...v));

async function main(): Promise<void> {
  if (!outDir) throw new Error('--out <experiment folder> is required');
  const config = readExperimentFolder(outDir);
  const target = config.targets.find((t) => t.name === targetName);
  if (!target?.catalogue) throw new Error(`${targetName} is not a catalogue target of ${outDir}`);
  const backbone = openBackbone(config.backbone);
  const data = await readCatalogueData(target.catalogue, config.sharedData);
  const test = splitOf(data, 'test').slice(0, config.testLimit ?? testCount);
  const labels = taskDefinition(data.task.type).closedLabels(test[0]!.input as never, data.task.labels);
  if (!labels) throw new Error(`${targetName} is not a closed-label task`);
  const candidates = labels.map(continuationFor);
  const contentFree = (text: string) =>
    Object.fromEntries(Object.keys(test[0]!.input as object).map((field) => [field, text])) as never;
  for (const cell of cells) {
    const cellDir = path.join(outDir, 'cells', targetName, cell);
    const { adapter } = cell === 'zero-shot' ? { adapter: undefined } : openAdapter(cellDir, backbone);
    const runner = await BackboneRunner.create(backbone, {
      threads,
      batch: labels.length,
      ...(adapter?.graph && { adapter: adapter.graph }),
    });
    try {
      const scorer = sequenceScorer(runner, { prompt: adapter?.prompt });
      const score = (input: never) => scorer.scoreContinuations(framePrompt(data.task, input), candidates);
      const na = await score(contentFree('N/A'));
      const empty = await score(contentFree(''));
      const scores: number[][] = [];
      for (const e of test) scores.push(await score(e.input as never));
      const labelMean = labels.map((_, j) => scores.reduce((a, s) => a + s[j]!, 0) / scores.length);
      const rules: Record<string, (s: number[]) => number[]> = {
        sum: (s) => s,
        'calibrated N/A': (s) => s.map((v, j) => v - na[j]!),
        'calibrated empty': (s) => s.map((v, j) => v - empty[j]!),
        'per character': (s) => s.map((v, j) => v / candidates[j]!.length),
        'test-mean prior (transductive)': (s) => s.map((v, j) => v - labelMean[j]!),
      };
      const accuracy = Object.fromEntries(
        Object.entries(rules).map(([name, rule]) => {
          const right = test.filter(
            (e, i) => labels[argmax(rule(scores[i]!))] === (e.target as { label: string }).label,
          );
          return [name, right.length / test.length];
        }),
      );
      const answers = (rule: (s: number[]) => number[]) =>
        labels.map((l, j) => `${l}: ${scores.filter((s) => argmax(rule(s)) === j).length}`).join(', ');
      console.log(
        JSON.stringify({
          cell,
          accuracy,
          answers: { sum: answers(rules.sum!), 'calibrated N/A': answers(rules['calibrated N/A']!) },
        }),
      );
    } finally {
      await runner.release();
    }
  }
}

await main();
