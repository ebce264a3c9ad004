/**
 * An experiment's results from its finished cells: per target, method and k the metric's mean and
 * standard deviation over the seeded draws, the average over targets, each method's trainable
 * parameters; written as markdown, CSV and JSON, and the few-shot curve (metric vs k, mean with a
 * standard-deviation band, one line per method, one panel per task type, as the paper's figure 2)
 * drawn by vega-lite and rendered to SVG by vega (services/charts.ts), to PNG by resvg.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';

import { Resvg } from '@resvg/resvg-js';
import type { TopLevelSpec } from 'vega-lite';

import { csvLine } from '../data/exporters.js';
import { renderChartSvg } from './charts.js';

/** One finished adaptation cell's test result. */
export interface CellResult {
  readonly target: string;
  readonly taskType: string;
  readonly method: string;
  /** "0", "1", ... or "full". */
  readonly k: string;
  readonly draw: number;
  readonly metric: string;
  readonly value: number;
  /** 0 for the untrained zero-shot evaluation. */
  readonly trainableParameters: number;
  readonly trainableShare: number;
}

export interface ResultRow {
  /** A target's name, or AVERAGE (the mean over targets of their means). */
  readonly target: string;
  readonly taskType: string;
  readonly method: string;
  readonly k: string;
  readonly metric: string;
  readonly mean: number;
  readonly std: number;
  readonly draws: number;
}

export interface MethodParameters {
  readonly method: string;
  readonly trainableParameters: number;
  readonly trainableShare: number;
}

export interface ExperimentResults {
  readonly rows: readonly ResultRow[];
  readonly parameters: readonly MethodParameters[];
}

export const AVERAGE = 'AVERAGE';

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** Sample standard deviation (n - 1); 0 for a single draw. */
const std = (xs: readonly number[]) =>
  xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1));

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}

/** Rows in the order of the given methods and k values; targets in the order they first appear. */
export function summarize(
  cells: readonly CellResult[],
  methods: readonly string[],
  ks: readonly string[],
): ExperimentResults {
  const perTarget: ResultRow[] = [];
  for (const group of groupBy(cells, (c) => `${c.target}\u0000${c.method}\u0000${c.k}`).values()) {
    const first = group[0]!;
    const values = group.map((c) => c.value);
    perTarget.push({
      target: first.target,
      taskType: first.taskType,
      method: first.method,
      k: first.k,
      metric: first.metric,
      mean: mean(values),
      std: std(values),
      draws: values.length,
    });
  }
  const targets = [...new Set(cells.map((c) => c.target))];
  const averages: ResultRow[] = [];
  for (const group of groupBy(perTarget, (r) => `${r.method}\u0000${r.k}`).values())
    averages.push({
      target: AVERAGE,
      taskType: [...new Set(group.map((r) => r.taskType))].join('+'),
      method: group[0]!.method,
      k: group[0]!.k,
      metric: [...new Set(group.map((r) => r.metric))].join('+'),
      mean: mean(group.map((r) => r.mean)),
      std: mean(group.map((r) => r.std)),
      draws: Math.min(...group.map((r) => r.draws)),
    });
  const order = (r: ResultRow) => [
    r.target === AVERAGE ? targets.length : targets.indexOf(r.target),
    methods.indexOf(r.method),
    ks.indexOf(r.k),
  ];
  const rows = [...perTarget, ...averages].sort((a, b) => {
    const [x, y] = [order(a), order(b)];
    return x[0]! - y[0]! || x[1]! - y[1]! || x[2]! - y[2]!;
  });
  const parameters = methods.map((method) => {
    const trained = cells.find((c) => c.method === method && c.trainableParameters > 0);
    return {
      method,
      trainableParameters: trained?.trainableParameters ?? 0,
      trainableShare: trained?.trainableShare ?? 0,
    };
  });
  return { rows, parameters };
}

const cell = (r: ResultRow | undefined) => (r ? `${r.mean.toFixed(4)} ± ${r.std.toFixed(4)}` : '');

