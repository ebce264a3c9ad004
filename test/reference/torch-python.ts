/**
 * Finds a Python with PyTorch for the reference implementation (Debian's python3-torch lives in
 * /usr/bin/python3; a pyenv or venv python3 earlier on PATH may lack it) and runs the reference.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REFERENCE_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'llama_reference.py');

/** The first of $CLINPROMPT_PYTHON, python3, /usr/bin/python3 that imports torch, or why none did. */
export function findTorchPython(): { python?: string; why: string } {
  const candidates = [process.env['CLINPROMPT_PYTHON'], 'python3', '/usr/bin/python3'].filter((p): p is string => !!p);
  const failures: string[] = [];
  for (const python of candidates) {
    const r = spawnSync(python, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
    if (r.status === 0) return { python, why: '' };
    failures.push(`${python}: ${(r.stderr || String(r.error)).trim().split('\n').at(-1)}`);
  }
  return { why: `no python3 with torch and numpy (${failures.join('; ')}); install python3-torch` };
}

/** Runs llama_reference.py with a JSON request; returns its JSON result. */
export function runReference<T>(python: string, request: unknown, timeoutMs = 600_000): T {
  const r = spawnSync(python, [REFERENCE_SCRIPT], {
    input: JSON.stringify(request),
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    timeout: timeoutMs,
  });
  if (r.status !== 0) throw new Error(`PyTorch reference failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
