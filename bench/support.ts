/**
 * Scaffolding shared by the benchmarks: command-line options, medians, a fresh measuring process
 * per run (so each run's peak RSS is its own), a description of the machine, and the results files.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { LlamaConfig } from '../src-main/backbone/hf/config.js';
import { runJsonProcess } from '../test/reference/torch-python.js';
import { TINY_CONFIG } from '../test/support/tiny-llama.js';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = join(BENCH_DIR, '..');

/** The value of `--name value` on the command line, or the fallback. */
export function arg(name: string, fallback: string): string {
  const k = process.argv.indexOf(`--${name}`);
  return k >= 0 && process.argv[k + 1] ? process.argv[k + 1]! : fallback;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Runs a TypeScript worker of bench/ in a fresh Node process: JSON request on stdin, JSON result on stdout. */
export function runWorkerProcess<Request, Result>(workerFile: string, request: Request): Result {
  return runJsonProcess<Result>(process.execPath, ['--import', 'tsx', join(BENCH_DIR, workerFile)], request, {
    what: workerFile,
    maxBuffer: 64 * 1024 * 1024,
    timeoutMs: 0, // a benchmark run may be long; no limit
    cwd: REPO_ROOT,
    env: { ...process.env, CLINPROMPT_LOG_LEVEL: 'error' },
  });
}

/** What the results were measured on (other work on a shared machine shows in the load average). */
export function machine(): { date: string; cpus: number; cpuModel: string | undefined; loadAverage: number[] } {
  return { date: new Date().toISOString(), cpus: cpus().length, cpuModel: cpus()[0]?.model, loadAverage: loadavg() };
}

/** Writes bench/results/<name>-<date>.json and .md; returns the markdown path. */
export function writeResults(name: string, json: unknown, markdownLines: readonly string[]): string {
  const date = new Date().toISOString().slice(0, 10);
  const outDir = join(BENCH_DIR, 'results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, `${name}-${date}.json`), JSON.stringify(json, null, 2) + '\n');
  const md = join(outDir, `${name}-${date}.md`);
  writeFileSync(md, markdownLines.join('\n') + '\n');
  return md;
}

/** The two model sizes the training benchmarks compare at (vocabulary 32,000, head_dim 64, GQA). */
export interface BenchSize {
  readonly name: string;
  readonly config: LlamaConfig;
}
const base = { ...TINY_CONFIG, vocabSize: 32000, maxPositions: 1024, headDim: 64 };
export const BENCH_SIZES: Record<'small' | 'large', BenchSize> = {
  small: {
    name: 'dim 512 x 8 layers',
    config: { ...base, hiddenSize: 512, intermediateSize: 1536, numLayers: 8, numHeads: 8, numKvHeads: 4 },
  },
  large: {
    name: 'dim 1024 x 12 layers',
    config: { ...base, hiddenSize: 1024, intermediateSize: 2816, numLayers: 12, numHeads: 16, numKvHeads: 4 },
  },
};
