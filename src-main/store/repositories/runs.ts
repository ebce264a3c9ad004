/** Training and evaluation runs: their configuration, status, metrics per step and stored artifacts. */
import { UserError } from '../../common/errors.js';
import type { RunStatus } from '../../common/vocabulary.js';
import type { Db } from '../sqlite.js';
import { fromJson, nowIso, rowId, toJson } from './rows.js';

export interface Run {
  readonly id: number;
  readonly kind: string;
  readonly status: RunStatus;
  readonly config: Record<string, unknown>;
  readonly datasetIds: readonly number[];
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly startedBy: string;
  readonly errorCode: string | null;
}

export interface MetricPoint {
  readonly step: number;
  readonly name: string;
  readonly value: number;
}

interface RunRow {
  id: number;
  kind: string;
  status: RunStatus;
  config: string;
  dataset_ids: string;
  started_at: string;
  finished_at: string | null;
  started_by: string;
  error_code: string | null;
}

export class RunsRepository {
  constructor(private readonly db: Db) {}

  start(kind: string, config: Record<string, unknown>, datasetIds: readonly number[], startedBy: string): Run {
    const id = rowId(
      this.db
        .prepare(
          `INSERT INTO runs (kind, status, config, dataset_ids, started_at, started_by) VALUES (?, 'running', ?, ?, ?, ?)`,
        )
        .run(kind, toJson(config, 'The run configuration'), toJson(datasetIds, 'The dataset ids'), nowIso(), startedBy)
        .lastInsertRowid,
    );
    return this.get(id);
  }

  /** Records metrics for one step (upserts, so a resumed run can report a step again). */
  recordMetrics(runId: number, step: number, metrics: Record<string, number>): void {
    const upsert = this.db.prepare(
      `INSERT INTO run_metrics (run_id, step, name, value) VALUES (?, ?, ?, ?)
       ON CONFLICT (run_id, step, name) DO UPDATE SET value = excluded.value`,
    );
    this.db.transaction(() => {
      for (const [name, value] of Object.entries(metrics)) {
        if (!Number.isFinite(value))
          throw new UserError('INVALID_ARGUMENT', `Metric ${name} at step ${step} is not a finite number.`);
        upsert.run(runId, step, name, value);
      }
    })();
  }

  metrics(runId: number, name?: string): MetricPoint[] {
    return (
      name
        ? this.db
            .prepare('SELECT step, name, value FROM run_metrics WHERE run_id = ? AND name = ? ORDER BY step')
            .all(runId, name)
        : this.db.prepare('SELECT step, name, value FROM run_metrics WHERE run_id = ? ORDER BY step, name').all(runId)
    ) as MetricPoint[];
  }

  attachArtifact(runId: number, name: string, blobId: string): void {
    this.db
      .prepare(
        'INSERT INTO run_artifacts (run_id, name, blob_id) VALUES (?, ?, ?) ON CONFLICT (run_id, name) DO UPDATE SET blob_id = excluded.blob_id',
      )
      .run(runId, name, blobId);
  }

  artifacts(runId: number): { name: string; blobId: string }[] {
    return this.db
      .prepare('SELECT name, blob_id AS blobId FROM run_artifacts WHERE run_id = ? ORDER BY name')
      .all(runId) as {
      name: string;
      blobId: string;
    }[];
  }

  finish(runId: number, status: Exclude<RunStatus, 'running'>, errorCode?: string): Run {
    this.db
      .prepare('UPDATE runs SET status = ?, finished_at = ?, error_code = ? WHERE id = ?')
      .run(status, nowIso(), errorCode ?? null, runId);
    return this.get(runId);
  }

  /** A stopped run continues under its own record: running again, its end and error cleared. */
  reopen(runId: number): Run {
    this.db
      .prepare(`UPDATE runs SET status = 'running', finished_at = NULL, error_code = NULL WHERE id = ?`)
      .run(runId);
    return this.get(runId);
  }

  get(id: number): Run {
    const row = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
    if (!row) throw new UserError('NOT_FOUND', `No run with id ${id}.`);
    return toRun(row);
  }

  list(): Run[] {
    return (this.db.prepare('SELECT * FROM runs ORDER BY id DESC').all() as RunRow[]).map(toRun);
  }
}

function toRun(row: RunRow): Run {
  return {
    id: row.id,
    kind: row.kind,
    status: row.status,
    config: fromJson(row.config),
    datasetIds: fromJson(row.dataset_ids),
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    startedBy: row.started_by,
    errorCode: row.error_code,
  };
}
