/**
 * Closed-label scoring (DESIGN.md section 2): for NLI, yes/no/maybe and multiple-choice QA, and RE
 * with a given pair, the answer is the allowed label whose text is most likely as a continuation
 * of the prompt, instead of free generation; a model cannot answer outside the label set this way
 * (the "rank classification" of Brown et al. 2020 and T0, Sanh et al. 2022).
 *
 * The backbone supplies the log-likelihoods through `SequenceScorer`; this module is the pure
 * selection logic over them and knows nothing of tensors.
 */
import { framePrompt, taskDefinition, type TaskConfig } from './registry.js';
import type { TaskInput, TaskType } from './types.js';

/** What the backbone provides: log P(candidate | prompt), natural log, summed over the candidate's tokens. */
export interface SequenceScorer {
  scoreContinuations(prompt: string, candidates: readonly string[]): Promise<number[]>;
}

export type LengthNormalization = 'none' | 'per-character';

export interface LabelScore {
  readonly label: string;
  readonly logLikelihood: number;
  /** The score compared: the log-likelihood, or it divided by the candidate's length. */
  readonly score: number;
  /** Softmax of the compared scores over the allowed labels. */
  readonly probability: number;
}

export interface ClosedLabelChoice {
  readonly label: string;
  readonly scores: readonly LabelScore[];
}

/** The continuation text scored for a label: the same leading space the training targets have. */
export function continuationFor(label: string): string {
  return ` ${label}`;
}

/**
 * Picks the label with the highest (optionally length-normalised) log-likelihood. Ties go to the
 * earlier label, so the result does not depend on floating-point noise in the ordering.
 */
export async function chooseLabel(
  scorer: SequenceScorer,
  prompt: string,
  labels: readonly string[],
  options: { normalization?: LengthNormalization } = {},
): Promise<ClosedLabelChoice> {
  if (labels.length === 0) throw new Error('chooseLabel needs at least one label');
  const candidates = labels.map(continuationFor);
  const logLikelihoods = await scorer.scoreContinuations(prompt, candidates);
  if (logLikelihoods.length !== labels.length || logLikelihoods.some((v) => Number.isNaN(v))) {
    throw new Error(`The scorer returned ${logLikelihoods.length} scores for ${labels.length} candidates`);
  }
  const normalize = options.normalization === 'per-character';
  const compared = logLikelihoods.map((ll, i) => (normalize ? ll / (candidates[i] as string).length : ll));
  const max = Math.max(...compared);
  const exps = compared.map((s) => Math.exp(s - max));
  const total = exps.reduce((a, b) => a + b, 0);
  const scores = labels.map((label, i) => ({
    label,
    logLikelihood: logLikelihoods[i] as number,
    score: compared[i] as number,
    probability: (exps[i] as number) / total,
  }));
  let best = 0;
  compared.forEach((s, i) => {
    if (s > (compared[best] as number)) best = i;
  });
  return { label: labels[best] as string, scores };
}

/** Frames the input with the task's template and chooses among the task's closed labels. */
export async function predictClosedLabel<T extends TaskType>(
  scorer: SequenceScorer,
  config: TaskConfig<T>,
  input: TaskInput<T>,
  options: { normalization?: LengthNormalization } = {},
): Promise<ClosedLabelChoice> {
  const labels = taskDefinition(config.type).closedLabels(input, config.labels);
  if (labels === undefined || labels.length === 0) {
    throw new Error(`Task type ${config.type} has no closed label set for this example; generate instead`);
  }
  return chooseLabel(scorer, framePrompt(config, input), labels, options);
}
