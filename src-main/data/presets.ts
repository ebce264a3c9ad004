/**
 * Mapping presets for public datasets whose records need more than a column mapping: a join with
 * a side file, a split list, or nested JSON. Named on the command line as `--mapping preset:<id>`.
 * Each turns a source record into the mapping's canonical fields (question, premise, ...), or
 * undefined to skip it (with the reason counted). Side files are small metadata read once.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { parse as parseCsv } from 'csv-parse/sync';

import { UserError } from '../common/errors.js';
import { matchLabel } from '../tasks/labels.js';
import type { Split, TaskType } from '../tasks/types.js';
import { RowProblem, type MappingSpec, type Row } from './mapping.js';
import { cannotRead, named, structural } from './source.js';

export interface PresetContext {
  /** The folder of the file being imported. */
  readonly dir: string;
  /** The key of a record in a JSON object keyed by id. */
  readonly key?: string;
}

export interface Preset {
  readonly id: string;
  readonly task: TaskType;
  /** Which files of a folder to import (default: all whose names name a split). */
  readonly files?: (names: readonly string[]) => string[];
  transform(row: Row, context: PresetContext): Promise<Row | undefined>;
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw cannotRead(file, error);
  }
}

/**
 * Memoises side files per path, so an import reads each once; at most `limit` are kept (the
 * least recently used goes), so a folder of many side files is not held whole.
 */
function cached<T>(load: (file: string) => Promise<T>, limit = 64): (file: string) => Promise<T> {
  const cache = new Map<string, Promise<T>>();
  return (file) => {
    let value = cache.get(file);
    if (value) cache.delete(file);
    else value = load(file);
    cache.set(file, value);
    if (cache.size > limit) cache.delete(cache.keys().next().value as string);
    return value;
  };
}

interface PubMedQaRecord {
  QUESTION: string;
  CONTEXTS: string[];
  final_decision: string;
}

const pubmedqaTestIds = cached(async (file) => new Set(Object.keys(JSON.parse(await readText(file)) as object)));

/** PubMedQA (Jin et al., EMNLP 2019): PQA-L records keyed by PMID; the official 500 test ids are the test split. */
const pubmedqa: Preset = {
  id: 'pubmedqa',
  task: 'qa',
  async transform(row, { dir, key }) {
    const record = row as unknown as PubMedQaRecord;
    const testIds = await pubmedqaTestIds(path.join(dir, 'test_ground_truth.json'));
    const split: Split | undefined = key !== undefined && testIds.has(key) ? 'test' : undefined;
    return {
      id: key,
      question: record.QUESTION,
      context: record.CONTEXTS,
      answer: record.final_decision,
      ...(split ? { split } : {}),
    };
  },
};

interface Nli4ctStatement {
  Type: string;
  Section_id: string;
  Primary_id: string;
  Secondary_id?: string;
  Statement: string;
  Label?: string;
}

const trialReport = cached(async (file) => JSON.parse(await readText(file)) as Record<string, string[] | string>);

/**
 * NLI4CT (SemEval-2023 task 7, Jullien et al.): the premise is the statement's section of the
 * primary (and, for comparisons, secondary) clinical trial report in ct-json/.
 */
const nli4ct: Preset = {
  id: 'nli4ct',
  task: 'nli',
  files: (names) => names.filter((n) => /^(train|dev|gold_test)\.json$/i.test(n)),
  async transform(row, { dir, key }) {
    const s = row as unknown as Nli4ctStatement;
    const section = async (trial: string) => {
      // Trial and section ids name files and keys; one that is not shaped like an id is never quoted.
      if (structural(trial) === undefined) {
        throw new RowProblem(`${named('statement', key)} names a trial whose id is not a file name`);
      }
      const report = await trialReport(path.join(dir, 'ct-json', `${trial}.json`));
      const lines = report[s.Section_id];
      if (!Array.isArray(lines)) {
        const sectionId = structural(s.Section_id);
        throw new UserError(
          'BAD_FILE',
          `ct-json/${trial}.json has no ${sectionId ? `"${sectionId}"` : 'such'} section (${named('statement', key)}).`,
        );
      }
      return lines.map((l) => l.trim()).join('\n');
    };
    const primary = `Primary trial:\n${await section(s.Primary_id)}`;
    const secondary = s.Secondary_id ? `\n\nSecondary trial:\n${await section(s.Secondary_id)}` : '';
    return { id: key, premise: primary + secondary, hypothesis: s.Statement, label: s.Label };
  },
};

const EVIDENCE_LABELS = ['significantly increased', 'significantly decreased', 'no significant difference'];

const promptsById = cached(async (file) => {
  const rows = parseCsv(await readText(file), { columns: true, bom: true }) as Record<string, string>[];
  return new Map(rows.map((r) => [r['PromptID'] ?? '', r]));
});
const idList = cached(async (file) => new Set((await readText(file)).split(/\s+/).filter(Boolean)));

/**
 * Evidence Inference 2.0 (DeYoung et al., BioNLP 2020): each prompt asks how an intervention
 * compares with a comparator on an outcome; the premise is the annotator's evidence passage.
 * One example per prompt (the first annotation with a valid label); splits from splits/ by article.
 */
function evidenceInference(): Preset {
  const seen = new Set<string>();
  return {
    id: 'evidence-inference',
    task: 'nli',
    async transform(row, { dir }) {
      const promptId = String(row['PromptID'] ?? '');
      const label = matchLabel(String(row['Label'] ?? ''), EVIDENCE_LABELS);
      if (label === undefined || seen.has(promptId) || String(row['Annotations'] ?? '').trim() === '') return undefined;
      const prompt = (await promptsById(path.join(dir, 'prompts_merged.csv'))).get(promptId);
      if (!prompt) return undefined;
      seen.add(promptId);
      const pmcid = String(row['PMCID'] ?? '');
      let split: Split | undefined;
      for (const [name, s] of [
        ['train', 'train'],
        ['validation', 'dev'],
        ['test', 'test'],
      ] as const) {
        if ((await idList(path.join(dir, 'splits', `${name}_article_ids.txt`))).has(pmcid)) split = s;
      }
      return {
        id: promptId,
        premise: row['Annotations'],
        hypothesis: `With respect to ${prompt['Outcome']?.trim()}, how did ${prompt['Intervention']?.trim()} compare with ${prompt['Comparator']?.trim()}?`,
        label,
        ...(split ? { split } : {}),
      };
    },
  };
}

const PRESETS: Record<string, () => Preset> = {
  pubmedqa: () => pubmedqa,
  nli4ct: () => nli4ct,
  'evidence-inference': evidenceInference,
};

export const PRESET_IDS = Object.keys(PRESETS);

/** A fresh preset (some keep state across one import, e.g. which prompts were seen). */
export function presetFor(spec: MappingSpec | undefined, task: TaskType): Preset | undefined {
  if (typeof spec !== 'string' || !spec.startsWith('preset:')) return undefined;
  const id = spec.slice('preset:'.length);
  const make = PRESETS[id];
  if (!make) {
    throw new UserError('INVALID_ARGUMENT', `No preset "${id}"; the presets are ${PRESET_IDS.join(', ')}.`, {
      field: 'mapping',
    });
  }
  const preset = make();
  if (preset.task !== task) {
    throw new UserError('INVALID_ARGUMENT', `preset:${id} is a ${preset.task} dataset: choose ${preset.task}.`, {
      field: 'task',
    });
  }
  return preset;
}
