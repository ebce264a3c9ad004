/**
 * `clinprompt experiment` on the real stories260K model with learnable NLI variants and a budget of
 * a few steps: the plan a config makes; a whole experiment (teachers, distillation, PT / MPT / LoRA
 * at k = 0, 2 and full over 2 draws on 2 targets) writing the results table (markdown, CSV, JSON,
 * checked against the cells' own test results) and the few-shot curve (SVG, PNG); an experiment
 * cancelled after some cells completing on rerun without redoing them (their files untouched);
 * a target that is also a source refused in the config's words.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { threadId } from 'node:worker_threads';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CancelledError } from '../../../src-main/common/errors.js';
import { EXIT } from '../../../src-main/cli/exit-codes.js';
import { JobManager } from '../../../src-main/jobs/job-manager.js';
import { launchThreadWorker } from '../../../src-main/jobs/thread-transport.js';
import {
  CELL_RESULT,
  ExperimentConfigSchema,
  isCellFinished,
  planExperiment,
  readExperimentConfig,
  resolveExperimentConfig,
  runExperiment,
  type ExperimentSummary,
} from '../../../src-main/services/experiment.js';
import { readRunRecord } from '../../../src-main/peft/run-folder.js';
import type { CellResult } from '../../../src-main/services/experiment-results.js';
import { runCliCaptured } from '../../support/cli.js';
import { learnableNliRows, writeLearnableNli, type NliVariant } from '../../support/learnable-task.js';
import { REPO_ROOT, SHARED_DIR } from '../../support/paths.js';
import { makeTempDir } from '../../support/temp.js';
import { STORIES_DIR } from '../../support/tiny-llama.js';

const tmp = makeTempDir('clinprompt-experiment-');
afterAll(() => tmp.cleanup());
const env = { CLINPROMPT_HOME: path.join(tmp.dir, 'home'), CLINPROMPT_MODEL_CACHE: path.join(tmp.dir, 'cache') };
const dir = (name: string) => path.join(tmp.dir, name);

const SHORT = { steps: 3, lr: 0.3, batchSize: 4 };
const nli = (variant: NliVariant) => ({ data: `${variant}.jsonl`, task: 'nli' });

function configFile(name: string, overrides: Record<string, unknown> = {}): string {
  const file = dir(name);
  const config = {
    backbone: STORIES_DIR,
    sources: [nli('saw'), nli('had')],
    targets: [nli('lost'), nli('played')],
    methods: ['pt', 'mpt', 'lora'],
    k: [0, 2, 'full'],
    draws: 2,
    budgets: {
      pt: { settings: { promptLength: 4 }, train: SHORT },
      mpt: { train: SHORT },
      lora: { settings: { rank: 2 }, train: { ...SHORT, lr: 0.01 } },
    },
    teacher: { settings: { promptLength: 4 }, train: SHORT },
    distill: { train: SHORT },
    testLimit: 8,
    ...overrides,
  };
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

beforeAll(() => {
  for (const [i, variant] of (['saw', 'had', 'lost', 'played'] as const).entries())
    writeLearnableNli(dir(`${variant}.jsonl`), { train: 16, dev: 0, test: 8 }, 20 + i, variant);
});

describe('clinprompt experiment', () => {
  it('plans teachers, distillation, one zero-shot cell per target and method x k x draw adaptations', () => {
    const config = readExperimentConfig(configFile('plan.json'));
    const cells = planExperiment(config, dir('plan-out'));
    const ids = cells.map((c) => c.id);
    expect(ids.slice(0, 3)).toEqual(['teachers/saw', 'teachers/had', 'distill']);
    // per target: zero-shot + 3 methods x (2 draws of k = 2 + one of full)
    expect(cells).toHaveLength(3 + 2 * (1 + 3 * 3));
    expect(ids).toContain('cells/lost/zero-shot');
    expect(ids).toContain('cells/played/mpt/k2-d1');
    expect(ids).toContain('cells/played/lora/kfull-d0');
    expect(ids).not.toContain('cells/played/lora/kfull-d1');
    expect(cells.find((c) => c.id === 'cells/lost/mpt/k2-d0')!.needs).toEqual(['distill']);
    expect(cells.find((c) => c.id === 'cells/lost/pt/k2-d0')!.needs).toEqual([]);
    expect(cells.find((c) => c.id === 'distill')!.needs).toEqual(['teachers/saw', 'teachers/had']);
    // the same config in YAML plans the same cells
    const yamlFile = dir('plan.yaml');
    writeFileSync(
      yamlFile,
      [
        `backbone: ${STORIES_DIR}`,
        'sources:',
        '  - { data: saw.jsonl, task: nli }',
        '  - data: had.jsonl',
        '    task: nli',
        'targets: [{ data: lost.jsonl, task: nli }, { data: played.jsonl, task: nli }]',
        'methods: [pt, mpt, lora]',
        'k: [0, 2, full]',
        'draws: 2',
      ].join('\n'),
    );
    expect(planExperiment(readExperimentConfig(yamlFile), dir('plan-out'))).toEqual(cells);
  });

  it('the committed example config is valid, plans the paper grid, and every config field is documented', () => {
    const raw = JSON.parse(readFileSync(path.join(REPO_ROOT, 'docs', 'experiment.example.json'), 'utf8')) as {
      sources: { data: string; task?: string }[];
      targets: { data: string; task?: string }[];
    };
    // its files, where a hospital's exports would be (store dataset names need nothing)
    mkdirSync(dir('exports'));
    for (const t of [...raw.sources, ...raw.targets]) if (t.task) writeFileSync(dir(t.data), '');
    const example = resolveExperimentConfig(raw, tmp.dir);
    const cells = planExperiment(example, dir('example-out'));
    // 3 teachers + distill; per target: zero-shot + 4 methods x (4 k values x 10 draws + full)
    expect(cells).toHaveLength(3 + 1 + 3 * (1 + 4 * (4 * 10 + 1)));
    const doc = readFileSync(path.join(REPO_ROOT, 'docs', 'experiment.md'), 'utf8');
    for (const field of Object.keys(ExperimentConfigSchema.shape)) expect(doc, field).toContain(`| \`${field}\``);
  });

  it('refuses a target that is also a source, and bad budgets, naming the config field', async () => {
    const overlap = await runCliCaptured(
      ['experiment', configFile('overlap.json', { targets: [nli('lost'), nli('had')] }), '--out', dir('never')],
      env,
    );
    expect(overlap.code).not.toBe(EXIT.ok);
    expect(overlap.stderr).toContain('targets[1].data');
    expect(overlap.stderr).toContain('sources[1]');
    expect(() =>
      resolveExperimentConfig(
        {
          backbone: 'b',
          targets: [{ data: 'x' }],
          methods: ['pt'],
          budgets: { pt: { settings: { promptLength: 0 } } },
        },
        tmp.dir,
      ),
    ).toThrow(/budgets\.pt\.settings\.promptLength/);
    expect(() =>
      resolveExperimentConfig(
        { backbone: 'b', targets: [{ data: 'gone.jsonl', task: 'nli' }], methods: ['pt'] },
        tmp.dir,
      ),
    ).toThrow(/targets\[0\]\.data: the file "gone\.jsonl" does not exist/);
    expect(() =>
      resolveExperimentConfig({ backbone: 'b', targets: [{ data: 'x' }], methods: ['pt', 'mpt'] }, tmp.dir),
    ).toThrow(/sources: .*mpt/);
    expect(() =>
      resolveExperimentConfig({ backbone: 'b', targets: [{ data: 'x' }], methods: ['pt'], k: [1, 'all'] }, tmp.dir),
    ).toThrow(/k\[1\]/);
  });

  it('runs end to end: the table per target and method, the average, trainable parameters, and the curve', async () => {
    const out = dir('e2e');
    const args = ['experiment', configFile('e2e.json'), '--out', out, '--parallel', '2'];
    const run = await runCliCaptured(args, env);
    expect(run.code, run.stderr).toBe(EXIT.ok);
    expect(run.stdout).toContain('Ran 23 of 23 cells (0 finished before)');
    // overall progress, cell by cell, with an ETA from the pace so far
    expect(run.stderr).toMatch(/\] 1\/23 /);
    expect(run.stderr).toMatch(/\] 22\/23 .*ETA/);
    expect(run.stderr).toMatch(/\] 23\/23 /);
    const again = await runCliCaptured(['--json', ...args], env);
    expect(again.code, again.stderr).toBe(EXIT.ok);
    expect(JSON.parse(again.stdout)).toMatchObject({ cells: 23, ran: [], skipped: 23 });

    const json = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')) as {
      rows: { target: string; method: string; k: string; mean: number; std: number; draws: number }[];
      parameters: { method: string; trainableParameters: number; trainableShare: number }[];
      cells: CellResult[];
    };
    // 2 targets + the average, 3 methods, 3 k values
    expect(json.rows).toHaveLength(3 * 3 * 3);
    const row = (target: string, method: string, k: string) =>
      json.rows.find((r) => r.target === target && r.method === method && r.k === k)!;
    // Each row is the mean and sample std of its cells' own test results.
    for (const target of ['lost', 'played'])
      for (const method of ['pt', 'mpt', 'lora']) {
        const values = [0, 1].map(
          (d) =>
            (
              JSON.parse(
                readFileSync(path.join(out, `cells/${target}/${method}/k2-d${d}`, CELL_RESULT), 'utf8'),
              ) as CellResult
            ).value,
        );
        const mean = (values[0]! + values[1]!) / 2;
        expect(row(target, method, '2').mean).toBeCloseTo(mean, 10);
        expect(row(target, method, '2').std).toBeCloseTo(Math.abs(values[0]! - values[1]!) / Math.SQRT2, 10);
        expect(row(target, method, 'full').draws).toBe(1);
        // k = 0 is the untrained backbone, the same for every method
        expect(row(target, method, '0').mean).toBe(row(target, 'pt', '0').mean);
      }
    expect(row('AVERAGE', 'mpt', '2').mean).toBeCloseTo(
      (row('lost', 'mpt', '2').mean + row('played', 'mpt', '2').mean) / 2,
      10,
    );
    const params = Object.fromEntries(json.parameters.map((p) => [p.method, p.trainableParameters]));
    expect(params).toMatchObject({ pt: 4 * 64, mpt: 4 * 64 + 4 + 64 });
    expect(params['lora']).toBeGreaterThan(0);

    const md = readFileSync(path.join(out, 'results.md'), 'utf8');
    expect(md).toContain('## lost (nli, accuracy)');
    expect(md).toContain('## Average over targets');
    expect(md).toMatch(/\| mpt \| [0-9.]+ ± [0-9.]+ \|/);
    const csv = readFileSync(path.join(out, 'results.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('target,task_type,method,k,metric,mean,std,draws,trainable,trainable_share');
    expect(csv).toHaveLength(1 + 27);
    const svg = readFileSync(path.join(out, 'curve.svg'), 'utf8');
    expect(svg).toMatch(/^<svg/);
    for (const label of ['pt', 'mpt', 'lora', 'nli']) expect(svg).toContain(`>${label}</text>`);
    expect(readFileSync(path.join(out, 'curve.png')).subarray(1, 4).toString()).toBe('PNG');
    // a finished cell keeps its adapter and results, not its resumable state
    const cellFiles = readdirSync(path.join(out, 'cells/lost/mpt/k2-d0'));
    expect(cellFiles).toEqual(
      expect.arrayContaining(['run.json', 'adapter_model.safetensors', 'eval-test.json', CELL_RESULT]),
    );
    expect(cellFiles.filter((f) => f.startsWith('checkpoint'))).toEqual([]);
  }, 360_000); // 23 cells, each a worker of its own that loads the sources and the engine

  it('adapts an already distilled meta-prompt: no teachers, and never to one of its own source tasks', async () => {
    const metaPrompt = path.join(dir('e2e'), 'distill'); // distilled from saw + had by the run above
    const file = configFile('given-meta.json', {
      sources: [],
      metaPrompt,
      targets: [nli('lost')],
      methods: ['mpt'],
      k: [2],
      draws: 1,
    });
    const config = readExperimentConfig(file);
    expect(planExperiment(config, dir('given-meta-out')).map((c) => c.id)).toEqual(['cells/lost/mpt/k2-d0']);
    const run = await runCliCaptured(['--json', 'experiment', file, '--out', dir('given-meta-out')], env);
    expect(run.code, run.stderr).toBe(EXIT.ok);
    const cell = JSON.parse(
      readFileSync(path.join(dir('given-meta-out'), 'cells/lost/mpt/k2-d0/run.json'), 'utf8'),
    ) as {
      settings: { meta: string };
    };
    expect(cell.settings.meta).toBe(metaPrompt);

    expect(() =>
      readExperimentConfig(configFile('taught.json', { sources: [], metaPrompt, targets: [nli('had')] })),
    ).toThrow(/targets\[0\]\.data: "had" is one of the meta-prompt's source tasks \(saw\.jsonl, had\.jsonl\)/);
    expect(() => readExperimentConfig(configFile('both.json', { metaPrompt }))).toThrow(
      /metaPrompt: give either sources/,
    );
    expect(() =>
      readExperimentConfig(configFile('not-meta.json', { sources: [], metaPrompt: dir('e2e/teachers/saw') })),
    ).toThrow(/metaPrompt: .* is not a distilled meta-prompt/);
  });

  it('reads a public catalogue dataset as a target, as clinprompt import reads it', async () => {
    const target = { catalogue: 'evidence-inference' };
    const file = configFile('catalogue.json', {
      sources: [],
      targets: [target],
      methods: ['pt'],
      k: [0],
      sharedData: path.join(SHARED_DIR, 'data'),
      testLimit: 6,
    });
    const out = dir('catalogue-out');
    const run = await runCliCaptured(['--json', 'experiment', file, '--out', out], env);
    expect(run.code, run.stderr).toBe(EXIT.ok);
    const result = JSON.parse(
      readFileSync(path.join(out, 'cells/evidence-inference/zero-shot', CELL_RESULT), 'utf8'),
    ) as CellResult;
    expect(result).toMatchObject({ target: 'evidence-inference', taskType: 'nli', metric: 'accuracy' });
    const predictions = readFileSync(
      path.join(out, 'cells/evidence-inference/zero-shot/predictions-test.jsonl'),
      'utf8',
    );
    expect(predictions.trim().split('\n')).toHaveLength(6);

    expect(() =>
      resolveExperimentConfig({ targets: [{ catalogue: 'mimic-iv' }], methods: ['pt'], backbone: 'b' }, tmp.dir),
    ).toThrow(/targets\[0\]\.catalogue: "mimic-iv" is not in the catalogue/);
    expect(() =>
      resolveExperimentConfig({ targets: [{ catalogue: 'ddi', data: 'x' }], methods: ['pt'], backbone: 'b' }, tmp.dir),
    ).toThrow(/targets\[0\]: give either data or catalogue/);
    expect(() =>
      resolveExperimentConfig(
        { sources: [{ catalogue: 'ddi' }], targets: [{ catalogue: 'ddi' }], methods: ['pt'], backbone: 'b' },
        tmp.dir,
      ),
    ).toThrow(/targets\[0\]\.catalogue: "ddi" is also sources\[0\]/);
  });

  it("reads a target as clinprompt import does: a hospital's CSV export, its columns mapped", async () => {
    const rows = learnableNliRows({ train: 12, dev: 0, test: 6 }, 31, 'lost') as {
      split: string;
      input: { premise: string; hypothesis: string };
      target: { label: string };
    }[];
    const quote = (cell: string) => `"${cell.replaceAll('"', '""')}"`;
    const lines = rows.map((r) => [r.input.premise, r.input.hypothesis, r.target.label, r.split].map(quote).join(','));
    writeFileSync(dir('ward-nli.csv'), ['Note,Claim,Verdict,Part', ...lines].join('\n') + '\n');
    const mapping = 'premise=Note,hypothesis=Claim,label=Verdict,split=Part';
    const target = { data: 'ward-nli.csv', format: 'csv', task: 'nli', mapping };
    const file = configFile('imported.json', { sources: [], targets: [target], methods: ['pt'], k: [0, 2], draws: 1 });
    const out = dir('imported-out');
    const run = await runCliCaptured(['--json', 'experiment', file, '--out', out], env);
    expect(run.code, run.stderr).toBe(EXIT.ok);
    const cellDir = path.join(out, 'cells/ward-nli/pt/k2-d0');
    const result = JSON.parse(readFileSync(path.join(cellDir, CELL_RESULT), 'utf8')) as CellResult;
    expect(result).toMatchObject({ target: 'ward-nli', taskType: 'nli', metric: 'accuracy', k: '2' });
    // trained on the mapped file's draw (2 per label) and evaluated on its 6 test rows
    expect(readRunRecord(cellDir)!.data).toMatchObject({ name: 'ward-nli.csv', train: 4 });
    expect(readRunRecord(cellDir)!.data.version).toMatch(/^csv:[0-9a-f]{16}#k2d0$/);
    expect(readFileSync(path.join(cellDir, 'predictions-test.jsonl'), 'utf8').trim().split('\n')).toHaveLength(6);

    const refused = (t: object) => () =>
      resolveExperimentConfig({ targets: [t], methods: ['pt'], backbone: 'b' }, tmp.dir);
    expect(refused({ data: 'ward-nli.csv', task: 'nli', mapping })).toThrow(
      /targets\[0\]: mapping and read go with a format/,
    );
    expect(refused({ data: 'ward-nli.csv', format: 'csv' })).toThrow(/targets\[0\]\.task: a file read as csv needs/);
    expect(refused({ data: 'notes', format: 'notes', task: 'nli' })).toThrow(/targets\[0\]\.format/);
    expect(refused({ data: 'ward-nli.csv', format: 'csv', task: 'nli', read: { devFromTrain: 2 } })).toThrow(
      /targets\[0\]\.read\.devFromTrain/,
    );
  });

  it('takes a target from the encrypted store by its dataset name', async () => {
    const storeEnv = { ...env, CLINPROMPT_PASSPHRASE: 'experiment store passphrase', CLINPROMPT_USER: 'admin' };
    const cli = (...argv: string[]) => runCliCaptured(argv, storeEnv);
    expect((await cli('store', 'init')).code).toBe(EXIT.ok);
    const imported = await cli('import', 'jsonl', dir('lost.jsonl'), '--task', 'nli', '--name', 'lost-in-store');
    expect(imported.code, imported.stderr).toBe(EXIT.ok);
    const file = configFile('store.json', {
      sources: [],
      targets: [{ data: 'lost-in-store' }],
      methods: ['pt'],
      k: [0, 2],
      draws: 1,
    });
    const out = dir('store-out');
    const run = await cli('--json', 'experiment', file, '--out', out);
    expect(run.code, run.stderr).toBe(EXIT.ok);
    const result = JSON.parse(
      readFileSync(path.join(out, 'cells/lost-in-store/pt/k2-d0', CELL_RESULT), 'utf8'),
    ) as CellResult;
    expect(result).toMatchObject({
      target: 'lost-in-store',
      taskType: 'nli',
      method: 'pt',
      k: '2',
      metric: 'accuracy',
    });
    expect(readFileSync(path.join(out, 'results.md'), 'utf8')).toContain('## lost-in-store (nli, accuracy)');
  });

  it('runs cells as jobs in separate workers, --parallel 2 of them at once', async () => {
    const file = configFile('parallel.json', { sources: [], targets: [nli('lost')], methods: ['pt'], k: [2] });
    const out = dir('parallel');
    const run = await runCliCaptured(['--json', 'experiment', file, '--out', out, '--parallel', '2'], env);
    expect(run.code, run.stderr).toBe(EXIT.ok);
    const summary = JSON.parse(run.stdout) as ExperimentSummary;
    expect(summary.ran.toSorted()).toEqual(['cells/lost/pt/k2-d0', 'cells/lost/pt/k2-d1']);
    const [a, b] = summary.jobs;
    // two jobs, each in a worker of its own (not the main thread), whose runs overlapped in time
    expect(a!.jobId).not.toBe(b!.jobId);
    expect(new Set([a!.thread, b!.thread, threadId]).size).toBe(3);
    expect(Date.parse(a!.startedAt)).toBeLessThan(Date.parse(b!.finishedAt));
    expect(Date.parse(b!.startedAt)).toBeLessThan(Date.parse(a!.finishedAt));
    expect(summary.files?.markdown).toBe(path.join(out, 'results.md'));
  });

  it('lists the cells, and runs one cell by hand as a cluster job would once its inputs exist', async () => {
    const file = configFile('by-hand.json', { targets: [nli('lost')], methods: ['mpt'], k: [2], draws: 1 });
    const out = dir('by-hand');
    const cli = (...argv: string[]) => runCliCaptured(['--json', 'experiment', file, '--out', out, ...argv], env);
    const listed = await cli('--list');
    expect(listed.code, listed.stderr).toBe(EXIT.ok);
    expect(JSON.parse(listed.stdout)).toEqual([
      { id: 'teachers/saw', needs: [], finished: false },
      { id: 'teachers/had', needs: [], finished: false },
      { id: 'distill', needs: ['teachers/saw', 'teachers/had'], finished: false },
      { id: 'cells/lost/mpt/k2-d0', needs: ['distill'], finished: false },
    ]);
    const early = await cli('--cell', 'distill');
    expect(early.code).toBe(EXIT.usage);
    expect(early.stderr).toContain('--cell distill needs teachers/saw, teachers/had, not finished yet');
    const teacher = await cli('--cell', 'teachers/saw');
    expect(teacher.code, teacher.stderr).toBe(EXIT.ok);
    expect(JSON.parse(teacher.stdout)).toMatchObject({ ran: ['teachers/saw'] });
    expect(JSON.parse(teacher.stdout)).not.toHaveProperty('files');
    expect((await cli('--cell', 'nope')).stderr).toContain('--cell nope is no cell of this experiment');
    // the rest in one call; then every cell is finished and the results are written
    const rest = await cli();
    expect(rest.code, rest.stderr).toBe(EXIT.ok);
    expect(JSON.parse(rest.stdout)).toMatchObject({
      ran: ['teachers/had', 'distill', 'cells/lost/mpt/k2-d0'],
      skipped: 1,
    });
  });

  it('a failing cell names itself and keeps the finished cells', async () => {
    writeFileSync(dir('broken.jsonl'), '{"premise": "a", "hypo\n');
    const file = configFile('failing.json', {
      sources: [],
      targets: [nli('lost'), { data: 'broken.jsonl', task: 'nli' }],
      methods: ['pt'],
      k: [0],
    });
    const out = dir('failing');
    // the broken target's cell fails in its job; the lost target's, planned first, is kept
    const config = readExperimentConfig(file);
    await expect(runExperiment({ config, outDir: out, modelCache: env.CLINPROMPT_MODEL_CACHE })).rejects.toThrow(
      /^Cell cells\/broken\/zero-shot failed: .*broken\.jsonl.* Finished cells are kept/,
    );
    const [lost, broken] = planExperiment(config, out);
    expect(isCellFinished(lost!)).toBe(true);
    expect(isCellFinished(broken!)).toBe(false);
  });

  it('an experiment cancelled after some cells, and again inside a running cell, completes on rerun without redoing them', async () => {
    const config = readExperimentConfig(
      configFile('resume.json', { targets: [nli('lost')], methods: ['pt', 'mpt'], k: [2], draws: 2 }),
    );
    const out = dir('resume');
    const request = { config, outDir: out, modelCache: env.CLINPROMPT_MODEL_CACHE };
    const controller = new AbortController();
    await expect(
      runExperiment({
        ...request,
        signal: controller.signal,
        // step: cells finished so far
        onProgress: (p) => {
          if (p.step === 4) controller.abort();
        },
      }),
    ).rejects.toThrow(/Experiment stopped: 4 of 7 cells are finished .* --out .* again to resume/);
    const cells = planExperiment(config, out);
    const done = cells.filter(isCellFinished);
    expect(done.map((c) => c.id)).toEqual(['teachers/saw', 'teachers/had', 'distill', 'cells/lost/pt/k2-d0']);
    const resultFile = (id: string) => path.join(out, id, id.startsWith('cells/') ? CELL_RESULT : 'run.json');
    const before = new Map(done.map((c) => [c.id, statSync(resultFile(c.id)).mtimeMs]));

    // the signal while the next cell's job is running: the job is cancelled, the cell left unfinished
    const jobs = new JobManager(() => launchThreadWorker());
    const midway = new AbortController();
    jobs.subscribe({ onDidProgress: () => midway.abort() });
    const stopped = runExperiment({ ...request, jobs, signal: midway.signal });
    await expect(stopped).rejects.toBeInstanceOf(CancelledError);
    expect(jobs.list().map((j) => j.status)).toEqual(['cancelled']);
    expect(cells.filter(isCellFinished)).toHaveLength(4);

    const resumed = await runExperiment(request);
    expect(resumed.skipped).toBe(4);
    expect(resumed.ran).toEqual(['cells/lost/pt/k2-d1', 'cells/lost/mpt/k2-d0', 'cells/lost/mpt/k2-d1']);
    for (const [id, mtime] of before) expect(statSync(resultFile(id)).mtimeMs, id).toBe(mtime);
    expect(cells.every(isCellFinished)).toBe(true);

    // a method added to the finished experiment runs only its own cells
    const withLora = await runExperiment({ ...request, config: { ...config, methods: ['pt', 'mpt', 'lora'] } });
    expect(withLora.skipped).toBe(7);
    expect(withLora.ran).toEqual(['cells/lost/lora/k2-d0', 'cells/lost/lora/k2-d1']);

    // a method's cells with another budget would mix two experiments: refused, in the config's words,
    // also after a rerun that left the method out
    const changed = { ...config, budgets: { ...config.budgets, pt: { train: { steps: 5 } } } };
    await expect(runExperiment({ ...request, config: changed })).rejects.toThrow(
      /--out .* holds pt cells trained with another budget \(budgets\.pt\)/,
    );
    await runExperiment({ ...request, config: { ...config, methods: ['lora'] } });
    await expect(runExperiment({ ...request, config: { ...changed, methods: ['lora', 'pt'] } })).rejects.toThrow(
      /holds pt cells trained with another budget/,
    );
    // so are another backbone-wide setting and a stage's budget
    await expect(runExperiment({ ...request, config: { ...config, testLimit: 3 } })).rejects.toThrow(
      /--out .* another backbone, sources, teacher or distill budget, devLimit or testLimit/,
    );
  });
});