/** Markdown: a table per target (and the average) with methods as rows and k as columns. */
export function resultsMarkdown(results: ExperimentResults, ks: readonly string[]): string {
  const lines: string[] = ['# Experiment results', ''];
  lines.push(
    'Test metric: mean ± sample standard deviation over the seeded draws of each k (k = full: all training data, one draw;',
    'k = 0: the untrained backbone, the same for every method). The average over targets is the mean of their means ± the mean of their standard deviations.',
    '',
  );
  for (const [target, rows] of groupBy(results.rows, (r) => r.target)) {
    const first = rows[0]!;
    lines.push(`## ${target === AVERAGE ? 'Average over targets' : target} (${first.taskType}, ${first.metric})`, '');
    lines.push(`| method | ${ks.map((k) => `k = ${k}`).join(' | ')} |`, `|---|${ks.map(() => '---').join('|')}|`);
    for (const [method, methodRows] of groupBy(rows, (r) => r.method))
      lines.push(`| ${method} | ${ks.map((k) => cell(methodRows.find((r) => r.k === k))).join(' | ')} |`);
    lines.push('');
  }
  lines.push('## Trainable parameters', '', '| method | trainable | share of the backbone |', '|---|---|---|');
  for (const p of results.parameters)
    lines.push(
      `| ${p.method} | ${p.trainableParameters.toLocaleString('en-US')} | ${(100 * p.trainableShare).toPrecision(3)}% |`,
    );
  return lines.join('\n') + '\n';
}

/** CSV: one line per target (or AVERAGE), method and k, with the method's trainable parameters. */
export function resultsCsv(results: ExperimentResults): string {
  const header = [
    'target',
    'task_type',
    'method',
    'k',
    'metric',
    'mean',
    'std',
    'draws',
    'trainable',
    'trainable_share',
  ];
  const lines = results.rows.map((r) => {
    const p = results.parameters.find((q) => q.method === r.method);
    return csvLine([
      r.target,
      r.taskType,
      r.method,
      r.k,
      r.metric,
      r.mean,
      r.std,
      r.draws,
      p?.trainableParameters ?? 0,
      p?.trainableShare ?? 0,
    ]);
  });
  return [header.join(','), ...lines].join('\n') + '\n';
}

/**
 * The few-shot curve's vega-lite spec: per task type (a panel), method (a line) and k, the mean
 * over that type's targets of their mean metric, with a band of ± the mean standard deviation.
 */
export function curveSpec(results: ExperimentResults, ks: readonly string[]): TopLevelSpec {
  const points = [
    ...groupBy(
      results.rows.filter((r) => r.target !== AVERAGE),
      (r) => `${r.taskType}\u0000${r.method}\u0000${r.k}`,
    ).values(),
  ].map((group) => {
    const m = mean(group.map((r) => r.mean));
    const s = mean(group.map((r) => r.std));
    return { taskType: group[0]!.taskType, method: group[0]!.method, k: group[0]!.k, mean: m, low: m - s, high: m + s };
  });
  const x = {
    field: 'k',
    type: 'ordinal',
    sort: [...ks],
    title: 'k (training examples; full = all)',
    axis: { labelAngle: 0 },
  } as const;
  return {
    background: 'white',
    data: { values: points },
    facet: { column: { field: 'taskType', type: 'nominal', title: 'task type' } },
    spec: {
      width: 260,
      height: 200,
      layer: [
        {
          mark: { type: 'area', opacity: 0.2 },
          encoding: {
            x: { ...x, scale: { type: 'point' } },
            y: { field: 'low', type: 'quantitative', title: 'test metric', scale: { zero: false } },
            y2: { field: 'high' },
            color: { field: 'method', type: 'nominal' },
          },
        },
        {
          mark: { type: 'line', point: true },
          encoding: {
            x: { ...x, scale: { type: 'point' } },
            y: { field: 'mean', type: 'quantitative' },
            color: { field: 'method', type: 'nominal' },
          },
        },
      ],
    },
  } as TopLevelSpec;
}

export interface ResultFiles {
  readonly markdown: string;
  readonly csv: string;
  readonly json: string;
  readonly svg: string;
  readonly png: string;
}

/** Writes results.{md,csv,json} and curve.{svg,png} into dir. */
export async function writeResults(
  dir: string,
  cells: readonly CellResult[],
  methods: readonly string[],
  ks: readonly string[],
): Promise<ResultFiles> {
  const results = summarize(cells, methods, ks);
  const files: ResultFiles = {
    markdown: path.join(dir, 'results.md'),
    csv: path.join(dir, 'results.csv'),
    json: path.join(dir, 'results.json'),
    svg: path.join(dir, 'curve.svg'),
    png: path.join(dir, 'curve.png'),
  };
  writeFileSync(files.markdown, resultsMarkdown(results, ks));
  writeFileSync(files.csv, resultsCsv(results));
  writeFileSync(files.json, JSON.stringify({ ...results, cells }, null, 2) + '\n');
  const svg = await renderChartSvg(curveSpec(results, ks));
  writeFileSync(files.svg, svg);
  writeFileSync(files.png, new Resvg(svg, { background: 'white', font: { loadSystemFonts: true } }).render().asPng());
  return files;
}
