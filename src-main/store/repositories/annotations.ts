/** Labels people put on notes: a span [start, end) with a label, or a note-level label with a JSON value. */
import { UserError } from '../../common/errors.js';
import type { Db } from '../sqlite.js';
import { fromJson, nowIso, rowId, toJson } from './rows.js';

export interface NewAnnotation {
  readonly noteId: number;
  readonly taskType: string;
  readonly label: string;
  /** Character offsets into the note text; both absent for a note-level label. */
  readonly start?: number;
  readonly end?: number;
  readonly value?: unknown;
}

export interface Annotation {
  readonly id: number;
  readonly noteId: number;
  readonly taskType: string;
  readonly label: string;
  readonly start: number | null;
  readonly end: number | null;
  readonly value: unknown;
  readonly createdAt: string;
  readonly createdBy: string;
}

interface AnnotationRow {
  id: number;
  note_id: number;
  task_type: string;
  label: string;
  start: number | null;
  end: number | null;
  value: string;
  created_at: string;
  created_by: string;
}

export class AnnotationsRepository {
  constructor(private readonly db: Db) {}

  add(annotation: NewAnnotation, createdBy: string): Annotation {
    const length = this.db.prepare('SELECT length(text) FROM notes WHERE id = ?').pluck().get(annotation.noteId) as
      number | undefined;
    if (length === undefined) throw new UserError('NOT_FOUND', `No note with id ${annotation.noteId}.`);
    const { start, end } = annotation;
    if (
      (start === undefined) !== (end === undefined) ||
      (start !== undefined && end !== undefined && !(start >= 0 && end >= start && end <= length))
    ) {
      throw new UserError(
        'INVALID_ARGUMENT',
        `Annotation span [${start}, ${end}) does not fit note ${annotation.noteId} (length ${length}).`,
      );
    }
    const id = rowId(
      this.db
        .prepare(
          `INSERT INTO annotations (note_id, task_type, label, start, end, value, created_at, created_by)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          annotation.noteId,
          annotation.taskType,
          annotation.label,
          start ?? null,
          end ?? null,
          toJson(annotation.value ?? null, 'The annotation value'),
          nowIso(),
          createdBy,
        ).lastInsertRowid,
    );
    return this.forNote(annotation.noteId).find((a) => a.id === id) as Annotation;
  }

  forNote(noteId: number): Annotation[] {
    const rows = this.db
      .prepare('SELECT * FROM annotations WHERE note_id = ? ORDER BY start, id')
      .all(noteId) as AnnotationRow[];
    return rows.map(toAnnotation);
  }

  /** The newest annotation `createdBy` made on a note of `collection` (what undo takes back). */
  lastBy(collection: string, createdBy: string): Annotation | undefined {
    const row = this.db
      .prepare(
        `SELECT a.* FROM annotations a JOIN notes n ON n.id = a.note_id
         WHERE n.collection = ? AND a.created_by = ? ORDER BY a.id DESC LIMIT 1`,
      )
      .get(collection, createdBy) as AnnotationRow | undefined;
    return row && toAnnotation(row);
  }

  /** Puts a deleted annotation back as it was, under its own id (undoing a change that replaced it). */
  restore(a: Annotation): void {
    this.db
      .prepare(
        `INSERT INTO annotations (id, note_id, task_type, label, start, end, value, created_at, created_by)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        a.id,
        a.noteId,
        a.taskType,
        a.label,
        a.start,
        a.end,
        toJson(a.value ?? null, 'The annotation value'),
        a.createdAt,
        a.createdBy,
      );
  }

  delete(id: number): void {
    if (this.db.prepare('DELETE FROM annotations WHERE id = ?').run(id).changes === 0) {
      throw new UserError('NOT_FOUND', `No annotation with id ${id}.`);
    }
  }
}

function toAnnotation(r: AnnotationRow): Annotation {
  return {
    id: r.id,
    noteId: r.note_id,
    taskType: r.task_type,
    label: r.label,
    start: r.start,
    end: r.end,
    value: fromJson(r.value),
    createdAt: r.created_at,
    createdBy: r.created_by,
  };
}
