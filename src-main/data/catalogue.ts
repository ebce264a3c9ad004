/**
 * The source-task catalogue: public clinical and biomedical datasets in ../shared/data (see its
 * README.md for sources and licences) that serve as the K source tasks of multitask prompt
 * distillation (Peng et al. 2026 use 21 clinical source tasks). Each entry is importable with
 * one command, `clinprompt import <format> <path> --task <type> --name <name> [--mapping ...] [--draw-splits]`.
 */
import path from 'node:path';

import type { ImportFormat } from '../common/vocabulary.js';
import type { TaskType } from '../tasks/types.js';

export interface SourceTask {
  readonly name: string;
  readonly title: string;
  readonly task: TaskType;
  readonly format: ImportFormat;
  /** Relative to the shared data folder. */
  readonly path: string;
  readonly mapping?: string;
  /** The file's name says one split (MedMCQA's dev.json holds the set we train on): draw splits instead. */
  readonly drawSplits?: boolean;
  /** The sizes ../shared/data/README.md gives, for checking an import. */
  readonly expected: string;
}

export const SOURCE_TASKS: readonly SourceTask[] = [
  {
    name: 'ncbi-disease',
    title: 'NCBI-disease NER',
    task: 'ner',
    format: 'conll',
    path: 'ner/ncbi-disease',
    expected: '5,424 / 923 / 940 sentences',
  },
  {
    name: 'bc5cdr',
    title: 'BC5CDR chemical and disease NER',
    task: 'ner',
    format: 'conll',
    path: 'ner/bc5cdr',
    expected: '4,560 / 4,581 / 4,797 sentences',
  },
  {
    name: 'ddi',
    title: 'DDI drug-drug interaction RE',
    task: 're',
    format: 'brat',
    path: 're/ddi-brat',
    expected: '714 train, 303 test documents (191 DDI-task + 112 NER-task)',
  },
  {
    name: 'ddi-ner',
    title: 'DDI drug mention NER',
    task: 'ner',
    format: 'brat',
    path: 're/ddi-brat',
    expected: '714 train, 303 test documents (191 DDI-task + 112 NER-task)',
  },
  {
    name: 'chemprot',
    title: 'ChemProt chemical-protein RE (pair given)',
    task: 're',
    format: 'jsonl',
    path: 're/chemprot',
    mapping: 'text=text,label=label',
    expected: '4,169 / 2,427 / 3,469',
  },
  {
    name: 'pubmedqa',
    title: 'PubMedQA yes/no/maybe QA',
    task: 'qa',
    format: 'jsonl',
    path: 'qa/pubmedqa/ori_pqal.json',
    mapping: 'preset:pubmedqa',
    expected: '1,000 labelled, 500 test',
  },
  {
    name: 'medmcqa',
    title: 'MedMCQA multiple-choice QA',
    task: 'qa',
    format: 'jsonl',
    path: 'qa/medmcqa/data/dev.json',
    mapping: 'question=question,options=opa|opb|opc|opd,answerIndex=cop,id=id',
    drawSplits: true,
    expected: '4,183',
  },
  {
    name: 'nli4ct',
    title: 'NLI4CT clinical-trial NLI',
    task: 'nli',
    format: 'jsonl',
    path: 'nli/nli4ct',
    mapping: 'preset:nli4ct',
    expected: '1,700 / 200 / 500',
  },
  {
    name: 'evidence-inference',
    title: 'Evidence Inference (intervention vs comparator)',
    task: 'nli',
    format: 'csv',
    path: 'nli/evidence-inference/annotations/v2_annotations.csv',
    mapping: 'preset:evidence-inference',
    expected: '1,954 / 233 / 257 prompts',
  },
  {
    name: 'meqsum',
    title: 'MeQSum consumer question summarization',
    task: 'summarization',
    format: 'csv',
    path: 'sum/meqsum/meqsum.csv',
    mapping: 'source=CHQ,summary=Summary,id=File',
    expected: '1,000',
  },
  {
    name: 'mts-dialog',
    title: 'MTS-Dialog dialogue to note section',
    task: 'summarization',
    format: 'csv',
    path: 'sum/mts-dialog',
    mapping: 'source=dialogue,summary=section_text,id=ID',
    expected: '1,201 / 100 / 200 + 200',
  },
];

/** An argument as a POSIX shell reads it (mappings hold `|`). */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The one command that imports a catalogue entry from a shared data folder (arguments, unquoted). */
export function importCommand(entry: SourceTask, sharedDataDir: string): string[] {
  return [
    'import',
    entry.format,
    path.join(sharedDataDir, entry.path),
    '--task',
    entry.task,
    '--name',
    entry.name,
    ...(entry.mapping ? ['--mapping', entry.mapping] : []),
    ...(entry.drawSplits ? ['--draw-splits'] : []),
  ];
}
