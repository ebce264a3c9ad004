/** Runs test/reference/backbone_reference.py (the PyTorch backbone reference) with a JSON request. */
import path from 'node:path';

import { runJsonProcess } from '../../reference/torch-python.js';
import { REPO_ROOT } from '../../support/paths.js';

export const BACKBONE_REFERENCE = path.join(REPO_ROOT, 'test', 'reference', 'backbone_reference.py');

export function runBackboneReference<T>(python: string, request: unknown, timeoutMs = 600_000): T {
  return runJsonProcess<T>(python, [BACKBONE_REFERENCE], request, {
    what: 'PyTorch backbone reference',
    timeoutMs,
    maxBuffer: 512 * 1024 * 1024,
  });
}
