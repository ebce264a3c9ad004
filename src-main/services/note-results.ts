/**
 * The Run step's results leaving the app: one JSON object per note (JSONL), a spreadsheet (CSV),
 * or BRAT standoff for NER and RE (data/exporters.ts), through the audited export protocol
 * (store/audited-export.ts): audited before the first byte exists, owner-only, never over an
 * existing file. The audit entry names the dataset, the format and the count, never note text.
 */
import { writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';

import { UserError } from '../common/errors.js';
import { csvLine, exportBrat } from '../data/exporters.js';
import type { EntityView, NoteResultView, NoteRunView, ResultFormat } from '../ipc/contract.js';
import { writeAuditedExport } from '../store/audited-export.js';
import type { StoreSession } from '../store/session.js';
import type { Store } from '../store/store.js';
import type { Entity, Example, Relation } from '../tasks/types.js';

export async function exportNoteRun(
  store: Store,
  session: StoreSession,
  view: NoteRunView,
  request: { readonly format: ResultFormat; readonly out: string },
): Promise<{ file: string; notes: number; format: ResultFormat }> {
  session.require('prompts.run', 'export the results of a prompt run');
  if (request.format === 'brat' && view.task !== 'ner' && view.task !== 're')
    throw new UserError(
      'UNSUPPORTED',
      `BRAT holds entities and relations; these are ${view.task} results. Choose JSONL or CSV.`,
      { field: 'format' },
    );
  const file = path.resolve(request.out);
  await mkdir(path.dirname(file), { recursive: true });
  const dataset = store.datasets.get(view.dataset);
  await writeAuditedExport(
    {
      session,
      permission: 'prompts.run',
      action: 'notes.results-export',
      target: file,
      folder: request.format === 'brat',
      record: {
        objectType: 'dataset',
        objectIds: [dataset.id],
        details: { format: request.format, notes: view.n, run: path.basename(view.run) },
      },
    },
    async (temp) => {
      if (request.format === 'brat') await exportBrat(bratExamples(view), temp);
      else writeFileSync(temp, request.format === 'csv' ? resultsCsv(view) : resultsJsonl(view));
    },
  );
  return { file, notes: view.n, format: request.format };
}

/** One `{ id, split, input, output, ok, problems, entities | relations | answer }` per line. */
export function resultsJsonl(view: NoteRunView): string {
  return view.results.map((r) => JSON.stringify(r)).join('\n') + '\n';
}

/** One row per note: its id, split and fields, the answer in words, whether it could be read, the raw output. */
export function resultsCsv(view: NoteRunView): string {
  const fields = [...new Set(view.results.flatMap((r) => Object.keys(r.input)))];
  const answer =
    view.task === 'ner'
      ? { name: 'entities', of: (r: NoteResultView) => (r.entities ?? []).map(entityWords).join('; ') }
      : view.task === 're'
        ? {
            name: 'relations',
            of: (r: NoteResultView) =>
              r.answer ?? (r.relations ?? []).map((x) => `${x.head.text} ; ${x.type} ; ${x.tail.text}`).join(' | '),
          }
        : { name: view.task === 'summarization' ? 'summary' : 'answer', of: (r: NoteResultView) => r.answer ?? '' };
  const header = ['id', 'split', ...fields, answer.name, 'readable', 'output'];
  const rows = view.results.map((r) =>
    csvLine([r.id, r.split, ...fields.map((f) => r.input[f] ?? ''), answer.of(r), r.ok ? 'yes' : 'no', r.output]),
  );
  return [csvLine(header), ...rows].join('\n') + '\n';
}

/** "chest pain [SYMPTOM]"; a mention the note does not contain says so. */
function entityWords(e: EntityView): string {
  return `${e.text} [${e.type}]${e.start < 0 ? ' (not in the note)' : ''}`;
}

/** The results as examples whose targets are the prompt's answers; mentions not found in the note are left out. */
function bratExamples(view: NoteRunView): Example[] {
  const found = (e: EntityView): Entity | undefined => (e.start >= 0 ? { ...e } : undefined);
  return view.results.map((r) => {
    const entities = (r.entities ?? []).flatMap((e) => found(e) ?? []);
    const relations = (r.relations ?? []).flatMap((x): Relation[] => {
      const head = found(x.head);
      const tail = found(x.tail);
      return head && tail ? [{ type: x.type, head, tail }] : [];
    });
    return {
      split: r.split,
      // a notes folder's ids are file names: "note-1.txt" becomes note-1.txt and note-1.ann, not note-1.txt.txt
      externalId: r.id.replace(/\.txt$/i, ''),
      input: { text: r.input['text'] ?? '' },
      target: view.task === 'ner' ? { entities } : { relations, entities: [] },
      labels: [],
    };
  });
}
