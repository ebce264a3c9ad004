/**
 * BRAT standoff (https://brat.nlplab.org/standoff.html): each document is a `.txt` and an `.ann`
 * beside it. Annotation lines, tab-separated:
 *   T<n>  TYPE START END[;START END...]  text     text-bound (discontinuous when several ranges)
 *   R<n>  TYPE Arg1:T<a> Arg2:T<b>                relation
 *   E<n>  TYPE:T<trigger> ROLE:T<x> ...           event
 *   A<n>/M<n>  NAME T<n>|E<n> [VALUE]             attribute (binary or valued)
 *   N<n>  Reference T<n> DB:ID  text              normalisation
 *   *     Equiv T<a> T<b> ...                     equivalence (kept as nothing: no offsets to score)
 *   #<n>  AnnotatorNotes ...                      notes (ignored)
 * Each document becomes one example: NER keeps the text-bound mentions; RE keeps relations and
 * flattens each event argument to a relation `trigger ; TYPE:ROLE ; argument`. A document is read
 * whole (one note); the folder is streamed document by document. Splits come from folder names.
 */
import path from 'node:path';

import type { Entity, EventAnnotation, Relation, Span } from '../../tasks/types.js';
import {
  IGNORED_FOR_NER,
  badFile,
  isDirectory,
  readLines,
  readText,
  recordOrSkip,
  sourceFiles,
  fileSplit,
  unsupportedTask,
  type Decoding,
  type ImportNotices,
  type ImportOptions,
  type RawExample,
} from '../source.js';

export interface BratDocument {
  readonly entities: Entity[];
  readonly relations: Relation[];
  readonly events: EventAnnotation[];
}

function parseFragments(ranges: string, file: string, line: number, textLength: number): Span[] {
  return ranges.split(';').map((range) => {
    const [start, end, extra] = range.trim().split(/\s+/).map(Number);
    if (
      start === undefined ||
      end === undefined ||
      extra !== undefined ||
      !Number.isInteger(start) ||
      !Number.isInteger(end)
    ) {
      throw badFile(file, line, 'a text-bound annotation needs offsets "START END" (several separated by ";")');
    }
    if (start < 0 || end < start || end > textLength) {
      throw badFile(file, line, `the offsets ${start}-${end} lie outside the .txt file (${textLength} characters)`);
    }
    return { start, end };
  });
}

