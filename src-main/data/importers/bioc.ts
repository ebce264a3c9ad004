/**
 * BioC (Comeau et al., "BioC: a minimalist approach to interoperability for biomedical text
 * processing", Database 2013; DTD at bioc.sourceforge.net) in its XML form and its JSON form
 * (the same tree: documents > passages > annotations/relations). Offsets are document-level; a
 * document's text is its passages placed at their offsets (gaps filled with spaces). Annotations
 * with several locations are discontinuous mentions. Relations name annotations by `refid`; the
 * first node is the head, the second the tail. XML is parsed as a SAX stream (saxes), JSON item by
 * item (json-stream.ts), one document in memory at a time.
 */
import { createReadStream } from 'node:fs';

import { SaxesParser, type SaxesTag } from 'saxes';

import type { Entity, Relation, Span } from '../../tasks/types.js';
import { streamJsonItems } from '../json-stream.js';
import {
  badFile,
  cannotRead,
  sourceFiles,
  splitFromPath,
  unsupportedTask,
  type ImportOptions,
  type RawExample,
} from '../source.js';

interface BiocAnnotation {
  id: string;
  type: string;
  locations: Span[];
  text: string;
  line: number;
}
interface BiocRelation {
  id: string;
  type: string;
  refs: string[];
  line: number;
}
export interface BiocDocument {
  id: string;
  passages: { offset: number; text: string }[];
  annotations: BiocAnnotation[];
  relations: BiocRelation[];
  line: number;
}

const TYPE_KEYS = ['type', 'Type', 'class'];

function documentToExample(doc: BiocDocument, file: string, options: ImportOptions): RawExample<'ner' | 're'> {
  let text = '';
  for (const passage of [...doc.passages].sort((a, b) => a.offset - b.offset)) {
    if (passage.offset < text.length) {
      throw badFile(
        file,
        doc.line,
        `document ${doc.id}: a passage's offset ${passage.offset} overlaps the previous passage`,
      );
    }
    text = text.padEnd(passage.offset, ' ') + passage.text;
  }
  const byId = new Map<string, Entity>();
  const entities: Entity[] = doc.annotations.map((a) => {
    for (const l of a.locations) {
      if (l.start < 0 || l.end > text.length || l.end < l.start) {
        throw badFile(
          file,
          a.line,
          `annotation ${a.id}: location ${l.start}+${l.end - l.start} lies outside document ${doc.id}`,
        );
      }
    }
    if (a.locations.length === 0) throw badFile(file, a.line, `annotation ${a.id} has no location`);
    const fragments = [...a.locations].sort((x, y) => x.start - y.start);
    const start = fragments[0]?.start ?? 0;
    const end = Math.max(...fragments.map((f) => f.end));
    const covered = fragments.map((f) => text.slice(f.start, f.end)).join(' ');
    // BioC writers order a discontinuous mention's text as written, so compare without spaces and order.
    const letters = (t: string) => [...t.replace(/\s+/g, '')].sort().join('');
    if (a.text !== '' && letters(a.text) !== letters(covered)) {
      throw badFile(file, a.line, `annotation ${a.id}: its <text> does not match its location in document ${doc.id}`);
    }
    const entity: Entity = {
      id: a.id,
      type: a.type,
      start,
      end,
      text: covered,
      ...(fragments.length > 1 ? { fragments } : {}),
    };
    byId.set(a.id, entity);
    return entity;
  });
  const relations: Relation[] = doc.relations.map((r) => {
    const [head, tail] = r.refs.map((ref) => byId.get(ref));
    if (!head || !tail) {
      throw badFile(file, r.line, `relation ${r.id} needs two nodes that refer to annotations of document ${doc.id}`);
    }
    return { id: r.id, type: r.type, head, tail };
  });
  entities.sort((a, b) => a.start - b.start || a.end - b.end);
  const split = options.split ?? splitFromPath(file);
  const base =
    options.task === 'ner'
      ? { externalId: doc.id, input: { text }, target: { entities }, labels: entities.map((e) => e.type) }
      : { externalId: doc.id, input: { text }, target: { relations, entities }, labels: relations.map((r) => r.type) };
  return split ? { ...base, split } : base;
}

