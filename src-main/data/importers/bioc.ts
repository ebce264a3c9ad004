/**
 * BioC (Comeau et al., "BioC: a minimalist approach to interoperability for biomedical text
 * processing", Database 2013; DTD at bioc.sourceforge.net) in its XML form and its JSON form
 * (the same tree: documents > passages > annotations/relations). Offsets are document-level; a
 * document's text is its passages placed at their offsets (gaps filled with spaces). Annotations
 * with several locations are discontinuous mentions.
 *
 * Relations as published: arguments as `<node refid>` elements (first node the head, second the
 * tail), or as infons naming annotation ids or concept identifiers (`entity1`/`entity2`,
 * `role1`/`role2`, `Arg1`/`Arg2`, or BC5CDR's `Chemical`/`Disease`: the two infons whose values
 * name mentions). Other relation infons (e.g. BioRED's `novel`) are kept as attributes. A
 * relation whose concept has no mention in the document is skipped and counted; `--task ner`
 * ignores relations (counted). Many BioC files are one line, so errors name the document id, the
 * element path and the byte offset. XML is parsed as a SAX stream (saxes), JSON item by item
 * (json-stream.ts), one document in memory at a time.
 */
import { SaxesParser, type SaxesTag } from 'saxes';

import type { Entity, Relation, Span } from '../../tasks/types.js';
import { streamJsonItems } from '../json-stream.js';
import {
  IGNORED_FOR_NER,
  badFile,
  ByteCounter,
  cannotRead,
  named,
  readChunks,
  recordOrSkip,
  sourceFiles,
  fileSplit,
  unsupportedTask,
  type FileProblem,
  type ImportOptions,
  type Place,
  type RawExample,
} from '../source.js';
import { RELATION_WITHOUT_MENTION } from './pubtator.js';

type Infons = Record<string, string>;

interface BiocAnnotation {
  id: string;
  infons: Infons;
  locations: Span[];
  text: string;
  /** Element path within the document, e.g. `passage 2 > annotation 3`. */
  path: string;
  line: number;
  byte: number;
}
interface BiocRelation {
  id: string;
  infons: Infons;
  refs: string[];
  path: string;
  line: number;
  byte: number;
}
export interface BiocDocument {
  id: string;
  passages: { offset: number; text: string }[];
  annotations: BiocAnnotation[];
  relations: BiocRelation[];
  byte: number;
  line: number;
  /** With --skip-bad-rows: a structural problem found while parsing; the document is skipped. */
  broken?: FileProblem;
}

const TYPE_KEYS = ['type', 'Type', 'class'];
const RELATION_TYPE_KEYS = ['type', 'Type', 'relation', 'class'];
/** Infon pairs that name a relation's arguments, in the order they are tried. */
const ARGUMENT_KEYS: readonly [string, string][] = [
  ['entity1', 'entity2'],
  ['Entity1', 'Entity2'],
  ['role1', 'role2'],
  ['Role1', 'Role2'],
  ['arg1', 'arg2'],
  ['Arg1', 'Arg2'],
];
/** Annotation infons that hold concept identifiers (MeSH, NCBI Gene, ...). */
const IDENTIFIER_KEYS = ['identifier', 'Identifier', 'MESH', 'NCBI Gene', 'CUI'];

const firstInfon = (infons: Infons, keys: readonly string[]) =>
  keys.map((k) => infons[k]).find((v) => v !== undefined) ?? '';
const splitIds = (value: string) => value.split(/[|;,]/).filter((id) => id !== '' && id !== '-' && id !== '-1');

function documentPlace(doc: BiocDocument, element?: { path: string; line: number; byte: number }): Place {
  const where = [named('document', doc.id), ...(element?.path ? [element.path] : [])].join(' > ');
  return { line: element?.line ?? doc.line, record: where, byte: element?.byte ?? doc.byte };
}

function documentText(doc: BiocDocument, file: string): string {
  let text = '';
  for (const passage of [...doc.passages].sort((a, b) => a.offset - b.offset)) {
    if (passage.offset < text.length) {
      throw badFile(file, documentPlace(doc), `a passage's offset ${passage.offset} overlaps the previous passage`);
    }
    text = text.padEnd(passage.offset, ' ') + passage.text;
  }
  return text;
}

