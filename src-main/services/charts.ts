/**
 * The wizard's charts: vega-lite specs for the loss curve, the few-shot curve and the label
 * balance, and the one renderer that draws any spec to SVG in Node (vega, no DOM). Charts are drawn
 * here rather than in the page because vega evaluates generated code, which the page's CSP forbids;
 * the page shows the SVG as an image with the numbers in its text alternative.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

import type { FewShotPointView } from '../ipc/contract.js';

export async function renderChartSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** The loss curve: training loss per step, the x axis spanning the whole run so progress shows. */
export function lossCurveSpec(losses: readonly number[], totalSteps: number): TopLevelSpec {
  return {
    background: 'white',
    width: 520,
    height: 200,
    data: { values: losses.map((loss, i) => ({ step: i + 1, loss })) },
    mark: { type: 'line', point: losses.length <= 60, color: '#1f5f8b' },
    encoding: {
      x: {
        field: 'step',
        type: 'quantitative',
        title: 'training step',
        scale: { domain: [1, Math.max(2, totalSteps, losses.length)] },
        axis: { tickMinStep: 1 },
      },
      y: { field: 'loss', type: 'quantitative', title: 'training loss', scale: { zero: false } },
    },
  };
}

/**
 * The few-shot curve as the Evaluate step draws it: the headline metric against the training
 * examples (k, 0 = untrained), one line per method, its bootstrap interval as a band.
 */
export function fewShotCurveSpec(points: readonly FewShotPointView[], metric: string): TopLevelSpec {
  const x = { field: 'k', type: 'quantitative', title: 'training examples (k)', axis: { tickMinStep: 1 } } as const;
  const color = { field: 'method', type: 'nominal', title: 'method' } as const;
  return {
    background: 'white',
    width: 420,
    height: 220,
    data: { values: points.map((p) => ({ ...p })) },
    layer: [
      {
        mark: { type: 'area', opacity: 0.2 },
        encoding: {
          x,
          y: { field: 'low', type: 'quantitative', title: metric, scale: { zero: false } },
          y2: { field: 'high' },
          color,
        },
      },
      {
        mark: { type: 'line', point: true },
        encoding: { x, y: { field: 'estimate', type: 'quantitative', title: metric }, color },
      },
    ],
  };
}

/** Label balance: how often each label occurs in each split, one bar per label, stacked by split. */
export function labelBalanceSpec(counts: Readonly<Record<string, Readonly<Record<string, number>>>>): TopLevelSpec {
  const values = Object.entries(counts).flatMap(([split, labels]) =>
    Object.entries(labels).map(([label, count]) => ({ split, label, count })),
  );
  return {
    background: 'white',
    width: 420,
    data: { values },
    mark: 'bar',
    encoding: {
      y: { field: 'label', type: 'nominal', title: 'label', sort: '-x' },
      x: { field: 'count', type: 'quantitative', title: 'examples', stack: 'zero' },
      color: { field: 'split', type: 'nominal', title: 'split', sort: ['train', 'dev', 'test'] },
    },
  };
}
