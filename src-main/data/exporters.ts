/**
 * Exporters, so labels made in the app can leave it: BRAT standoff (one .txt + .ann per example,
 * https://brat.nlplab.org/standoff.html; discontinuous mentions as "START END;START END",
 * relations, events and attributes) and JSONL (one `{ id, split, input, target, labels }` per
 * line, which the JSONL importer reads back without a mapping). Written example by example. CSV
 * lines (RFC 4180, guarded against formula injection) for tables such as results.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';

import { UserError } from '../common/errors.js';
import type { Entity, Example, NerTarget, ReTarget } from '../tasks/types.js';

export async function exportJsonl(examples: Iterable<Example> | AsyncIterable<Example>, file: string): Promise<number> {
  const out = createWriteStream(file, { encoding: 'utf8' });
  let n = 0;
  try {
    for await (const e of examples) {
      const line = `${JSON.stringify({ id: e.externalId, split: e.split, input: e.input, target: e.target, labels: e.labels })}\n`;
      if (!out.write(line)) await once(out, 'drain');
      n++;
    }
  } finally {
    out.end();
    await once(out, 'finish');
  }
  return n;
}

function safeName(id: string | undefined, index: number): string {
  const base = (id ?? `example-${index + 1}`).replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '');
  return base === '' ? `example-${index + 1}` : base;
}

/** The .ann text for one document's entities, relations, events and attributes. */
export function bratAnnotations(entities: readonly Entity[], target: Partial<ReTarget>): string {
  const lines: string[] = [];
  const ids = new Map<string, string>();
  const keyOf = (e: Entity) =>
    `${e.start}:${e.end}:${e.type}:${(e.fragments ?? []).map((f) => `${f.start}-${f.end}`).join(',')}`;
  const all = [...entities];
  for (const r of target.relations ?? []) all.push(r.head, r.tail);
  for (const ev of target.events ?? []) all.push(ev.trigger);
  let attributes = 0;
  let normalizations = 0;
  for (const e of all) {
    const key = keyOf(e);
    if (ids.has(key) || e.start < 0) continue;
    const id = `T${ids.size + 1}`;
    ids.set(key, id);
    if (e.id) ids.set(`ref:${e.id}`, id);
    const ranges = (e.fragments ?? [{ start: e.start, end: e.end }]).map((f) => `${f.start} ${f.end}`).join(';');
    lines.push(`${id}\t${e.type} ${ranges}\t${e.text.replace(/[\t\n]/g, ' ')}`);
    for (const [name, value] of Object.entries(e.attributes ?? {})) {
      lines.push(`A${++attributes}\t${name} ${id}${value === 'true' ? '' : ` ${value}`}`);
    }
    for (const reference of e.references ?? []) {
      lines.push(`N${++normalizations}\tReference ${id} ${reference}\t${e.text.replace(/[\t\n]/g, ' ')}`);
    }
  }
  const events = target.events ?? [];
  const eventIds = new Map(events.map((ev, i) => [ev.id, `E${i + 1}`]));
  const ref = (id: string) => eventIds.get(id) ?? ids.get(`ref:${id}`) ?? id;
  events.forEach((ev, i) => {
    const args = ev.args.map((a) => `${a.role}:${ref(a.ref)}`).join(' ');
    lines.push(`E${i + 1}\t${ev.type}:${ids.get(keyOf(ev.trigger))}${args ? ` ${args}` : ''}`);
  });
  // Relations flattened from events (TYPE:ROLE) are already written as events.
  const eventTypes = new Set(events.map((ev) => ev.type));
  const relations = (target.relations ?? []).filter((r) => !eventTypes.has(r.type.split(':')[0] ?? ''));
  relations.forEach((r, i) => {
    lines.push(`R${i + 1}\t${r.type} Arg1:${ids.get(keyOf(r.head))} Arg2:${ids.get(keyOf(r.tail))}`);
  });
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

export async function exportBrat(examples: Iterable<Example> | AsyncIterable<Example>, dir: string): Promise<number> {
  let n = 0;
  const used = new Set<string>();
  for await (const e of examples) {
    const input = e.input as { text?: unknown };
    if (typeof input.text !== 'string') {
      throw new UserError('UNSUPPORTED', 'BRAT export needs examples with a note text (NER or RE datasets).');
    }
    let name = safeName(e.externalId, n);
    while (used.has(name)) name = `${name}_`;
    used.add(name);
    const folder = path.join(dir, e.split);
    await mkdir(path.dirname(path.join(folder, name)), { recursive: true });
    const target = (e.target ?? {}) as Partial<NerTarget & ReTarget>;
    await writeFile(path.join(folder, `${name}.txt`), input.text, 'utf8');
    await writeFile(path.join(folder, `${name}.ann`), bratAnnotations(target.entities ?? [], target), 'utf8');
    n++;
  }
  return n;
}

/**
 * A text cell a spreadsheet would run as a formula: OWASP's "CSV Injection" list (=, +, -, @, tab,
 * carriage return). Model output and note text are not ours to trust, so such a cell is written
 * with a leading apostrophe, which spreadsheets show as text; numbers are written as numbers.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One CSV record (RFC 4180): a field holding a comma, quote or line break is quoted, its quotes
 * doubled; a text field that starts like a formula gets a leading apostrophe first.
 */
export function csvLine(fields: readonly (string | number)[]): string {
  return fields
    .map((value) => {
      const text = typeof value === 'string' && FORMULA_START.test(value) ? `'${value}` : String(value);
      return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
    })
    .join(',');
}
