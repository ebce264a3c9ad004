/**
 * PubTator (the BioCreative V CDR and NCBI-disease corpora's release format; Wei et al.,
 * "PubTator: a web-based text mining tool", NAR 2013): documents separated by blank lines,
 *   PMID|t|Title
 *   PMID|a|Abstract
 *   PMID<TAB>START<TAB>END<TAB>mention<TAB>TYPE[<TAB>concept id(s)]
 *   PMID<TAB>RELATION<TAB>ID1<TAB>ID2                 (e.g. CID between two MeSH concepts)
 * The text is title + space + abstract, which is what the offsets count. Relations between
 * concepts become relations between their first mentions. Streamed line by line.
 */
import type { Entity, Relation } from '../../tasks/types.js';
import {
  badFile,
  readLines,
  sourceFiles,
  splitFromPath,
  unsupportedTask,
  type ImportOptions,
  type RawExample,
} from '../source.js';

interface PubTatorDocument {
  pmid: string;
  title?: string;
  abstract?: string;
  mentions: { start: number; end: number; text: string; type: string; ids: string[]; line: number }[];
  relations: { type: string; ids: [string, string]; line: number }[];
  firstLine: number;
}

function toExample(doc: PubTatorDocument, file: string, options: ImportOptions): RawExample<'ner' | 're'> {
  const text = [doc.title, doc.abstract].filter((s) => s !== undefined).join(' ');
  const entities: Entity[] = doc.mentions.map((m) => {
    if (m.end > text.length || text.slice(m.start, m.end) !== m.text) {
      throw badFile(
        file,
        m.line,
        `the mention at ${m.start}-${m.end} does not match the title and abstract of ${doc.pmid}`,
      );
    }
    return {
      start: m.start,
      end: m.end,
      type: m.type,
      text: m.text,
      ...(m.ids.length > 0 ? { references: m.ids } : {}),
    };
  });
  const firstMention = (id: string) => entities.find((e) => e.references?.includes(id));
  const relations: Relation[] = doc.relations.flatMap((r) => {
    const head = firstMention(r.ids[0]);
    const tail = firstMention(r.ids[1]);
    if (!head || !tail)
      throw badFile(file, r.line, `relation ${r.type} names a concept with no mention in ${doc.pmid}`);
    return [{ type: r.type, head, tail }];
  });
  const split = options.split ?? splitFromPath(file);
  const base =
    options.task === 'ner'
      ? { externalId: doc.pmid, input: { text }, target: { entities }, labels: entities.map((e) => e.type) }
      : {
          externalId: doc.pmid,
          input: { text },
          target: { relations, entities },
          labels: relations.map((r) => r.type),
        };
  return split ? { ...base, split } : base;
}

export async function* importPubTator(
  source: string,
  options: ImportOptions,
): AsyncGenerator<RawExample<'ner' | 're'>> {
  if (options.task !== 'ner' && options.task !== 're') throw unsupportedTask('PubTator', options.task, ['ner', 're']);
  for (const file of await sourceFiles(source, ['.pubtator', '.txt', '.tsv'], 'PubTator', true)) {
    let doc: PubTatorDocument | undefined;
    for await (const { text: line, number } of readLines(file)) {
      if (line.trim() === '') {
        if (doc) yield toExample(doc, file, options);
        doc = undefined;
        continue;
      }
      const section = /^([^|\t]+)\|([ta])\|(.*)$/.exec(line);
      const pmid = section ? section[1] : line.split('\t')[0];
      if (!pmid) throw badFile(file, number, 'a line must start with the document id');
      if (doc && doc.pmid !== pmid) {
        yield toExample(doc, file, options);
        doc = undefined;
      }
      doc ??= { pmid, mentions: [], relations: [], firstLine: number };
      if (section) {
        if (section[2] === 't') doc.title = section[3] ?? '';
        else doc.abstract = section[3] ?? '';
        continue;
      }
      const columns = line.split('\t');
      if (columns.length === 4) {
        doc.relations.push({ type: columns[1] ?? '', ids: [columns[2] ?? '', columns[3] ?? ''], line: number });
        continue;
      }
      const start = Number(columns[1]);
      const end = Number(columns[2]);
      if (columns.length < 5 || !Number.isInteger(start) || !Number.isInteger(end) || end < start) {
        throw badFile(
          file,
          number,
          'expected "id|t|title", "id|a|abstract", a mention (id, start, end, text, type) or a relation (id, type, id1, id2)',
        );
      }
      const ids = (columns[5] ?? '').split(/[|,;]/).filter((id) => id !== '' && id !== '-1');
      doc.mentions.push({ start, end, text: columns[3] ?? '', type: columns[4] ?? '', ids, line: number });
    }
    if (doc) yield toExample(doc, file, options);
  }
}
