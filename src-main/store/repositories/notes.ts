/**
 * Clinical notes imported as plain text to run prompts over, and their annotations (labels a
 * person gives in the labeling step: spans with a label, or a note-level label/value).
 * Note text is PHI: it lives only in this encrypted table and never in messages or logs.
 */
import { UserError } from '../../common/errors.js';
import type { Db } from '../sqlite.js';
import { fromJson, nowIso, rowId, toJson } from './rows.js';

export interface NewNote {
  readonly externalId?: string;
  readonly text: string;
  readonly meta?: Record<string, unknown>;
}

export interface Note {
  readonly id: number;
  readonly collection: string;
  readonly externalId: string | null;
  readonly text: string;
  readonly meta: Record<string, unknown>;
  readonly importedAt: string;
  readonly importedBy: string;
}

export interface CollectionSummary {
  readonly collection: string;
  readonly notes: number;
  readonly annotations: number;
}

interface NoteRow {
  id: number;
  collection: string;
  external_id: string | null;
  text: string;
  meta: string;
  imported_at: string;
  imported_by: string;
}

export class NotesRepository {
  constructor(private readonly db: Db) {}

  /** Imports notes into a collection in one transaction; returns the new ids in order. */
  importNotes(collection: string, notes: Iterable<NewNote>, importedBy: string): number[] {
    if (collection.trim() === '') throw new UserError('INVALID_ARGUMENT', 'A note collection needs a non-empty name.');
    const insert = this.db.prepare(
      'INSERT INTO notes (collection, external_id, text, meta, imported_at, imported_by) VALUES (?, ?, ?, ?, ?, ?)',
    );
    return this.db
      .transaction(() => {
        const ids: number[] = [];
        const at = nowIso();
        for (const note of notes) {
          const where = `Note ${ids.length + 1}${note.externalId ? ` (id ${note.externalId})` : ''}`;
          if (typeof note.text !== 'string' || note.text.length === 0) {
            throw new UserError('INVALID_ARGUMENT', `${where} has no text.`);
          }
          try {
            ids.push(
              rowId(
                insert.run(
                  collection,
                  note.externalId ?? null,
                  note.text,
                  toJson(note.meta ?? {}, `${where}: meta`),
                  at,
                  importedBy,
                ).lastInsertRowid,
              ),
            );
          } catch (error) {
            if (error instanceof Error && 'code' in error && error.code === 'SQLITE_CONSTRAINT_UNIQUE') {
              throw new UserError('ALREADY_EXISTS', `${where} is already in collection "${collection}".`);
            }
            throw error;
          }
        }
        return ids;
      })
      .immediate();
  }

  get(id: number): Note {
    const row = this.db.prepare('SELECT * FROM notes WHERE id = ?').get(id) as NoteRow | undefined;
    if (!row) throw new UserError('NOT_FOUND', `No note with id ${id}.`);
    return toNote(row);
  }

  /** The note of a collection with this external id, if there is one. */
  find(collection: string, externalId: string): Note | undefined {
    const row = this.db
      .prepare('SELECT * FROM notes WHERE collection = ? AND external_id = ?')
      .get(collection, externalId) as NoteRow | undefined;
    return row && toNote(row);
  }

  list(collection: string, page: { limit?: number; offset?: number } = {}): Note[] {
    const rows = this.db
      .prepare('SELECT * FROM notes WHERE collection = ? ORDER BY id LIMIT ? OFFSET ?')
      .all(collection, page.limit ?? -1, page.offset ?? 0) as NoteRow[];
    return rows.map(toNote);
  }

  collections(): CollectionSummary[] {
    return this.db
      .prepare(
        `SELECT n.collection AS collection, count(DISTINCT n.id) AS notes, count(a.id) AS annotations
         FROM notes n LEFT JOIN annotations a ON a.note_id = n.id GROUP BY n.collection ORDER BY n.collection`,
      )
      .all() as CollectionSummary[];
  }

  deleteCollection(collection: string): number {
    return this.db.prepare('DELETE FROM notes WHERE collection = ?').run(collection).changes;
  }
}

function toNote(row: NoteRow): Note {
  return {
    id: row.id,
    collection: row.collection,
    externalId: row.external_id,
    text: row.text,
    meta: fromJson(row.meta),
    importedAt: row.imported_at,
    importedBy: row.imported_by,
  };
}