function toEntity(a: BiocAnnotation, text: string, doc: BiocDocument, file: string): Entity {
  const place = documentPlace(doc, a);
  if (a.locations.length === 0) throw badFile(file, place, `${named('annotation', a.id)} has no location`);
  for (const l of a.locations) {
    if (l.start < 0 || l.end > text.length || l.end < l.start) {
      throw badFile(file, place, `a location (${l.start}+${l.end - l.start}) lies outside the document's text`);
    }
  }
  const fragments = [...a.locations].sort((x, y) => x.start - y.start);
  const start = fragments[0]?.start ?? 0;
  const end = Math.max(...fragments.map((f) => f.end));
  const covered = fragments.map((f) => text.slice(f.start, f.end)).join(' ');
  // BioC writers order a discontinuous mention's text as written, so compare without spaces and order.
  const letters = (t: string) => [...t.replace(/\s+/g, '')].sort().join('');
  if (a.text !== '' && letters(a.text) !== letters(covered)) {
    throw badFile(file, place, `the <text> of ${named('annotation', a.id)} does not match its location`);
  }
  const references = IDENTIFIER_KEYS.flatMap((k) => splitIds(a.infons[k] ?? ''));
  return {
    id: a.id,
    type: firstInfon(a.infons, TYPE_KEYS),
    start,
    end,
    text: covered,
    ...(fragments.length > 1 ? { fragments } : {}),
    ...(references.length > 0 ? { references } : {}),
  };
}

/**
 * A relation's head and tail: its nodes' refids, else the first pair of argument infons present,
 * else the two infons whose values name mentions. Undefined when they name no mention.
 */
function relationArguments(
  r: BiocRelation,
  resolve: (ref: string) => Entity | undefined,
): { head: Entity; tail: Entity; used: string[] } | undefined {
  let refs: string[] = r.refs;
  let used: string[] = [];
  if (refs.length < 2) {
    const pair = ARGUMENT_KEYS.find(([a, b]) => r.infons[a] !== undefined && r.infons[b] !== undefined);
    if (pair) {
      refs = [r.infons[pair[0]] as string, r.infons[pair[1]] as string];
      used = [...pair];
    } else {
      const naming = Object.keys(r.infons).filter(
        (k) => !RELATION_TYPE_KEYS.includes(k) && resolve(r.infons[k] as string) !== undefined,
      );
      if (naming.length === 2) {
        used = naming;
        refs = naming.map((k) => r.infons[k] as string);
      }
    }
  }
  const [head, tail] = refs.map(resolve);
  return head && tail ? { head, tail, used } : undefined;
}

function documentToExample(doc: BiocDocument, file: string, options: ImportOptions): RawExample<'ner' | 're'> {
  if (doc.broken) throw doc.broken;
  const text = documentText(doc, file);
  const entities = doc.annotations.map((a) => toEntity(a, text, doc, file));
  const sorted = [...entities].sort((a, b) => a.start - b.start || a.end - b.end);
  const split = fileSplit(file, options);
  const withSplit = <E extends RawExample<'ner' | 're'>>(e: E): E => (split ? { ...e, split } : e);
  if (options.task === 'ner') {
    options.notices?.count(IGNORED_FOR_NER, doc.relations.length);
    return withSplit({
      externalId: doc.id,
      input: { text },
      target: { entities: sorted },
      labels: sorted.map((e) => e.type),
    });
  }
  const byId = new Map(entities.map((e) => [e.id as string, e]));
  // A concept identifier names its first mention (in document order).
  const resolve = (ref: string): Entity | undefined =>
    byId.get(ref) ??
    sorted.find((e) => e.references?.includes(ref) || (ref.includes('|') && e.references?.join('|') === ref));
  const relations = doc.relations.flatMap((r): Relation[] => {
    const args = relationArguments(r, resolve);
    if (!args) {
      if (r.refs.length >= 2) {
        throw badFile(
          file,
          documentPlace(doc, r),
          `${named('relation', r.id)}: its <node> refids name no annotation of the document`,
        );
      }
      options.notices?.count(RELATION_WITHOUT_MENTION);
      return [];
    }
    const attributes = Object.fromEntries(
      Object.entries(r.infons).filter(([k]) => !RELATION_TYPE_KEYS.includes(k) && !args.used.includes(k)),
    );
    return [
      {
        ...(r.id !== '' ? { id: r.id } : {}),
        type: firstInfon(r.infons, RELATION_TYPE_KEYS),
        head: args.head,
        tail: args.tail,
        ...(Object.keys(attributes).length > 0 ? { attributes } : {}),
      },
    ];
  });
  return withSplit({
    externalId: doc.id,
    input: { text },
    target: { relations, entities: sorted },
    labels: relations.map((r) => r.type),
  });
}

