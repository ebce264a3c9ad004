/**
 * The wizard's charts drawn by vega-lite in Node: each spec rendered to SVG, checked through the
 * ARIA labels vega writes on every mark (the data it drew, not the pixels).
 */
import { describe, expect, it } from 'vitest';

import {
  fewShotCurveSpec,
  labelBalanceSpec,
  lossCurveSpec,
  renderChartSvg,
} from '../../../src-main/services/charts.js';

/** The aria-label of each mark of one kind ("bar", "line mark", ...), in drawing order. */
function markLabels(svg: string, kind: string): string[] {
  return [...svg.matchAll(/<path [^>]*aria-label="([^"]*)"[^>]*aria-roledescription="([^"]*)"/g)]
    .filter((m) => m[2] === kind)
    .map((m) => m[1]!);
}

describe('charts', () => {
  it('draws the loss curve with one point per step on an axis that spans the whole run', async () => {
    const svg = await renderChartSvg(lossCurveSpec([2, 1.5, 1.25], 10));
    expect(svg).toMatch(/^<svg[^>]*>/);
    expect(svg).toContain("X-axis titled 'training step' for a linear scale with values from 1 to 10");
    expect(markLabels(svg, 'point')).toEqual([
      'training step: 1; training loss: 2',
      'training step: 2; training loss: 1.5',
      'training step: 3; training loss: 1.25',
    ]);
  });

  it('draws the few-shot curve: a line and an interval band per method', async () => {
    const points = [
      { method: 'pt', k: 0, estimate: 0.5, low: 0.4, high: 0.6 },
      { method: 'pt', k: 8, estimate: 0.75, low: 0.625, high: 0.875 },
      { method: 'lora', k: 0, estimate: 0.5, low: 0.4, high: 0.6 },
      { method: 'lora', k: 8, estimate: 0.625, low: 0.5, high: 0.75 },
    ];
    const svg = await renderChartSvg(fewShotCurveSpec(points, 'accuracy'));
    expect(svg).toContain("Y-axis titled 'accuracy'");
    expect(svg).toContain("X-axis titled 'training examples (k)'");
    expect(markLabels(svg, 'point')).toContain('training examples (k): 8; accuracy: 0.75; method: pt');
    expect(markLabels(svg, 'point')).toHaveLength(4);
    expect(markLabels(svg, 'line mark')).toHaveLength(2);
    expect(markLabels(svg, 'area mark')).toHaveLength(2);
  });

  it('draws label balance as one bar per label and split', async () => {
    const svg = await renderChartSvg(labelBalanceSpec({ train: { yes: 5, no: 2 }, dev: {}, test: { yes: 1 } }));
    expect(markLabels(svg, 'bar').sort()).toEqual([
      'examples: 1; label: yes; split: test',
      'examples: 2; label: no; split: train',
      'examples: 5; label: yes; split: train',
    ]);
  });
});
