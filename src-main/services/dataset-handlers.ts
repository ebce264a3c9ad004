/**
 * The dataset requests of the IPC contract: import files into the unlocked store, list the
 * datasets with their counts, label balance chart, rename or delete one, and the public source-task
 * catalogue. They call the same use cases as `clinprompt import` / `clinprompt datasets`
 * (services/datasets.ts) and hand the renderer names, counts, labels and ids; only a stored
 * dataset's preview, asked for and audited as a read, and a file's first records before it is
 * imported (`imports.preview`, under the import's permission), carry note text.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

import { SOURCE_TASKS } from '../data/catalogue.js';
import { NOTES_SPLIT_REASON } from '../data/importers/notes.js';
import type { DatasetImportResult, DatasetListing, RequestHandlers, SourceTaskListing } from '../ipc/contract.js';
import type { DatasetSummary } from '../store/repositories/datasets.js';
import { labelBalanceSpec, renderChartSvg } from './charts.js';
import {
  deleteDataset,
  importDatasetFiles,
  listDatasets,
  previewDataset,
  renameDataset,
  type ImportRequest,
} from './datasets.js';
import { previewImport } from './import-preview.js';
import type { StoreService } from './store-service.js';

export function toListing(d: DatasetSummary): DatasetListing {
  return {
    id: d.id,
    name: d.name,
    taskType: d.taskType,
    sourceFormat: d.sourceFormat,
    labelSet: d.labelSet,
    createdAt: d.createdAt,
    counts: d.counts,
    labelCounts: d.labelCounts,
    unlabelled: unlabelled(d),
  };
}

/** What the import found (kept in its meta); a dataset made otherwise (e.g. by labelling) is labelled unless notes. */
function unlabelled(d: DatasetSummary): boolean {
  const found = (d.meta['report'] as { unlabelled?: unknown } | undefined)?.unlabelled;
  return typeof found === 'boolean' ? found : d.sourceFormat === 'notes';
}

type DatasetRequests =
  | 'datasets.list'
  | 'datasets.import'
  | 'datasets.delete'
  | 'datasets.rename'
  | 'datasets.preview'
  | 'datasets.catalogue'
  | 'imports.preview'
  | 'charts.labelBalance';

/** A request's settings as the services take them: optional fields arrive as undefined or '' when not chosen. */
function chosenOnly<T extends object>(request: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(request).filter(([, v]) => v !== undefined && v !== '')) as never;
}

export function datasetHandlers(store: StoreService, sharedDataDir: string): Pick<RequestHandlers, DatasetRequests> {
  return {
    'datasets.list': () => store.use((s, session) => listDatasets(s, session).map(toListing)),
    'imports.preview': ({ format, path: source, limit, ...options }) =>
      store.use((_, session) => previewImport(session, format, source, chosenOnly(options), limit)),
    'datasets.import': (request) =>
      store.use(async (s, session): Promise<DatasetImportResult> => {
        const chosen = chosenOnly(request) as ImportRequest;
        const outcome = await importDatasetFiles(s, session, chosen);
        const { report } = outcome;
        return {
          datasetId: outcome.datasetId,
          name: outcome.name,
          counts: outcome.counts,
          labelSet: outcome.labelSet,
          report: {
            read: report.read,
            duplicatesRemoved: report.duplicatesRemoved,
            conflictingDuplicates: report.conflictingDuplicates,
            conflicts: report.conflicts,
            notices: report.notices,
            skipped: report.skipped,
            skippedCount: report.skippedCount,
            splitsDrawn: report.splitsDrawn,
            unlabelled: report.unlabelled,
            ...(chosen.format === 'notes' ? { splitReason: NOTES_SPLIT_REASON } : {}),
            leakage: report.leakage,
            balance: { imbalanceRatio: report.balance.imbalanceRatio, missing: report.balance.missing },
          },
        };
      }),
    'datasets.delete': ({ name }) => store.use((s, session) => deleteDataset(s, session, name)),
    'datasets.rename': ({ name, newName }) => store.use((s, session) => renameDataset(s, session, name, newName)),
    'datasets.preview': ({ name, limit }) =>
      store.use((s, session) => ({ examples: previewDataset(s, session, { name, limit }).examples })),
    'charts.labelBalance': ({ name }) =>
      store.use(async (s, session) => {
        session.require('notes.read', 'see a dataset’s label balance');
        return { svg: await renderChartSvg(labelBalanceSpec(s.datasets.get(name).labelCounts)) };
      }),
    'datasets.catalogue': async () =>
      SOURCE_TASKS.map((t): SourceTaskListing => ({
        name: t.name,
        title: t.title,
        task: t.task,
        format: t.format,
        path: t.path,
        location: path.join(sharedDataDir, t.path),
        present: existsSync(path.join(sharedDataDir, t.path)),
        expected: t.expected,
        ...(t.mapping ? { mapping: t.mapping } : {}),
        ...(t.drawSplits ? { drawSplits: true } : {}),
      })),
  };
}
