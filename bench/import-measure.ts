/**
 * One measured dataset import in a fresh process (run by bench/import.ts and by
 * test/integration/data/import-memory.test.ts):
 *
 *   node --expose-gc --import tsx bench/import-measure.ts <stream|memory> <format> <source> <task> <home>
 *
 * Creates a real encrypted store in <home>, imports <source>, and prints one JSON line: examples,
 * seconds, and the peak growth of live V8 heap, array buffers and RSS over the baseline (sampled
 * every 250 ms, after a full GC when --expose-gc is given; the GC time slows both modes alike). `stream` is the import the app runs (services/datasets.ts);
 * `memory` is the earlier path: read every example (data/read-dataset.ts), then one synchronous
 * store transaction.
 */
import path from 'node:path';

import type { ImportFormat } from '../src-main/common/vocabulary.js';
import { readDataset } from '../src-main/data/read-dataset.js';
import { importDatasetFiles } from '../src-main/services/datasets.js';
import { DatasetsRepository } from '../src-main/store/repositories/datasets.js';
import { initStore } from '../src-main/store/store.js';
import type { TaskType } from '../src-main/tasks/types.js';

const [mode, format, source, task, home] = process.argv.slice(2) as [
  'stream' | 'memory',
  ImportFormat,
  string,
  TaskType,
  string,
];

const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
gc?.();
const base = process.memoryUsage();
const peak = { heapUsed: 0, arrayBuffers: 0, external: 0, rss: 0 };
/** Live memory: with --expose-gc each sample follows a full collection, so garbage not yet collected does not count. */
const sample = (): void => {
  gc?.();
  const m = process.memoryUsage();
  peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed - base.heapUsed);
  peak.arrayBuffers = Math.max(peak.arrayBuffers, m.arrayBuffers - base.arrayBuffers);
  peak.external = Math.max(peak.external, m.external - base.external);
  peak.rss = Math.max(peak.rss, m.rss - base.rss);
};
const timer = setInterval(sample, 250);

const store = await initStore(path.join(home, 'home'), {
  protect: { passphrase: 'bench passphrase', scrypt: { N: 2 ** 14, r: 8, p: 1 } },
  admin: { username: 'admin' },
});
const session = store.session('admin');
const name = `bench-${mode}`;
const started = process.hrtime.bigint();
let examples: number;
if (mode === 'stream') {
  const outcome = await importDatasetFiles(store, session, { format, path: source, task, name });
  examples = outcome.counts.total;
} else {
  const read = await readDataset(format, source, { task });
  sample();
  const result = session.perform(
    'datasets.import',
    'datasets.import',
    (db) =>
      new DatasetsRepository(db).importDataset(
        { name, taskType: task, sourceFormat: format, labelSet: read.labelSet, meta: { report: read.report } },
        read.examples,
      ),
    (r) => ({ objectType: 'dataset', objectIds: [r.datasetId] }),
  );
  sample();
  examples = result.counts.total;
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
sample();
clearInterval(timer);
store.close();
const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
process.stdout.write(
  `${JSON.stringify({
    mode,
    examples,
    seconds: Math.round(seconds * 100) / 100,
    examplesPerSecond: Math.round(examples / seconds),
    gcExposed: gc !== undefined,
    peakGrowthMiB: {
      heapUsed: mb(peak.heapUsed),
      arrayBuffers: mb(peak.arrayBuffers),
      external: mb(peak.external),
      rss: mb(peak.rss),
    },
  })}\n`,
);
