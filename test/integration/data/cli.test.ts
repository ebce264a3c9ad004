/**
 * The data commands end to end: `clinprompt import` of every source task of the catalogue from
 * ../shared/data into a real encrypted store, `datasets list --json`, a malformed file that
 * imports nothing, and export to JSONL and BRAT read back by the importers. In-process through
 * runCli; one store shared by the steps, which run in order (each unlock derives the key, ~1 s).
 */
import { mkdirSync, readdirSync, statSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SOURCE_TASKS, importCommand } from '../../../src-main/data/catalogue.js';
import type { ImportOutcome } from '../../../src-main/services/datasets.js';
import type { DatasetSummary } from '../../../src-main/store/repositories/datasets.js';
import { runCliCaptured, type CliRun } from '../../support/cli.js';
import { SHARED_DIR } from '../../support/paths.js';
import { makeTempDir } from '../../support/temp.js';

const json = <T>(run: CliRun): T => JSON.parse(run.stdout) as T;
const DATA = path.join(SHARED_DIR, 'data');

describe('clinprompt import / datasets', () => {
  const tmp = makeTempDir('clinprompt-cli-data-');
  const env = {
    CLINPROMPT_HOME: path.join(tmp.dir, 'home'),
    CLINPROMPT_PASSPHRASE: 'import test passphrase',
    CLINPROMPT_USER: 'admin',
  };
  const cli = (argv: string[]) => runCliCaptured(argv, env);

  beforeAll(async () => {
    expect((await cli(['store', 'init', '--json'])).code).toBe(0);
  });
  afterAll(() => tmp.cleanup());

  it('imports every catalogue source task with one command each, and lists counts per split and label', async () => {
    expect(SOURCE_TASKS.length).toBeGreaterThanOrEqual(10);
    expect(new Set(SOURCE_TASKS.map((t) => t.task))).toEqual(new Set(['ner', 're', 'qa', 'nli', 'summarization']));
    const outcomes: Record<string, ImportOutcome> = {};
    for (const task of SOURCE_TASKS) {
      const run = await cli([...importCommand(task, DATA), '--json']);
      expect(run.stderr, task.name).toBe('');
      expect(run.code, task.name).toBe(0);
      outcomes[task.name] = json<ImportOutcome>(run);
    }
    const counts = (name: string) => {
      const { train, dev, test } = outcomes[name]!.counts;
      return [train, dev, test];
    };
    // Splits given by the source are kept (README sizes, less exact duplicates within a split).
    expect(counts('ncbi-disease')).toEqual([5424 - 23, 923, 940 - 3]);
    expect(counts('chemprot')).toEqual([4169, 2427 - 2, 3469]);
    expect(counts('nli4ct')).toEqual([1700, 200, 500]);
    expect(counts('evidence-inference')).toEqual([1954, 233, 257]);
    expect(outcomes['mts-dialog']!.counts.test).toBe(400);
    // The DDI folder holds the DDI-task (191) and NER-task (112) test documents.
    expect(outcomes['ddi']!.counts.train + outcomes['ddi']!.report.duplicatesRemoved).toBe(714);
    expect(outcomes['ddi']!.counts.test).toBe(303);
    // Seeded splits where the source has none: PubMedQA keeps its official 500 test ids; the rest
    // is drawn by a seeded hash of each input (8:1 in expectation; these are seed 42's numbers).
    expect(counts('pubmedqa')).toEqual([445, 55, 500]);
    expect(outcomes['medmcqa']!.counts.total).toBe(4183);
    expect(outcomes['medmcqa']!.labelSet).toEqual(['A', 'B', 'C', 'D']);
    expect(outcomes['bc5cdr']!.labelSet).toEqual(['Chemical', 'Disease']);
    expect(outcomes['ddi']!.labelSet).toEqual(['ADVISE', 'EFFECT', 'INT', 'MECHANISM']);

    const list = json<DatasetSummary[]>(await cli(['datasets', 'list', '--json']));
    expect(list.map((d) => d.name)).toEqual(SOURCE_TASKS.map((t) => t.name));
    const nli4ct = list.find((d) => d.name === 'nli4ct')!;
    expect(nli4ct.labelCounts.train).toEqual({ Contradiction: 850, Entailment: 850 });
    const medmcqa = list.find((d) => d.name === 'medmcqa')!;
    expect(Object.values(medmcqa.labelCounts.train).reduce((a, b) => a + b, 0)).toBe(medmcqa.counts.train);
    const text = await cli(['datasets', 'list']);
    expect(text.stdout).toMatch(/nli4ct\s+nli\s+jsonl\s+1700\s+200\s+500/);
    expect(text.stdout).toContain('nli4ct labels (train/dev/test): Contradiction 850/100/');
  }, 300_000);

  it('scores predictions against a split with the task metrics and bootstrap intervals', async () => {
    const gold = path.join(tmp.dir, 'nli4ct-test.jsonl');
    expect((await cli(['datasets', 'export', 'nli4ct', gold, '--split', 'test'])).code).toBe(0);
    const rows = readFileSync(gold, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; target: { label: string } });
    const score = async (output: (row: (typeof rows)[number]) => string) => {
      const file = path.join(tmp.dir, 'predictions.jsonl');
      writeFileSync(file, rows.map((r) => JSON.stringify({ id: r.id, output: output(r) })).join('\n'));
      const run = await cli(['datasets', 'score', 'nli4ct', file, '--json']);
      expect(run.stderr).toBe('');
      return json<{
        evaluation: { metrics: Record<string, { estimate: number; low: number; high: number }>; unparseable: number };
      }>(run).evaluation;
    };
    const perfect = await score((r) => r.target.label);
    expect(perfect.metrics['accuracy']).toMatchObject({ estimate: 1, low: 1, high: 1 });
    // Always "Entailment": accuracy p = share of Entailment; F1(Entailment) = 2p/(1+p), F1(Contradiction) = 0.
    const p = rows.filter((r) => r.target.label === 'Entailment').length / rows.length;
    const constant = await score(() => 'entailment.');
    expect(constant.metrics['accuracy']?.estimate).toBeCloseTo(p, 12);
    expect(constant.metrics['macroF1']?.estimate).toBeCloseTo(p / (1 + p), 12);
    expect(constant.metrics['accuracy']!.low).toBeLessThan(p);
    expect(constant.metrics['accuracy']!.high).toBeGreaterThan(p);
    const odd = new Set(rows.filter((_, i) => i % 2 === 1));
    const garbled = await score((r) => (odd.has(r) ? 'I am not sure' : r.target.label));
    expect(garbled.unparseable).toBe(odd.size);
    expect(garbled.metrics['accuracy']?.estimate).toBeCloseTo(1 - odd.size / rows.length, 12);
  });

  it('refuses a malformed file with its name and line, and imports nothing', async () => {
    const bad = path.join(tmp.dir, 'bad');
    mkdirSync(bad);
    writeFileSync(
      path.join(bad, 'train.tsv'),
      'Aspirin\tB-Chemical\ncauses\tO\n\nbleeding\tB-Disease\nrarely\tX-Disease\n',
    );
    const before = json<DatasetSummary[]>(await cli(['datasets', 'list', '--json'])).length;
    const run = await cli(['import', 'conll', bad, '--task', 'ner', '--name', 'bad']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(`${path.join(bad, 'train.tsv')}, line 5: the last column is not a BIO tag`);
    expect(run.stderr).not.toContain('rarely');
    expect(json<DatasetSummary[]>(await cli(['datasets', 'list', '--json']))).toHaveLength(before);
    const taken = await cli(['import', 'conll', bad, '--task', 'ner', '--name', 'ncbi-disease']);
    expect(taken.stderr).toContain(
      'clinprompt: --name: A dataset named "ncbi-disease" already exists; choose another name.',
    );
    const unknown = await cli(['import', 'conll', bad, '--task', 'nli', '--name', 'x']);
    expect(unknown.stderr).toMatch(/clinprompt: --task: The CoNLL format holds ner annotations, not nli: choose ner/);
  });

  it('keeps an edited template with the dataset and shows examples framed with it', async () => {
    const dir = path.join(tmp.dir, 'templated');
    mkdirSync(dir);
    const csv = path.join(dir, 'pairs.csv');
    writeFileSync(
      csv,
      'Statement,Evidence,Label\nno fever,afebrile on admission,Entailment\nfever,afebrile,Contradiction\n',
    );
    const broken = path.join(dir, 'broken.txt');
    writeFileSync(broken, 'Claim: {{hypothesis}} ->');
    const good = path.join(dir, 'good.txt');
    writeFileSync(good, 'Evidence: {{premise}}\nClaim: {{hypothesis}}\nVerdict ({{labels}}):');
    const args = [
      'import',
      'csv',
      csv,
      '--task',
      'nli',
      '--mapping',
      'premise=Evidence,hypothesis=Statement,label=Label',
    ];
    const refused = await cli([...args, '--name', 'templated', '--template', broken]);
    expect(refused.stderr).toMatch(/template is not usable: it must contain \{\{premise\}\}/);
    expect((await cli([...args, '--name', 'templated', '--template', good, '--split', 'train'])).code).toBe(0);
    const shown = json<{ examples: { prompt: string; target: string }[] }>(
      await cli(['datasets', 'show', 'templated', '--limit', '1', '--json']),
    );
    expect(shown.examples).toEqual([
      {
        externalId: '2',
        split: 'train',
        labels: ['Entailment'],
        prompt: 'Evidence: afebrile on admission\nClaim: no fever\nVerdict (Contradiction, Entailment):',
        target: ' Entailment',
      },
    ]);
  });

  it('imports a folder of plain-text notes as unlabelled examples to run prompts over', async () => {
    const notes = path.join(tmp.dir, 'notes');
    mkdirSync(path.join(notes, 'ward7'), { recursive: true });
    writeFileSync(path.join(notes, 'a.txt'), 'Admitted with chest pain.');
    writeFileSync(path.join(notes, 'ward7', 'b.txt'), 'Discharged home.');
    writeFileSync(path.join(notes, 'ward7', 'readme.md'), 'not a note');
    const run = json<ImportOutcome>(
      await cli(['import', 'notes', notes, '--task', 'summarization', '--name', 'ward-notes', '--json']),
    );
    expect(run.counts).toMatchObject({ train: 0, dev: 0, test: 2, total: 2 });
    expect(run.report.unlabelled).toBe(true);
    const predictions = path.join(tmp.dir, 'ward-predictions.jsonl');
    writeFileSync(predictions, '{"id": "a.txt", "output": "Chest pain."}\n');
    const scored = await cli(['datasets', 'score', 'ward-notes', predictions]);
    expect(scored.stderr).toMatch(/no labelled test examples to score/);
  });

  it('imports notes without --task and says why every note is in the test split', async () => {
    const notes = path.join(tmp.dir, 'clinic-notes');
    mkdirSync(notes);
    writeFileSync(path.join(notes, 'n1.txt'), 'Follow-up visit, stable.');
    const run = await cli(['import', 'notes', notes, '--name', 'clinic-notes']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('0 train, 0 dev, 1 test');
    expect(run.stdout).toContain('Notes are unlabelled, so every note went to the test split');
    const missing = await cli(['import', 'jsonl', notes, '--name', 'x']);
    expect(missing.stderr).toContain('Give --task: one of ner, re, qa, nli, summarization.');
  });

  it('reports relations ignored for --task ner, conflicts by id and skipped rows; never note text', async () => {
    const brat = path.join(tmp.dir, 'brat-ner');
    mkdirSync(brat);
    writeFileSync(path.join(brat, 'a.txt'), 'Aspirin raises warfarin levels.');
    writeFileSync(
      path.join(brat, 'a.ann'),
      'T1\tDRUG 0 7\tAspirin\nT2\tDRUG 15 23\twarfarin\nR1\tINCREASES Arg1:T1 Arg2:T2\n',
    );
    const ner = await cli(['import', 'brat', brat, '--task', 'ner', '--name', 'brat-ner']);
    expect(ner.stdout).toContain('Note: 1 relation annotations ignored (--task ner reads mentions only).');

    const rows = path.join(tmp.dir, 'rows.jsonl');
    const row = (id: string, premise: string, label: string) => JSON.stringify({ id, premise, hypothesis: 'h', label });
    writeFileSync(
      rows,
      [
        row('r1', 'John Smith has a fever', 'Entailment'),
        row('r2', 'John Smith has a fever', 'Contradiction'),
        '{"premise": "John Smith, DOB',
      ].join('\n'),
    );
    const skipped = await cli([
      'import',
      'jsonl',
      rows,
      '--task',
      'nli',
      '--name',
      'rows',
      '--split',
      'train',
      '--skip-bad-rows',
    ]);
    expect(skipped.code).toBe(0);
    expect(skipped.stdout).toContain(
      'Conflict: 1 example(s) repeat an earlier input of their split with a different label; each label was kept once. Check: r2.',
    );
    expect(skipped.stdout).toContain(
      `Skipped 1 malformed record(s) (--skip-bad-rows):\n  ${rows}, line 3: this line is not valid JSON`,
    );
    expect(skipped.stdout).not.toContain('Smith');

    const spaced = path.join(tmp.dir, 'brat-spaces');
    mkdirSync(spaced);
    writeFileSync(path.join(spaced, 'a.txt'), 'Patient John Smith was seen.');
    writeFileSync(path.join(spaced, 'a.ann'), 'T1 PATIENT_NAME 8 18 John Smith\n');
    const refused = await cli(['import', 'brat', spaced, '--task', 'ner', '--name', 'spaced']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(
      `${path.join(spaced, 'a.ann')}, line 1: the line does not start with an annotation id`,
    );
    expect(refused.stderr).not.toContain('Smith');
  });

  it('renames a dataset (audited), refusing a name that is taken', async () => {
    const renamed = json<{ name: string; newName: string }>(
      await cli(['datasets', 'rename', 'rows', 'rows-2', '--json']),
    );
    expect(renamed).toEqual({ name: 'rows', newName: 'rows-2' });
    const names = json<DatasetSummary[]>(await cli(['datasets', 'list', '--json'])).map((d) => d.name);
    expect(names).toContain('rows-2');
    expect(names).not.toContain('rows');
    const audit = json<{ action: string; details: Record<string, unknown> }[]>(
      await cli(['audit', 'list', '--limit', '1', '--json']),
    );
    expect(audit[0]).toMatchObject({ action: 'datasets.rename', details: { from: 'rows', to: 'rows-2' } });
    const other = names.find((n) => n !== 'rows-2')!;
    const taken = await cli(['datasets', 'rename', 'rows-2', other]);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain(`A dataset named "${other}" already exists`);
    expect(json<{ newName: string }>(await cli(['datasets', 'rename', 'rows-2', 'rows', '--json'])).newName).toBe(
      'rows',
    );
  });

  it('deletes a dataset (audited), and says so for one that does not exist', async () => {
    const deleted = json<{ name: string; examples: number }>(await cli(['datasets', 'delete', 'rows', '--json']));
    expect(deleted).toEqual({ name: 'rows', examples: 2 });
    const names = json<DatasetSummary[]>(await cli(['datasets', 'list', '--json'])).map((d) => d.name);
    expect(names).not.toContain('rows');
    const audit = json<{ action: string; details: Record<string, unknown> }[]>(
      await cli(['audit', 'list', '--limit', '1', '--json']),
    );
    expect(audit[0]).toMatchObject({ action: 'datasets.delete', details: { name: 'rows', examples: 2 } });
    const again = await cli(['datasets', 'delete', 'rows']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/rows/);
  });

  it('exports to JSONL and BRAT, and the exports import back unchanged', async () => {
    /**
     * A dataset's examples as JSONL records (split, text, spans with offsets, labels), in a stable
     * order; `withoutIds` drops every `id` (BRAT names files after example ids and numbers its
     * annotations T1, T2... afresh: names, not content).
     */
    const exported = async (name: string, withoutIds = false) => {
      const file = path.join(tmp.dir, 'out', `${name}-check.jsonl`);
      expect((await cli(['datasets', 'export', name, file])).code).toBe(0);
      const dropIds = (_key: string, value: unknown) =>
        value && typeof value === 'object' && !Array.isArray(value) && 'id' in value
          ? Object.fromEntries(Object.entries(value).filter(([k]) => k !== 'id'))
          : value;
      return readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => (withoutIds ? JSON.parse(l, dropIds) : JSON.parse(l)) as unknown)
        .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    };
    const jsonl = path.join(tmp.dir, 'out', 'meqsum.jsonl');
    expect((await cli(['datasets', 'export', 'meqsum', jsonl])).code).toBe(0);
    expect(readFileSync(jsonl, 'utf8').trim().split('\n')).toHaveLength(1000);
    // the audited-export protocol: owner-only, audited with its file, never over an existing file
    if (process.platform !== 'win32') expect(statSync(jsonl).mode & 0o777).toBe(0o600);
    const overwrite = await cli(['datasets', 'export', 'meqsum', jsonl]);
    expect(overwrite.code).toBe(1);
    expect(overwrite.stderr).toContain('already exists; choose a new file name. Nothing was written.');
    expect(readFileSync(jsonl, 'utf8').trim().split('\n')).toHaveLength(1000);
    const back = json<ImportOutcome>(
      await cli(['import', 'jsonl', jsonl, '--task', 'summarization', '--name', 'meqsum-again', '--json']),
    );
    // MeQSum has no splits: the seeded hash drew ~80/10/10, and the export carried them back.
    const meqsum = json<DatasetSummary[]>(await cli(['datasets', 'list', '--json'])).find((d) => d.name === 'meqsum')!;
    expect(back.counts).toEqual(meqsum.counts);
    expect(back.counts).toMatchObject({ train: 784, dev: 108, test: 108 });
    const meqsumExamples = await exported('meqsum');
    expect(meqsumExamples).toHaveLength(1000);
    expect(await exported('meqsum-again')).toEqual(meqsumExamples);

    // A seeded k-shot draw: 5 per label from train, the same for the same seed.
    let draws = 0;
    const draw = async (seed: number) => {
      const file = path.join(tmp.dir, 'out', `nli4ct-5shot-${seed}-${++draws}.jsonl`);
      const run = await cli([
        'datasets',
        'export',
        'nli4ct',
        file,
        '--split',
        'train',
        '--k',
        '5',
        '--seed',
        String(seed),
      ]);
      expect(run.code).toBe(0);
      return readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { split: string; labels: string[]; id: string });
    };
    const shots = await draw(1);
    expect(shots.filter((e) => e.labels[0] === 'Entailment')).toHaveLength(5);
    expect(shots.filter((e) => e.labels[0] === 'Contradiction')).toHaveLength(5);
    expect(shots.every((e) => e.split === 'train')).toBe(true);
    expect((await draw(1)).map((e) => e.id)).toEqual(shots.map((e) => e.id));
    expect((await draw(2)).map((e) => e.id)).not.toEqual(shots.map((e) => e.id));

    const brat = path.join(tmp.dir, 'out', 'ddi-brat');
    expect((await cli(['datasets', 'export', 'ddi', brat, '--format', 'brat'])).code).toBe(0);
    expect(readdirSync(brat).sort()).toEqual(['test', 'train']);
    const again = json<ImportOutcome>(
      await cli(['import', 'brat', brat, '--task', 're', '--name', 'ddi-again', '--json']),
    );
    const list = json<DatasetSummary[]>(await cli(['datasets', 'list', '--json']));
    const original = list.find((d) => d.name === 'ddi')!;
    const reimported = list.find((d) => d.name === 'ddi-again')!;
    expect(again.counts).toEqual(original.counts);
    expect(reimported.labelCounts).toEqual(original.labelCounts);
    // texts, splits, entity offsets and types, relations and labels survive BRAT
    const ddiExamples = await exported('ddi', true);
    expect(ddiExamples.length).toBe(original.counts.total);
    expect(await exported('ddi-again', true)).toEqual(ddiExamples);
    const withDev = json<ImportOutcome>(
      await cli(['import', 'brat', brat, '--task', 're', '--name', 'ddi-dev', '--dev-from-train', '0.1', '--json']),
    );
    expect(withDev.counts.test).toBe(original.counts.test);
    expect(withDev.counts.train + withDev.counts.dev).toBe(original.counts.train);
    // Each train input moves to dev by a seeded hash (streaming): 10% in expectation, within 4 sigma.
    const train = original.counts.train;
    expect(Math.abs(withDev.counts.dev - train * 0.1)).toBeLessThan(4 * Math.sqrt(train * 0.1 * 0.9));
    expect(withDev.counts.dev).toBeGreaterThan(0);
  });
});
