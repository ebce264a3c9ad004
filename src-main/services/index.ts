/**
 * The use cases of ClinPrompt, as plain objects that run without Electron and without the CLI.
 * The Electron shell, the CLI and the browser test harness all build them with `createServices`.
 */
import path from 'node:path';

import { UserError } from '../common/errors.js';
import { resolveDataDir } from '../common/paths.js';
import { APP_VERSION } from '../common/version.js';
import type { AppInfo, EventSink, RequestHandlers } from '../ipc/contract.js';
import { JobManager } from '../jobs/job-manager.js';
import type { WorkerLauncher } from '../jobs/protocol.js';
import { launchThreadWorker } from '../jobs/thread-transport.js';
import { adaptHandlers } from './adapt.js';
import { datasetHandlers } from './dataset-handlers.js';
import { labelHandlers } from './labelling.js';
import { noteRunHandlers } from './note-run-handlers.js';
import { packHandlers } from './pack-handlers.js';
import { StoreService, type StoreServiceOptions } from './store-service.js';
import { suggestionHandlers } from './suggestions.js';
import { taskHandlers } from './task-setup.js';
import { userHandlers } from './user-handlers.js';

/** The OS file/folder chooser; resolves undefined when the person cancels. */
export type PathPicker = (request: { kind: 'file' | 'folder' }) => Promise<string | undefined>;

export interface ServiceOptions {
  readonly dataDir?: string;
  /** The public data folder the source-task presets point into (../shared/data from the working directory). */
  readonly sharedDataDir?: string;
  readonly runtime?: AppInfo['runtime'];
  /** How job workers are started: worker threads by default, utilityProcess inside Electron. */
  readonly launchWorker?: WorkerLauncher;
  /** Keychain, safeStorage, auto-lock and acting user for the encrypted store. */
  readonly store?: Omit<StoreServiceOptions, 'dataDir'>;
  /** The OS file chooser (the desktop shell); without it `dialogs.pickPath` is UNSUPPORTED. */
  readonly pickPath?: PathPicker;
}

export interface Services {
  readonly info: AppInfo;
  readonly jobs: JobManager;
  readonly store: StoreService;
  /** The handlers behind the IPC contract. */
  readonly handlers: RequestHandlers;
  /** Forwards every event of the contract to `sink`; returns the unsubscribe function. */
  subscribe(sink: EventSink): () => void;
  /** Locks the store and stops the workers (on quit). */
  dispose(): Promise<void>;
}

export function createServices(options: ServiceOptions = {}): Services {
  const info: AppInfo = {
    name: 'ClinPrompt',
    version: APP_VERSION,
    dataDir: options.dataDir ?? resolveDataDir(),
    runtime: options.runtime ?? 'node',
    platform: `${process.platform}-${process.arch}`,
    canPickPaths: options.pickPath !== undefined,
  };
  const jobs = new JobManager(options.launchWorker ?? (() => launchThreadWorker()));
  const store = new StoreService({ ...options.store, dataDir: info.dataDir });
  const pickPath = options.pickPath;
  const handlers: RequestHandlers = {
    'app.getInfo': async () => info,
    'jobs.start': async (request) => jobs.start(request),
    'jobs.cancel': async (jobId) => jobs.cancel(jobId),
    'jobs.list': async () => jobs.list(),
    'store.getStatus': () => store.status(),
    'store.setUp': (request) => store.setUp(request),
    'store.unlock': (request) => store.unlock(request),
    'store.lock': () => store.lock(),
    'store.noteActivity': async () => store.noteActivity(),
    ...userHandlers(store),
    ...datasetHandlers(store, options.sharedDataDir ?? path.resolve('..', 'shared', 'data')),
    ...packHandlers(store),
    ...adaptHandlers(store, jobs, info.dataDir),
    ...noteRunHandlers(store, jobs),
    ...taskHandlers(store),
    ...labelHandlers(store),
    ...suggestionHandlers(store, jobs, info.dataDir),
    'dialogs.pickPath': async (request) => {
      if (!pickPath) {
        throw new UserError('UNSUPPORTED', 'No file chooser here: type the path of the file or folder instead.');
      }
      return { path: (await pickPath(request)) ?? null };
    },
  };
  return {
    info,
    jobs,
    store,
    handlers,
    subscribe(sink) {
      const stopJobs = jobs.subscribe({
        onDidProgress: (p) => sink('jobs.onDidProgress', p),
        onDidFinish: (s) => sink('jobs.onDidFinish', s),
      });
      const stopStore = store.onDidLock((reason) => sink('store.onDidLock', { reason }));
      return () => {
        stopJobs();
        stopStore();
      };
    },
    async dispose() {
      store.dispose();
      await jobs.shutdown();
    },
  };
}
