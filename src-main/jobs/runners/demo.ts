/**
 * The `demo` job: the app's "try it" run and `clinprompt demo` (services/demo.ts), in a worker.
 * Progress is the experiment's: runs finished out of all, with a running run's step now and then.
 */
import path from 'node:path';

import type { ParsedJobRequest } from '../../ipc/contract.js';
import type { DemoSummary } from '../../services/demo.js';
import { runDemo } from '../../services/demo.js';
import type { JobContext } from './index.js';

export async function runDemoJob(
  request: Extract<ParsedJobRequest, { kind: 'demo' }>,
  context: JobContext,
): Promise<DemoSummary> {
  return runDemo({
    outDir: path.resolve(request.out),
    sharedData: request.sharedData ?? path.join('..', 'shared', 'data'),
    provider: request.provider,
    signal: context.signal,
    onProgress: (p) => context.report({ phase: p.phase, step: p.step, totalSteps: p.totalSteps }),
  });
}
