/**
 * The dataset requests of the IPC contract: import files into the unlocked store, list the
 * datasets with their counts, and the public source-task catalogue. They call the same use cases
 * as `clinprompt import` / `clinprompt datasets` (services/datasets.ts) and hand the renderer
 * names, counts, labels and ids, never note text.
 */
import { SOURCE_TASKS } from '../data/catalogue.js';
import type { DatasetImportResult, DatasetListing, RequestHandlers, SourceTaskListing } from '../ipc/contract.js';
import type { DatasetSummary } from '../store/repositories/datasets.js';
import { importDatasetFiles, listDatasets } from './datasets.js';
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
  };
}

type DatasetRequests = 'datasets.list' | 'datasets.import' | 'datasets.catalogue';

export function datasetHandlers(store: StoreService): Pick<RequestHandlers, DatasetRequests> {
  return {
    'datasets.list': () => store.use((s, session) => listDatasets(s, session).map(toListing)),
    'datasets.import': (request) =>
      store.use(async (s, session): Promise<DatasetImportResult> => {
        const outcome = await importDatasetFiles(s, session, {
          format: request.format,
          path: request.path,
          task: request.task,
          name: request.name,
          ...(request.mapping ? { mapping: request.mapping } : {}),
        });
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
            splitsDrawn: report.splitsDrawn,
            unlabelled: report.unlabelled,
            leakage: report.leakage,
            balance: { imbalanceRatio: report.balance.imbalanceRatio, missing: report.balance.missing },
          },
        };
      }),
    'datasets.catalogue': async () =>
      SOURCE_TASKS.map((t): SourceTaskListing => ({
        name: t.name,
        title: t.title,
        task: t.task,
        format: t.format,
        path: t.path,
        expected: t.expected,
        ...(t.mapping ? { mapping: t.mapping } : {}),
      })),
  };
}