/** SAX events to BioC documents; `flush` hands over those completed so far. */
function biocXmlParser(file: string) {
  const parser = new SaxesParser({ position: true });
  const done: BiocDocument[] = [];
  const path: string[] = [];
  let doc: BiocDocument | undefined;
  let passage: { offset: number; text: string } | undefined;
  let annotation: BiocAnnotation | undefined;
  let relation: BiocRelation | undefined;
  let infonKey: string | undefined;
  let textBuffer = '';

  const fail = (problem: string) => badFile(file, parser.line, problem);
  parser.on('error', (error) => {
    // saxes messages are "file:line:col: problem"; keep only the problem, which names no text.
    throw fail(`not well-formed XML (${error.message.replace(/^.*?:\d+:\d+: /, '')})`);
  });
  parser.on('opentag', (tag: SaxesTag) => {
    path.push(tag.name);
    textBuffer = '';
    const attr = (name: string) => (tag.attributes as Record<string, string>)[name];
    switch (tag.name) {
      case 'document':
        doc = { id: '', passages: [], annotations: [], relations: [], line: parser.line };
        break;
      case 'passage':
        passage = { offset: 0, text: '' };
        break;
      case 'annotation':
        annotation = { id: attr('id') ?? '', type: '', locations: [], text: '', line: parser.line };
        break;
      case 'relation':
        relation = { id: attr('id') ?? '', type: '', refs: [], line: parser.line };
        break;
      case 'infon':
        infonKey = attr('key');
        break;
      case 'location': {
        const offset = Number(attr('offset'));
        const length = Number(attr('length'));
        if (!annotation || !Number.isInteger(offset) || !Number.isInteger(length)) {
          throw fail('a <location> needs integer offset and length attributes inside an <annotation>');
        }
        annotation.locations.push({ start: offset, end: offset + length });
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
    path.pop();
    const parent = path[path.length - 1];
    const value = textBuffer;
    textBuffer = '';
    switch (tag.name) {
      case 'id':
        if (parent === 'document' && doc) doc.id = value.trim();
        break;
      case 'offset':
        if (parent === 'passage' && passage) {
          const offset = Number(value.trim());
          if (!Number.isInteger(offset)) throw fail('a passage <offset> is not an integer');
          passage.offset = offset;
        }
        break;
      case 'text':
        if (parent === 'passage' && passage) passage.text = value;
        if (parent === 'annotation' && annotation) annotation.text = value;
        break;
      case 'infon':
        if (infonKey && TYPE_KEYS.includes(infonKey)) {
          if (parent === 'annotation' && annotation && !annotation.type) annotation.type = value.trim();
          if (parent === 'relation' && relation && !relation.type) relation.type = value.trim();
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

async function* xmlDocuments(file: string): AsyncGenerator<BiocDocument> {
  const sax = biocXmlParser(file);
  const stream = createReadStream(file, { encoding: 'utf8' });
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      sax.write(chunk);
      yield* sax.flush();
    }
    sax.close();
    yield* sax.flush();
  } catch (error) {
    if (error instanceof Error && error.name === 'UserError') throw error;
    throw cannotRead(file, error);
  } finally {
    stream.destroy();
  }
}

interface JsonAnnotation {
  id?: string;
  infons?: Record<string, string>;
  text?: string;
  locations?: { offset: number; length: number }[];
}
interface JsonRelation {
  id?: string;
  infons?: Record<string, string>;
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

const infonType = (infons: Record<string, string> | undefined) =>
  TYPE_KEYS.map((k) => infons?.[k]).find((v) => v !== undefined) ?? '';

async function* jsonDocuments(file: string): AsyncGenerator<BiocDocument> {
  for await (const { value, line } of streamJsonItems(file, { arrayKey: 'documents' })) {
    const d = value as JsonDocument;
    if (typeof d !== 'object' || d === null || !Array.isArray(d.passages)) {
      throw badFile(file, line, 'a BioC document needs a "passages" list');
    }
    const relation = (r: JsonRelation): BiocRelation => ({
      id: r.id ?? '',
      type: infonType(r.infons),
      refs: (r.nodes ?? []).map((n) => n.refid),
      line,
    });
    yield {
      id: String(d.id ?? ''),
      line,
      passages: d.passages.map((p) => {
        if (!Number.isInteger(p.offset ?? 0) || typeof (p.text ?? '') !== 'string') {
          throw badFile(file, line, `document ${d.id ?? '?'}: a passage needs an integer offset and a text`);
        }
        return { offset: p.offset ?? 0, text: p.text ?? '' };
      }),
      annotations: d.passages.flatMap((p) =>
        (p.annotations ?? []).map((a) => ({
          id: a.id ?? '',
          type: infonType(a.infons),
          text: a.text ?? '',
          line,
          locations: (a.locations ?? []).map((l) => {
            if (!Number.isInteger(l.offset) || !Number.isInteger(l.length)) {
              throw badFile(file, line, `annotation ${a.id ?? '?'}: a location needs integer offset and length`);
            }
            return { start: l.offset, end: l.offset + l.length };
          }),
        })),
      ),
      relations: [
        ...d.passages.flatMap((p) => (p.relations ?? []).map(relation)),
        ...(d.relations ?? []).map(relation),
      ],
    };
  }
}

export async function* importBioc(source: string, options: ImportOptions): AsyncGenerator<RawExample<'ner' | 're'>> {
  if (options.task !== 'ner' && options.task !== 're') throw unsupportedTask('BioC', options.task, ['ner', 're']);
  for (const file of await sourceFiles(source, ['.xml', '.json'], 'BioC')) {
    const documents = file.toLowerCase().endsWith('.json') ? jsonDocuments(file) : xmlDocuments(file);
    for await (const doc of documents) yield documentToExample(doc, file, options);
  }
}
