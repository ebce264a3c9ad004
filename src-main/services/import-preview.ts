/**
 * The Import step's look at a source before importing it: its first records (data/preview.ts, the
 * import's own readers) and, for a JSONL/CSV table, the task's fields with the file's columns the
 * preset's mapping names for each, else the best guess (data/mapping.ts); for JSON whose records
 * sit under a top-level key, the records there and that key. It needs the permission
 * that importing the same source needs, and writes, logs and audits nothing: the note text it
 * returns goes to the screen of someone who may import it, and the file is not in the store.
 */
import { UserError } from '../common/errors.js';
import type { ImportFormat } from '../common/vocabulary.js';
import { guessMapping, mappableFields, parseMapping } from '../data/mapping.js';
import { RecordsUnderKey } from '../data/importers/tabular.js';
import { previewSource } from '../data/preview.js';
import type { ImportOptions } from '../data/source.js';
import type { ImportFieldView, ImportPreview } from '../ipc/contract.js';
import type { StoreSession } from '../store/session.js';
import { requireImport } from './datasets.js';

export async function previewImport(
  session: StoreSession,
  format: ImportFormat,
  source: string,
  options: ImportOptions,
  limit: number,
): Promise<ImportPreview> {
  requireImport(session, format);
  let records: string | undefined;
  const read = () => previewSource(format, source, records === undefined ? options : { ...options, records }, limit);
  const preview = await read()
    .catch((error: unknown) => {
      // JSON whose records sit under a key: read them there, and say which key the import needs
      if (!(error instanceof RecordsUnderKey) || options.records !== undefined) throw error;
      records = error.key;
      return read();
    })
    .catch((error: unknown) => {
      throw onPath(error);
    });
  const fields = preview.mappable ? fieldsFor(preview.columns, options) : [];
  return {
    file: preview.file,
    columns: preview.columns,
    rows: preview.rows,
    fields,
    ...(records !== undefined && { records }),
  };
}

/** Each field with the given mapping's columns that the file has, else the guessed ones. */
function fieldsFor(columns: readonly string[], options: ImportOptions): ImportFieldView[] {
  const given = parseMapping(options.mapping, options.task);
  const taken = new Set(Object.values(given).flat());
  const guessed = guessMapping(
    columns.filter((c) => !taken.has(c)),
    options.task,
  );
  return mappableFields(options.task).map(({ name, holds, required, list }) => {
    const kept = (given[name] ?? []).filter((c) => columns.includes(c));
    return { name, holds, required, list, columns: kept.length > 0 ? kept : (guessed[name] ?? []) };
  });
}

/** A problem with the source that names no setting is the chosen file's ("File or folder: ..."). */
function onPath(error: unknown): unknown {
  if (!(error instanceof UserError) || error.field !== undefined) return error;
  return new UserError(error.code, error.message, { field: 'path', cause: error });
}