/** SAX events to BioC documents; `flush` hands over those completed so far. */
function biocXmlParser(file: string, options: ImportOptions, byteAt: (position: number) => number) {
  const parser = new SaxesParser({ position: true });
  const done: BiocDocument[] = [];
  const stack: string[] = [];
  let doc: BiocDocument | undefined;
  let counts = { passage: 0, annotation: 0, relation: 0 };
  let passage: { offset: number; text: string } | undefined;
  let annotation: BiocAnnotation | undefined;
  let relation: BiocRelation | undefined;
  let infonKey: string | undefined;
  let textBuffer = '';

  const here = () => byteAt(parser.position);
  const elementPath = (name: 'annotation' | 'relation') =>
    [...(passage ? [`passage ${counts.passage}`] : []), `${name} ${counts[name]}`].join(' > ');
  /** A problem inside a document skips that document under --skip-bad-rows; else it stands. */
  const fail = (problem: string, byte = here()) => {
    const place: Place = doc
      ? documentPlace(doc, { path: stack.slice(stack.indexOf('document') + 1).join(' > '), line: parser.line, byte })
      : { line: parser.line, byte };
    const error = badFile(file, place, problem);
    if (doc && options.skipBadRows) doc.broken ??= error;
    else throw error;
  };
  parser.on('error', (error) => {
    // saxes messages are "file:line:col: problem[: name]"; keep the problem alone (a name could be note text).
    const problem = error.message.replace(/^.*?\d+:\d+: /, '').replace(/[:.].*$/, '');
    throw badFile(file, { line: parser.line, byte: here() }, `not well-formed XML (${problem})`);
  });
  parser.on('opentag', (tag: SaxesTag) => {
    stack.push(tag.name);
    textBuffer = '';
    const attr = (name: string) => (tag.attributes as Record<string, string>)[name];
    switch (tag.name) {
      case 'document':
        doc = { id: '', passages: [], annotations: [], relations: [], byte: here(), line: parser.line };
        counts = { passage: 0, annotation: 0, relation: 0 };
        break;
      case 'passage':
        counts = { passage: counts.passage + 1, annotation: 0, relation: 0 };
        passage = { offset: 0, text: '' };
        break;
      case 'annotation':
        counts.annotation++;
        annotation = {
          id: attr('id') ?? '',
          infons: {},
          locations: [],
          text: '',
          path: elementPath('annotation'),
          line: parser.line,
          byte: here(),
        };
        break;
      case 'relation':
        counts.relation++;
        relation = {
          id: attr('id') ?? '',
          infons: {},
          refs: [],
          path: elementPath('relation'),
          line: parser.line,
          byte: here(),
        };
        break;
      case 'infon':
        infonKey = attr('key');
        break;
      case 'location': {
        const offset = Number(attr('offset'));
        const length = Number(attr('length'));
        if (!annotation || !Number.isInteger(offset) || !Number.isInteger(length)) {
          fail('a <location> needs integer offset and length attributes inside an <annotation>');
        } else annotation.locations.push({ start: offset, end: offset + length });
        break;
      }
      case 'node':
        relation?.refs.push(attr('refid') ?? '');
        break;
    }
  });
  parser.on('text', (t) => (textBuffer += t));
  parser.on('cdata', (t) => (textBuffer += t));
  parser.on('closetag', (tag) => {
    stack.pop();
    const parent = stack[stack.length - 1];
    const value = textBuffer;
    textBuffer = '';
    switch (tag.name) {
      case 'id':
        if (parent === 'document' && doc) doc.id = value.trim();
        break;
      case 'offset':
        if (parent === 'passage' && passage) {
          const offset = Number(value.trim());
          if (!Number.isInteger(offset)) fail('a passage <offset> is not an integer');
          else passage.offset = offset;
        }
        break;
      case 'text':
        if (parent === 'passage' && passage) passage.text = value;
        if (parent === 'annotation' && annotation) annotation.text = value;
        break;
      case 'infon':
        if (infonKey !== undefined) {
          const target = parent === 'annotation' ? annotation : parent === 'relation' ? relation : undefined;
          if (target && target.infons[infonKey] === undefined) target.infons[infonKey] = value.trim();
        }
        break;
      case 'annotation':
        if (annotation && doc) doc.annotations.push(annotation);
        annotation = undefined;
        break;
      case 'relation':
        if (relation && doc) doc.relations.push(relation);
        relation = undefined;
        break;
      case 'passage':
        if (passage && doc) doc.passages.push(passage);
        passage = undefined;
        counts = { ...counts, annotation: 0, relation: 0 }; // document-level relations count afresh
        break;
      case 'document':
        if (doc) done.push(doc);
        doc = undefined;
        break;
    }
  });
  return {
    write: (chunk: string) => parser.write(chunk),
    close: () => parser.close(),
    flush: () => done.splice(0, done.length),
  };
}

