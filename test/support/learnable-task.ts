/**
 * A small closed-label task a tiny model can learn, in the JSONL export format (`clinprompt
 * datasets export`): NLI over TinyStories-style sentences, where the label depends on one word of
 * the premise ("happy" -> entailment, "sad" -> contradiction of "<name> was happy"). Chance is 50%.
 * The answer words can be other than entailment/contradiction (e.g. yes/no) for the same rule.
 */
import { writeFileSync } from 'node:fs';

import { seededRandom } from '../../src-main/common/random.js';
import { readTaskData, type TaskData } from '../../src-main/services/training.js';

const NAMES = ['Lily', 'Tom', 'Sue', 'Ben', 'Max', 'Amy', 'Tim', 'Sam'];
const THINGS = ['ball', 'dog', 'cake', 'tree', 'car', 'hat', 'bird', 'box'];

/**
 * Variants of the task sharing its structure (the label vocabulary, the answer format, the word
 * that decides), for multitask tests: sources to distil from and a target none of them is.
 */
export const NLI_VARIANTS = {
  saw: { verb: 'saw a', positive: 'happy', negative: 'sad', hypothesis: 'was happy' },
  had: { verb: 'had a', positive: 'glad', negative: 'sad', hypothesis: 'was glad' },
  played: { verb: 'played with a', positive: 'happy', negative: 'angry', hypothesis: 'was happy' },
  lost: { verb: 'lost a', positive: 'happy', negative: 'sad', hypothesis: 'was happy' },
  made: { verb: 'made a', positive: 'happy', negative: 'sad', hypothesis: 'was happy' },
  found: { verb: 'found a', positive: 'happy', negative: 'sad', hypothesis: 'was happy' },
  got: { verb: 'got a', positive: 'happy', negative: 'sad', hypothesis: 'was happy' },
  hugged: { verb: 'hugged a', positive: 'happy', negative: 'sad', hypothesis: 'was happy' },
} as const;
export type NliVariant = keyof typeof NLI_VARIANTS;

/** The answers for the premise's positive and negative word, in that order. */
export type NliAnswers = readonly [positive: string, negative: string];
const ENTAILMENT: NliAnswers = ['entailment', 'contradiction'];

export function learnableNliRows(
  counts: { train: number; dev: number; test: number },
  seed = 5,
  variant: NliVariant = 'saw',
  answers: NliAnswers = ENTAILMENT,
) {
  const v = NLI_VARIANTS[variant];
  const r = seededRandom(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const rows: object[] = [];
  for (const split of ['train', 'dev', 'test'] as const)
    for (let i = 0; i < counts[split]; i++) {
      const happy = r() < 0.5;
      const name = pick(NAMES);
      const label = happy ? answers[0] : answers[1];
      rows.push({
        id: `${split}-${i + 1}`,
        split,
        input: {
          premise: `${name} ${v.verb} ${pick(THINGS)} and was very ${happy ? v.positive : v.negative}.`,
          hypothesis: `${name} ${v.hypothesis}.`,
        },
        target: { label },
        labels: [label],
      });
    }
  return rows;
}

export function writeLearnableNli(
  file: string,
  counts = { train: 64, dev: 32, test: 32 },
  seed = 5,
  variant: NliVariant = 'saw',
  answers: NliAnswers = ENTAILMENT,
): string {
  writeFileSync(
    file,
    learnableNliRows(counts, seed, variant, answers)
      .map((row) => JSON.stringify(row))
      .join('\n') + '\n',
  );
  return file;
}

/**
 * The MPT accuracy setup (mpt.test.ts, `npm run bench:distill-weights`): five source frames and an
 * unseen target frame sharing the rule, answered yes/no right after the premise by the task's own
 * template (the one a model this small reaches accuracy on).
 */
export const YES_NO_SOURCES: readonly NliVariant[] = ['saw', 'made', 'found', 'got', 'hugged'];
export const YES_NO_TARGET: NliVariant = 'lost';
const YES_NO_TEMPLATE = '{{premise}} {{hypothesis}}\nAnswer:';

/** One frame of the yes/no setup written to `file` (48 train, 64 test) and read as import reads it. */
export async function readYesNoNli(file: string, variant: NliVariant, seed: number): Promise<TaskData> {
  writeLearnableNli(file, { train: 48, dev: 0, test: 64 }, seed, variant, ['yes', 'no']);
  const data = await readTaskData(file, { task: 'nli' });
  return { ...data, task: { ...data.task, template: YES_NO_TEMPLATE } };
}