/** A BRAT annotation id: kind letter and number (T1, R12, ...), `#1` notes or `*` equivalences. */
const BRAT_ID = /^(?:[TRAEMN]\d+|#\d*|\*)$/;

export interface BratOptions extends Decoding {
  /** `ner` reads mentions only: relations and events are counted as ignored, not checked. */
  readonly task?: 'ner' | 're';
  readonly notices?: ImportNotices;
}

/** Parses one `.ann` file against its text, streaming its lines. */
export async function parseBratAnnotations(
  annFile: string,
  text: string,
  options: BratOptions = {},
): Promise<BratDocument> {
  const entities = new Map<string, Entity & { attributes?: Record<string, string>; references?: string[] }>();
  const pendingRelations: { id: string; type: string; args: [string, string]; line: number }[] = [];
  const pendingEvents: {
    id: string;
    type: string;
    trigger: string;
    args: { role: string; ref: string }[];
    line: number;
  }[] = [];
  const pendingAttributes: { name: string; ref: string; value: string; line: number }[] = [];
  const pendingNorms: { ref: string; value: string; line: number }[] = [];
  const seen = new Set<string>();
  const mentionsOnly = options.task === 'ner';
  let ignored = 0;

  for await (const { text: raw, number } of readLines(annFile, options)) {
    if (raw.trim() === '') continue;
    const [id = '', body = '', mentionText] = raw.split('\t');
    if (!BRAT_ID.test(id)) {
      throw badFile(
        annFile,
        number,
        'the line does not start with an annotation id (T1, R1, E1, A1, M1, N1, #1 or *) followed by a tab',
      );
    }
    const kind = id[0];
    if (kind === '#' || kind === '*') continue;
    if (seen.has(id)) throw badFile(annFile, number, `the annotation id ${id} is used twice in this file`);
    seen.add(id);
    if (mentionsOnly && (kind === 'R' || kind === 'E')) {
      ignored++;
      continue;
    }
    if (kind === 'T') {
      const space = body.indexOf(' ');
      if (space < 0 || mentionText === undefined) {
        throw badFile(
          annFile,
          number,
          `text-bound annotation ${id} needs "TYPE START END", a tab and the mention text`,
        );
      }
      const fragments = parseFragments(body.slice(space + 1), annFile, number, text.length);
      const covered = fragments.map((f) => text.slice(f.start, f.end)).join(' ');
      // Tools join discontinuous fragments with a space or with nothing ("alpha-" + "adrenergic"),
      // so the comparison ignores whitespace.
      if (covered.replace(/\s+/g, '') !== mentionText.replace(/\s+/g, '')) {
        throw badFile(annFile, number, `the text of ${id} does not match its offsets in the .txt file`);
      }
      const start = Math.min(...fragments.map((f) => f.start));
      const end = Math.max(...fragments.map((f) => f.end));
      entities.set(id, {
        id,
        type: body.slice(0, space),
        start,
        end,
        text: mentionText,
        ...(fragments.length > 1 ? { fragments } : {}),
      });
    } else if (kind === 'R') {
      const [type, ...args] = body.trim().split(/\s+/);
      const refs = args.map((a) => a.split(':')[1] ?? '');
      if (!type || refs.length !== 2 || refs.some((r) => r === '')) {
        throw badFile(annFile, number, `relation ${id} needs "TYPE Arg1:ID Arg2:ID"`);
      }
      pendingRelations.push({ id, type, args: [refs[0] ?? '', refs[1] ?? ''], line: number });
    } else if (kind === 'E') {
      const [head, ...args] = body.trim().split(/\s+/);
      const [type, trigger] = (head ?? '').split(':');
      if (!type || !trigger) throw badFile(annFile, number, `event ${id} needs "TYPE:TRIGGER_ID ROLE:ID ..."`);
      const parsed = args.map((a) => {
        const [role, ref] = a.split(':');
        if (!role || !ref) throw badFile(annFile, number, `event ${id} has an argument that is not ROLE:ID`);
        return { role, ref };
      });
      pendingEvents.push({ id, type, trigger, args: parsed, line: number });
    } else if (kind === 'A' || kind === 'M') {
      const [name, ref, value] = body.trim().split(/\s+/);
      if (!name || !ref) throw badFile(annFile, number, `attribute ${id} needs "NAME ID [VALUE]"`);
      if (mentionsOnly && ref.startsWith('E')) continue; // an event's attribute; events are not read
      pendingAttributes.push({ name, ref, value: value ?? 'true', line: number });
    } else {
      const [, ref, value] = body.trim().split(/\s+/);
      if (!ref || !value) throw badFile(annFile, number, `normalisation ${id} needs "Reference ID DB:ID"`);
      pendingNorms.push({ ref, value, line: number });
    }
  }
  options.notices?.count(IGNORED_FOR_NER, ignored);

  const entity = (ref: string, line: number, what: string) => {
    const found = entities.get(ref);
    if (!found) {
      throw badFile(
        annFile,
        line,
        `${what} refers to ${BRAT_ID.test(ref) ? ref : 'something that is not an annotation id'}, which is not a text-bound annotation in this file`,
      );
    }
    return found;
  };
  const events: EventAnnotation[] = pendingEvents.map((e) => {
    const trigger = entity(e.trigger, e.line, `event ${e.id}`);
    return { id: e.id, type: e.type, trigger, args: e.args };
  });
  const eventIds = new Map(events.map((e) => [e.id, e]));
  for (const a of pendingAttributes) {
    const event = eventIds.get(a.ref);
    if (event) continue; // event attributes are kept on the event's trigger below
    const target = entity(a.ref, a.line, 'an attribute');
    target.attributes = { ...target.attributes, [a.name]: a.value };
  }
  for (const n of pendingNorms) {
    const target = entity(n.ref, n.line, 'a normalisation');
    target.references = [...(target.references ?? []), n.value];
  }
  const resolve = (ref: string, line: number, what: string): Entity =>
    eventIds.get(ref)?.trigger ?? entity(ref, line, what);
  const relations: Relation[] = pendingRelations.map((r) => ({
    id: r.id,
    type: r.type,
    head: resolve(r.args[0], r.line, `relation ${r.id}`),
    tail: resolve(r.args[1], r.line, `relation ${r.id}`),
  }));
  for (const e of pendingEvents) {
    const event = eventIds.get(e.id);
    for (const arg of e.args) {
      const argument = resolve(arg.ref, e.line, `event ${e.id}`);
      if (event)
        relations.push({ type: `${e.type}:${arg.role.replace(/\d+$/, '')}`, head: event.trigger, tail: argument });
    }
  }
  return { entities: [...entities.values()].sort((a, b) => a.start - b.start || a.end - b.end), relations, events };
}

export async function* importBrat(source: string, options: ImportOptions): AsyncGenerator<RawExample<'ner' | 're'>> {
  const task = options.task;
  if (task !== 'ner' && task !== 're') throw unsupportedTask('BRAT', task, ['ner', 're']);
  const root = (await isDirectory(source)) ? source : path.dirname(source);
  const annFiles = await sourceFiles(
    source.endsWith('.txt') ? source.replace(/\.txt$/, '.ann') : source,
    ['.ann'],
    'BRAT .ann',
    options,
  );
  for (const annFile of annFiles) {
    const txtFile = annFile.replace(/\.ann$/, '.txt');
    const example = await recordOrSkip(options, async (): Promise<RawExample<'ner' | 're'>> => {
      const text = await readText(txtFile, options);
      const doc = await parseBratAnnotations(annFile, text, { ...options, task });
      const split = fileSplit(annFile, options, root);
      const externalId = path.relative(root, annFile).replace(/\.ann$/, '');
      const example: RawExample<'ner' | 're'> =
        task === 'ner'
          ? { externalId, input: { text }, target: { entities: doc.entities }, labels: doc.entities.map((e) => e.type) }
          : {
              externalId,
              input: { text },
              target: { relations: doc.relations, entities: doc.entities, events: doc.events },
              labels: doc.relations.map((r) => r.type),
            };
      return split ? { ...example, split } : example;
    });
    if (example) yield example;
  }
}
