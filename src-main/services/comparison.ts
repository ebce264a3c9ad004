/**
 * The Evaluate step's use case: a trained run and the untrained backbone scored on the same
 * held-out examples, as the wizard shows them: every metric with its bootstrap interval, the
 * per-label breakdown, and each example's gold answer beside both models' outputs. Runs in a job
 * worker; the examples come from the host in memory.
 */
import type { Backbone } from '../backbone/load.js';
import type { EvaluatedExampleView, EvaluationView, MetricView } from '../ipc/contract.js';
import { openAdapter } from '../peft/run-folder.js';
import type { Evaluation } from '../tasks/evaluate.js';
import { frameExample } from '../tasks/registry.js';
import type { Example, Split, TaskTarget } from '../tasks/types.js';
import { inputFields } from './note-run.js';
import { evaluateExamples, type EvaluateOptions, type TaskData } from './training.js';

export interface CompareRequest extends EvaluateOptions {
  readonly backbone: Backbone;
  /** The trained run folder. */
  readonly run: string;
  readonly data: TaskData;
  readonly split: Split;
  readonly limit: number;
}

export async function compareWithBaseline(r: CompareRequest): Promise<EvaluationView> {
  const examples = r.data.examples.filter((e) => e.split === r.split && e.target !== null).slice(0, r.limit);
  const options: EvaluateOptions = {
    ...(r.provider && { provider: r.provider }),
    ...(r.threads !== undefined && { threads: r.threads }),
  };
  const opened = openAdapter(r.run, r.backbone);
  const adapted = await evaluateExamples(opened.backbone, opened.adapter, r.data.task, examples, options);
  const baseline = await evaluateExamples(r.backbone, undefined, r.data.task, examples, options);
  const labels = [
    ...new Set([
      ...Object.keys(adapted.evaluation.breakdown ?? {}),
      ...Object.keys(baseline.evaluation.breakdown ?? {}),
    ]),
  ].sort();
  const prf = (e: Evaluation, label: string) => {
    const p = e.breakdown?.[label];
    return p ? { precision: p.precision, recall: p.recall, f1: p.f1 } : null;
  };
  return {
    split: r.split,
    n: adapted.evaluation.n,
    headline: adapted.metric,
    confidence: adapted.evaluation.metrics[adapted.metric]!.confidence,
    adapted: metricViews(adapted.evaluation),
    baseline: metricViews(baseline.evaluation),
    perLabel: labels.map((label) => ({
      label,
      adapted: prf(adapted.evaluation, label),
      baseline: prf(baseline.evaluation, label),
    })),
    unparseable: { adapted: adapted.evaluation.unparseable, baseline: baseline.evaluation.unparseable },
    examples: examples.map((e, i): EvaluatedExampleView => {
      const gold = goldText(r.data, e);
      const a = adapted.predictions[i]!.output;
      const b = baseline.predictions[i]!.output;
      return {
        id: adapted.predictions[i]!.id,
        input: inputText(e),
        gold,
        adapted: a,
        baseline: b,
        adaptedCorrect: same(a, gold),
        baselineCorrect: same(b, gold),
      };
    }),
  };
}

function metricViews(e: Evaluation): MetricView[] {
  return Object.entries(e.metrics).map(([name, m]) => ({ name, estimate: m.estimate, low: m.low, high: m.high }));
}

/** The gold answer as the model is taught to write it. */
function goldText(data: TaskData, e: Example): string {
  return frameExample(data.task, e.input, e.target as TaskTarget).target.trim();
}

/** The example's input fields, one per line, for reading beside the answers. */
function inputText(e: Example): string {
  return Object.entries(inputFields(e))
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n');
}

/** Exact match after collapsing whitespace and case: an error is what differs from the gold answer. */
function same(output: string, gold: string): boolean {
  const norm = (s: string) => s.trim().replace(/\s+/g, ' ').toLowerCase();
  return norm(output) === norm(gold);
}
