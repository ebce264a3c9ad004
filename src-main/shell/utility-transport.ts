import { utilityProcess } from 'electron';

import type { HostToWorker, WorkerToHost, WorkerTransport } from '../jobs/protocol.js';

/** Runs a job in an Electron utilityProcess: out of the main process, so the UI never stalls. */
export function launchUtilityWorker(entryPath: string): WorkerTransport {
  const child = utilityProcess.fork(entryPath, [], { serviceName: 'ClinPrompt job', stdio: 'inherit' });
  return {
    post: (message: HostToWorker) => child.postMessage(message),
    onMessage: (listener) => child.on('message', (m: WorkerToHost) => listener(m)),
    onExit: (listener) => child.once('exit', listener),
    kill: () => void child.kill(),
  };
}
