/**
 * PubTator (the BioCreative V CDR, NCBI-disease and BioRED corpora's release format; Wei et al.,
 * "PubTator: a web-based text mining tool", NAR 2013): documents separated by blank lines,
 *   PMID|t|Title
 *   PMID|a|Abstract
 *   PMID<TAB>START<TAB>END<TAB>mention<TAB>TYPE[<TAB>concept id(s)[<TAB>...]]
 *   PMID<TAB>RELATION<TAB>ID1<TAB>ID2[<TAB>extra...]   (CID between MeSH concepts; BioRED adds a novelty flag)
 * The text is title + space + abstract, which is what the offsets count. A mention may carry
 * several concept ids (`D008545|D009369`, `D1;D2`, `D1,D2`); a relation names a concept by one of
 * them or by the whole column. Relations between concepts become relations between their first
 * mentions; extra relation columns are kept as attributes (`novelty` for the first, then
 * `column6`...). A relation whose concept has no mention in the document is skipped and counted,
 * and `--task ner` ignores relations (counted). Streamed line by line.
 */
import type { Entity, Relation } from '../../tasks/types.js';
import {
  IGNORED_FOR_NER,
  badFile,
  named,
  readLines,
  recordOrSkip,
  skipOrThrow,
  sourceFiles,
  fileSplit,
  unsupportedTask,
  type FileProblem,
  type ImportOptions,
  type RawExample,
} from '../source.js';

/** The notice for relations skipped because a concept they name has no mention. */
export const RELATION_WITHOUT_MENTION = 'relations skipped: a concept they name has no mention in the document';

interface Mention {
  start: number;
  end: number;
  text: string;
  type: string;
  /** The concept column as written, and the ids it lists. */
  concept: string;
  ids: string[];
  line: number;
}

interface PubTatorDocument {
  pmid: string;
  title?: string;
  abstract?: string;
  mentions: Mention[];
  relations: { type: string; ids: [string, string]; extra: string[] }[];
  /** With --skip-bad-rows: the first malformed line; the document is skipped with it. */
  broken?: FileProblem;
}

/** The ids a concept column lists: `|`, `;` and `,` separate them; `-1` and `-` mean none. */
function conceptIds(column: string): string[] {
  return column.split(/[|;,]/).filter((id) => id !== '' && id !== '-1' && id !== '-');
}

function toExample(doc: PubTatorDocument, file: string, options: ImportOptions): RawExample<'ner' | 're'> {
  if (doc.broken) throw doc.broken;
  const text = [doc.title, doc.abstract].filter((s) => s !== undefined).join(' ');
  const entities = doc.mentions.map((m): Entity => {
    if (m.end > text.length || text.slice(m.start, m.end) !== m.text) {
      throw badFile(
        file,
        m.line,
        `the mention at ${m.start}-${m.end} does not match the title and abstract of ${named('document', doc.pmid)}`,
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
  if (options.task === 'ner') {
    options.notices?.count(IGNORED_FOR_NER, doc.relations.length);
    return withSplit(
      { externalId: doc.pmid, input: { text }, target: { entities }, labels: entities.map((e) => e.type) },
      file,
      options,
    );
  }
  const firstMention = (id: string): Entity | undefined => {
    const i = doc.mentions.findIndex((m) => m.concept === id || m.ids.includes(id));
    return i < 0 ? undefined : entities[i];
  };
  const relations = doc.relations.flatMap((r): Relation[] => {
    const head = firstMention(r.ids[0]);
    const tail = firstMention(r.ids[1]);
    if (!head || !tail) {
      options.notices?.count(RELATION_WITHOUT_MENTION);
      return [];
    }
    const attributes = Object.fromEntries(r.extra.map((value, i) => [i === 0 ? 'novelty' : `column${i + 5}`, value]));
    return [{ type: r.type, head, tail, ...(r.extra.length > 0 ? { attributes } : {}) }];
  });
  return withSplit(
    { externalId: doc.pmid, input: { text }, target: { relations, entities }, labels: relations.map((r) => r.type) },
    file,
    options,
  );
}

function withSplit<E extends RawExample>(example: E, file: string, options: ImportOptions): E {
  const split = fileSplit(file, options);
  return split ? { ...example, split } : example;
}

/** Reads one non-blank line into `doc`; throws FileProblem for a malformed one. */
function readLine(doc: PubTatorDocument, line: string, columns: string[], file: string, number: number): void {
  const section = /^[^|\t]+\|([ta])\|(.*)$/.exec(line);
  if (section) {
    if (section[1] === 't') doc.title = section[2] ?? '';
    else doc.abstract = section[2] ?? '';
    return;
  }
  const start = Number(columns[1]);
  const end = Number(columns[2]);
  const isMention = columns[1] !== '' && Number.isInteger(start);
  if (!isMention && columns.length >= 4 && columns[2] !== '' && columns[3] !== '') {
    doc.relations.push({ type: columns[1] ?? '', ids: [columns[2] ?? '', columns[3] ?? ''], extra: columns.slice(4) });
    return;
  }
  if (!isMention || columns.length < 5 || !Number.isInteger(end) || end < start || start < 0) {
    throw badFile(
      file,
      number,
      'expected "id|t|title", "id|a|abstract", a mention (id, start, end, text, type[, concept ids]) or a relation (id, type, concept id 1, concept id 2[, more columns]), separated by tabs',
    );
  }
  const concept = columns[5] ?? '';
  doc.mentions.push({
    start,
    end,
    text: columns[3] ?? '',
    type: columns[4] ?? '',
    concept,
    ids: conceptIds(concept),
    line: number,
  });
}

export async function* importPubTator(
  source: string,
  options: ImportOptions,
): AsyncGenerator<RawExample<'ner' | 're'>> {
  if (options.task !== 'ner' && options.task !== 're') throw unsupportedTask('PubTator', options.task, ['ner', 're']);
  for (const file of await sourceFiles(source, ['.pubtator', '.txt', '.tsv'], 'PubTator', options, true)) {
    let doc: PubTatorDocument | undefined;
    const finish = async () => {
      const done = doc;
      doc = undefined;
      return done ? recordOrSkip(options, () => toExample(done, file, options)) : undefined;
    };
    for await (const { text: line, number } of readLines(file, options)) {
      if (line.trim() === '') {
        const example = await finish();
        if (example) yield example;
        continue;
      }
      const columns = line.split('\t');
      const pmid = /^([^|\t]+)\|[ta]\|/.exec(line)?.[1] ?? columns[0];
      if (!pmid) {
        skipOrThrow(options, badFile(file, number, 'a line must start with the document id'));
        continue;
      }
      if (doc && doc.pmid !== pmid) {
        const example = await finish();
        if (example) yield example;
      }
      doc ??= { pmid, mentions: [], relations: [] };
      try {
        readLine(doc, line, columns, file, number);
      } catch (error) {
        if (!options.skipBadRows) throw error;
        doc.broken ??= error as FileProblem;
      }
    }
    const example = await finish();
    if (example) yield example;
  }
}
