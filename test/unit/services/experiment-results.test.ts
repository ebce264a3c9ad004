/**
 * The experiment's results from cell results: means and sample standard deviations over draws,
 * the average over targets, the parameters per method, CSV quoting, and the few-shot curve with
 * one panel per task type rendered to SVG (vega) and PNG (resvg).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { summarize, writeResults, type CellResult } from '../../../src-main/services/experiment-results.js';
import { makeTempDir } from '../../support/temp.js';

const tmp = makeTempDir('clinprompt-experiment-results-');
afterAll(() => tmp.cleanup());

const cell = (
  target: string,
  taskType: string,
  method: string,
  k: string,
  draw: number,
  value: number,
): CellResult => ({
  target,
  taskType,
  method,
  k,
  draw,
  metric: taskType === 'nli' ? 'accuracy' : 'f1',
  value,
  trainableParameters: method === 'pt' ? 256 : 324,
  trainableShare: method === 'pt' ? 0.001 : 0.00125,
});

const CELLS = [
  cell('med, nli', 'nli', 'pt', '1', 0, 0.5),
  cell('med, nli', 'nli', 'pt', '1', 1, 0.7),
  cell('med, nli', 'nli', 'mpt', '1', 0, 0.6),
  cell('med, nli', 'nli', 'mpt', '1', 1, 0.9),
  cell('ner', 'ner', 'pt', '1', 0, 0.2),
  cell('ner', 'ner', 'pt', '1', 1, 0.4),
  cell('ner', 'ner', 'mpt', '1', 0, 0.3),
  cell('ner', 'ner', 'mpt', '1', 1, 0.3),
];

describe('experiment results', () => {
  it('summarizes draws (mean, sample std), averages targets, and reports parameters per method', () => {
    const { rows, parameters } = summarize(CELLS, ['pt', 'mpt'], ['1']);
    const row = (t: string, m: string) => rows.find((r) => r.target === t && r.method === m)!;
    expect(row('med, nli', 'mpt').mean).toBeCloseTo(0.75, 12);
    expect(row('med, nli', 'mpt').std).toBeCloseTo(0.3 / Math.SQRT2, 12);
    expect(row('ner', 'mpt').std).toBe(0);
    expect(row('AVERAGE', 'pt').mean).toBeCloseTo((0.6 + 0.3) / 2, 12);
    expect(rows.map((r) => `${r.target}/${r.method}`)).toEqual([
      'med, nli/pt',
      'med, nli/mpt',
      'ner/pt',
      'ner/mpt',
      'AVERAGE/pt',
      'AVERAGE/mpt',
    ]);
    expect(parameters).toEqual([
      { method: 'pt', trainableParameters: 256, trainableShare: 0.001 },
      { method: 'mpt', trainableParameters: 324, trainableShare: 0.00125 },
    ]);
  });

  it('writes the table files and a curve with one panel per task type', async () => {
    const files = await writeResults(tmp.dir, CELLS, ['pt', 'mpt'], ['1']);
    const csv = readFileSync(files.csv, 'utf8').split('\n');
    expect(csv[1]).toMatch(/^"med, nli",nli,pt,1,accuracy,0\.6/);
    expect(readFileSync(files.markdown, 'utf8')).toContain('## ner (ner, f1)');
    const svg = readFileSync(files.svg, 'utf8');
    for (const panel of ['>nli</text>', '>ner</text>', '>pt</text>', '>mpt</text>']) expect(svg).toContain(panel);
    const png = readFileSync(files.png);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    // two panels side by side: a panel's width (260) wider than the curve of one task type
    mkdirSync(path.join(tmp.dir, 'one'));
    const one = await writeResults(
      path.join(tmp.dir, 'one'),
      CELLS.filter((c) => c.taskType === 'nli'),
      ['pt', 'mpt'],
      ['1'],
    );
    expect(png.readUInt32BE(16) - readFileSync(one.png).readUInt32BE(16)).toBeGreaterThan(250);
  });
});
