/**
 * The use cases of ClinPrompt, as plain objects that run without Electron and without the CLI.
 * The Electron shell, the CLI and the browser test harness all build them with `createServices`.
 */
import { resolveDataDir } from '../common/paths.js';
import { APP_VERSION } from '../common/version.js';
import type { AppInfo, RequestHandlers } from '../ipc/contract.js';
import { JobManager } from '../jobs/job-manager.js';
import type { WorkerLauncher } from '../jobs/protocol.js';
import { launchThreadWorker } from '../jobs/thread-transport.js';

export interface ServiceOptions {
  readonly dataDir?: string;
  readonly runtime?: AppInfo['runtime'];
  /** How job workers are started: worker threads by default, utilityProcess inside Electron. */
  readonly launchWorker?: WorkerLauncher;
}

export interface Services {
  readonly info: AppInfo;
  readonly jobs: JobManager;
  /** The handlers behind the IPC contract. */
  readonly handlers: RequestHandlers;
  dispose(): Promise<void>;
}

export function createServices(options: ServiceOptions = {}): Services {
  const info: AppInfo = {
    name: 'ClinPrompt',
    version: APP_VERSION,
    dataDir: options.dataDir ?? resolveDataDir(),
    runtime: options.runtime ?? 'node',
    platform: `${process.platform}-${process.arch}`,
  };
  const jobs = new JobManager(options.launchWorker ?? (() => launchThreadWorker()));
  const handlers: RequestHandlers = {
    'app.getInfo': async () => info,
    'jobs.start': async (request) => jobs.start(request),
    'jobs.cancel': async (jobId) => jobs.cancel(jobId),
    'jobs.list': async () => jobs.list(),
  };
  return { info, jobs, handlers, dispose: () => jobs.shutdown() };
}
