/**
 * Finds a Python with PyTorch for the reference implementation (Debian's python3-torch lives in
 * /usr/bin/python3; a pyenv or venv python3 earlier on PATH may lack it) and runs the reference.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REFERENCE_DIR = dirname(fileURLToPath(import.meta.url));
export const REFERENCE_SCRIPT = join(REFERENCE_DIR, 'llama_reference.py');
/** Training steps of every method (pt, lora, full): loss and gradients, or timed AdamW steps. */
export const TRAIN_REFERENCE_SCRIPT = join(REFERENCE_DIR, 'train_reference.py');

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

/**
 * Runs a program that reads one JSON request on stdin and writes one JSON result on stdout (the
 * PyTorch references, the benchmark workers); a non-zero exit becomes an error with its stderr.
 */
export function runJsonProcess<T>(
  command: string,
  args: readonly string[],
  request: unknown,
  options: { what: string; timeoutMs?: number; maxBuffer?: number; cwd?: string; env?: NodeJS.ProcessEnv },
): T {
  const r = spawnSync(command, args, {
    input: JSON.stringify(request),
    encoding: 'utf8',
    maxBuffer: options.maxBuffer ?? 256 * 1024 * 1024,
    timeout: options.timeoutMs ?? 600_000,
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    ...(options.env !== undefined ? { env: options.env } : {}),
  });
  if (r.status !== 0) throw new Error(`${options.what} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** Runs llama_reference.py with a JSON request; returns its JSON result. */
export function runReference<T>(python: string, request: unknown, timeoutMs = 600_000): T {
  return runJsonProcess<T>(python, [REFERENCE_SCRIPT], request, { what: 'PyTorch reference', timeoutMs });
}
