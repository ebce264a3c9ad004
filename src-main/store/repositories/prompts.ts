/**
 * Trained prompts (soft prompts, MPT task vectors, LoRA weights) as versioned metadata plus an
 * encrypted weights blob, and the record of each pack exported from them.
 */
import { UserError } from '../../common/errors.js';
import type { Db } from '../sqlite.js';
import type { BlobStore } from './blobs.js';
import { fromJson, nowIso, rowId, toJson } from './rows.js';

export interface NewPrompt {
  readonly name: string;
  /** e.g. 'prompt-tuning', 'mpt', 'lora', 'full'. */
  readonly method: string;
  readonly backboneFingerprint: string;
  readonly taskTypes: readonly string[];
  readonly meta?: Record<string, unknown>;
  readonly runId?: number;
}

export interface StoredPrompt {
  readonly id: number;
  readonly name: string;
  readonly version: number;
  readonly method: string;
  readonly backboneFingerprint: string;
  readonly taskTypes: readonly string[];
  readonly meta: Record<string, unknown>;
  readonly weightsBlobId: string;
  readonly runId: number | null;
  readonly createdAt: string;
}

export interface PackExport {
  readonly id: number;
  readonly promptId: number;
  readonly fileName: string;
  readonly sha256: string;
  readonly exportedAt: string;
  readonly exportedBy: string;
}

interface PromptRow {
  id: number;
  name: string;
  version: number;
  method: string;
  backbone_fingerprint: string;
  task_types: string;
  meta: string;
  weights_blob_id: string;
  run_id: number | null;
  created_at: string;
}

export class PromptsRepository {
  constructor(
    private readonly db: Db,
    private readonly blobs: BlobStore,
  ) {}

  /** Saves a new version of the named prompt with its weights (encrypted, see blobs.ts). */
  save(prompt: NewPrompt, weights: Buffer): StoredPrompt {
    return this.db
      .transaction(() => {
        const version =
          (this.db.prepare('SELECT max(version) FROM prompts WHERE name = ?').pluck().get(prompt.name) as
            number | null) ?? 0;
        const blob = this.blobs.put('prompt-weights', weights);
        const id = rowId(
          this.db
            .prepare(
              `INSERT INTO prompts (name, version, method, backbone_fingerprint, task_types, meta, weights_blob_id, run_id, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
            )
            .run(
              prompt.name,
              version + 1,
              prompt.method,
              prompt.backboneFingerprint,
              toJson(prompt.taskTypes, 'The task types'),
              toJson(prompt.meta ?? {}, 'The prompt metadata'),
              blob.id,
              prompt.runId ?? null,
              nowIso(),
            ).lastInsertRowid,
        );
        return this.get(id);
      })
      .immediate();
  }

  get(id: number): StoredPrompt {
    const row = this.db.prepare('SELECT * FROM prompts WHERE id = ?').get(id) as PromptRow | undefined;
    if (!row) throw new UserError('NOT_FOUND', `No prompt with id ${id}.`);
    return toPrompt(row);
  }

  /** The newest version of each prompt name, or every version of one name. */
  list(name?: string): StoredPrompt[] {
    const rows = (
      name
        ? this.db.prepare('SELECT * FROM prompts WHERE name = ? ORDER BY version').all(name)
        : this.db
            .prepare(
              'SELECT * FROM prompts p WHERE version = (SELECT max(version) FROM prompts WHERE name = p.name) ORDER BY name',
            )
            .all()
    ) as PromptRow[];
    return rows.map(toPrompt);
  }

  weights(id: number): Buffer {
    return this.blobs.get(this.get(id).weightsBlobId);
  }

  recordExport(promptId: number, fileName: string, sha256: string, exportedBy: string): PackExport {
    this.get(promptId);
    const id = rowId(
      this.db
        .prepare(
          'INSERT INTO pack_exports (prompt_id, file_name, sha256, exported_at, exported_by) VALUES (?, ?, ?, ?, ?)',
        )
        .run(promptId, fileName, sha256, nowIso(), exportedBy).lastInsertRowid,
    );
    const row = this.db
      .prepare(
        'SELECT id, prompt_id AS promptId, file_name AS fileName, sha256, exported_at AS exportedAt, exported_by AS exportedBy FROM pack_exports WHERE id = ?',
      )
      .get(id);
    return row as PackExport;
  }
}

function toPrompt(row: PromptRow): StoredPrompt {
  return {
    id: row.id,
    name: row.name,
    version: row.version,
    method: row.method,
    backboneFingerprint: row.backbone_fingerprint,
    taskTypes: fromJson(row.task_types),
    meta: fromJson(row.meta),
    weightsBlobId: row.weights_blob_id,
    runId: row.run_id,
    createdAt: row.created_at,
  };
}
