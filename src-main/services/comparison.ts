/**
 * The Evaluate step's use case: a trained run, the untrained backbone and any baseline runs (other
 * methods or other k) scored on the same held-out examples, as the wizard shows them: every metric
 * with its percentile-bootstrap interval (tasks/metrics/bootstrap.ts: seeded, resampling examples;
 * F1, macro-F1 and ROUGE are not binomial proportions, so Wilson intervals would not fit them),
 * the per-label breakdown, each example's gold answer beside the outputs, and the few-shot curve's
 * points. Runs in a job worker; the examples come from the host in memory.
 */
import type { Backbone } from '../backbone/load.js';
import type {
  BaselineRunView,
  EvaluatedExampleView,
  EvaluationView,
  FewShotPointView,
  MetricView,
} from '../ipc/contract.js';
import { openAdapter, readRunRecord } from '../peft/run-folder.js';
import type { Evaluation } from '../tasks/evaluate.js';
import { frameExample } from '../tasks/registry.js';
import type { Example, Split, TaskTarget } from '../tasks/types.js';
import { inputFields } from './note-run.js';
import { evaluateExamples, type EvaluateOptions, type TaskData } from './training.js';

export interface CompareRequest extends EvaluateOptions {
  readonly backbone: Backbone;
  /** The trained run folder. */
  readonly run: string;
  /** Other finished run folders scored on the same examples. */
  readonly baselines?: readonly string[];
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
  const scoreRun = async (dir: string) => {
    const opened = openAdapter(dir, r.backbone);
    const record = readRunRecord(dir);
    const run = await evaluateExamples(opened.backbone, opened.adapter, r.data.task, examples, options);
    return { run, method: record?.method ?? 'unknown', trainExamples: record?.data.train ?? 0 };
  };
  const { run: adapted, method, trainExamples } = await scoreRun(r.run);
  const baseline = await evaluateExamples(r.backbone, undefined, r.data.task, examples, options);
  const runs: BaselineRunView[] = [];
  for (const dir of r.baselines ?? []) {
    const scored = await scoreRun(dir);
    runs.push({
      run: dir,
      method: scored.method,
      trainExamples: scored.trainExamples,
      metrics: metricViews(scored.run.evaluation),
      unparseable: scored.run.evaluation.unparseable,
    });
  }
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
  const view: Omit<EvaluationView, 'curve'> = {
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
    method,
    trainExamples,
    runs,
  };
  return { ...view, curve: fewShotPoints(view) };
}

/**
 * The few-shot curve's points: the headline metric of each run at its k, per method, and of the
 * untrained backbone at k = 0 for every method (where each curve starts, as in the paper's figure);
 * empty unless some method was run at two or more k, since one point per method is no curve.
 */
export function fewShotPoints(view: Omit<EvaluationView, 'curve'>): FewShotPointView[] {
  const headline = (metrics: readonly MetricView[]) => metrics.find((m) => m.name === view.headline);
  const trained = [
    { method: view.method, k: view.trainExamples, metric: headline(view.adapted) },
    ...view.runs.map((run) => ({ method: run.method, k: run.trainExamples, metric: headline(run.metrics) })),
  ];
  const untrained = headline(view.baseline);
  const points: FewShotPointView[] = [];
  for (const { method, k, metric } of trained)
    // a method's first run at a given k stands for it (the adapted prompt comes first)
    if (metric !== undefined && !points.some((p) => p.method === method && p.k === k))
      points.push({ method, k, estimate: metric.estimate, low: metric.low, high: metric.high });
  const curves = [...new Set(points.map((p) => p.method))].filter(
    (m) => points.filter((p) => p.method === m).length >= 2,
  );
  const start = (method: string): FewShotPointView[] =>
    untrained === undefined || points.some((p) => p.method === method && p.k === 0)
      ? []
      : [{ method, k: 0, estimate: untrained.estimate, low: untrained.low, high: untrained.high }];
  return curves
    .flatMap((m) => [...start(m), ...points.filter((p) => p.method === m)])
    .sort((a, b) => a.method.localeCompare(b.method) || a.k - b.k);
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
