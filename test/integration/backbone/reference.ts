/** Runs test/reference/backbone_reference.py (the PyTorch backbone reference) with a JSON request. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

import { REPO_ROOT } from '../../support/paths.js';

export const BACKBONE_REFERENCE = path.join(REPO_ROOT, 'test', 'reference', 'backbone_reference.py');

export function runBackboneReference<T>(python: string, request: unknown, timeoutMs = 600_000): T {
  const r = spawnSync(python, [BACKBONE_REFERENCE], {
    input: JSON.stringify(request),
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
    timeout: timeoutMs,
  });
  if (r.status !== 0) throw new Error(`PyTorch backbone reference failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