async function* xmlDocuments(file: string, options: ImportOptions): AsyncGenerator<BiocDocument> {
  // saxes counts characters; byte offsets come from counting the bytes of what it has read.
  const counter = new ByteCounter();
  let seen = 0; // characters of earlier chunks and of the current one counted so far (positions only grow)
  let current = '';
  let chunkStart = 0;
  const byteAt = (position: number) => {
    const end = Math.min(position, chunkStart + current.length);
    while (seen < end) counter.add(current.charCodeAt(seen++ - chunkStart));
    return counter.bytes;
  };
  const sax = biocXmlParser(file, options, byteAt);
  try {
    for await (const chunk of readChunks(file, options, counter)) {
      current = chunk;
      sax.write(chunk);
      yield* sax.flush();
      byteAt(chunkStart + chunk.length);
      chunkStart += chunk.length;
    }
    sax.close();
    yield* sax.flush();
  } catch (error) {
    if (error instanceof Error && error.name === 'UserError') throw error;
    throw cannotRead(file, error);
  }
}

interface JsonAnnotation {
  id?: string;
  infons?: Infons;
  text?: string;
  locations?: { offset: number; length: number }[];
}
interface JsonRelation {
  id?: string;
  infons?: Infons;
  nodes?: { refid: string; role?: string }[];
}
interface JsonPassage {
  offset?: number;
  text?: string;
  annotations?: JsonAnnotation[];
  relations?: JsonRelation[];
}
interface JsonDocument {
  id?: string;
  passages?: JsonPassage[];
  relations?: JsonRelation[];
}

const stringInfons = (infons: unknown): Infons =>
  infons !== null && typeof infons === 'object'
    ? Object.fromEntries(Object.entries(infons).map(([k, v]) => [k, String(v)]))
    : {};

async function* jsonDocuments(file: string, options: ImportOptions): AsyncGenerator<BiocDocument> {
  for await (const { value, line, index, byte } of streamJsonItems(file, { ...options, arrayKey: 'documents' })) {
    const d = value as JsonDocument;
    const id = typeof d?.id === 'string' || typeof d?.id === 'number' ? String(d.id) : '';
    const doc: BiocDocument = { id, passages: [], annotations: [], relations: [], byte, line };
    const where = (path: string): Place => documentPlace(doc, { path, line, byte });
    if (typeof d !== 'object' || d === null || !Array.isArray(d.passages)) {
      throw badFile(file, { line, record: `document ${index}`, byte }, 'a BioC document needs a "passages" list');
    }
    const relation = (r: JsonRelation, path: string): BiocRelation => ({
      id: String(r.id ?? ''),
      infons: stringInfons(r.infons),
      refs: (Array.isArray(r.nodes) ? r.nodes : []).map((n) => String(n?.refid ?? '')),
      path,
      line,
      byte,
    });
    try {
      d.passages.forEach((p, pi) => {
        const passagePath = `passage ${pi + 1}`;
        if (!Number.isInteger(p.offset ?? 0) || typeof (p.text ?? '') !== 'string') {
          throw badFile(file, where(passagePath), 'a passage needs an integer offset and a text');
        }
        doc.passages.push({ offset: p.offset ?? 0, text: p.text ?? '' });
        (p.annotations ?? []).forEach((a, ai) => {
          const path = `${passagePath} > annotation ${ai + 1}`;
          doc.annotations.push({
            id: String(a.id ?? ''),
            infons: stringInfons(a.infons),
            text: typeof a.text === 'string' ? a.text : '',
            path,
            line,
            byte,
            locations: (a.locations ?? []).map((l) => {
              if (!Number.isInteger(l?.offset) || !Number.isInteger(l?.length)) {
                throw badFile(file, where(path), 'a location needs integer offset and length');
              }
              return { start: l.offset, end: l.offset + l.length };
            }),
          });
        });
        (p.relations ?? []).forEach((r, ri) => doc.relations.push(relation(r, `${passagePath} > relation ${ri + 1}`)));
      });
      (d.relations ?? []).forEach((r, ri) => doc.relations.push(relation(r, `relation ${ri + 1}`)));
    } catch (error) {
      if (!options.skipBadRows) throw error;
      doc.broken = error as FileProblem;
    }
    yield doc;
  }
}

export async function* importBioc(source: string, options: ImportOptions): AsyncGenerator<RawExample<'ner' | 're'>> {
  if (options.task !== 'ner' && options.task !== 're') throw unsupportedTask('BioC', options.task, ['ner', 're']);
  for (const file of await sourceFiles(source, ['.xml', '.json'], 'BioC', options)) {
    const documents = file.toLowerCase().endsWith('.json') ? jsonDocuments(file, options) : xmlDocuments(file, options);
    for await (const doc of documents) {
      const example = await recordOrSkip(options, () => documentToExample(doc, file, options));
      if (example) yield example;
    }
  }
}
