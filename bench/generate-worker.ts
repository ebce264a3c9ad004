/**
 * One generation measurement in a fresh process (so its peak memory is its own): opens a backbone
 * folder, builds the KV-cache inference graph and its onnxruntime session, then times greedy
 * decoding (prefill once, then one cached step per token) `repeats` times. Reads a JSON request
 * on stdin, writes a JSON result on stdout. Driven by generate.ts.
 */
import { readFileSync } from 'node:fs';

import { argmax } from '../src-main/backbone/generate/decoding.js';
import { BackboneRunner } from '../src-main/backbone/generate/runner.js';
import { openBackbone } from '../src-main/backbone/load.js';

export interface GenerateWorkerRequest {
  readonly dir: string;
  readonly ids: number[];
  readonly max_tokens: number;
  readonly repeats: number;
  readonly threads: number;
}

export interface GenerateWorkerResult {
  readonly tokens: number[];
  readonly tokens_per_second: number[];
  readonly prefill_ms: number[];
  readonly session_ms: number;
  readonly peak_rss_mb: number;
}

/** Peak resident set size of this process (VmHWM), in MB. */
function peakRssMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : process.memoryUsage().rss / 2 ** 20;
}

async function main(): Promise<void> {
  const req = JSON.parse(readFileSync(0, 'utf8')) as GenerateWorkerRequest;
  const backbone = openBackbone(req.dir);
  const t0 = performance.now();
  const runner = await BackboneRunner.create(backbone, { threads: req.threads, skipMemoryCheck: true });
  const sessionMs = performance.now() - t0;
  const tps: number[] = [];
  const prefill: number[] = [];
  let tokens: number[] = [];
  for (let r = 0; r < req.repeats; r++) {
    const a = performance.now();
    let out = await runner.step({ ids: [req.ids], past: runner.emptyCache(1) });
    const b = performance.now();
    tokens = [argmax(out.logits)];
    while (tokens.length < req.max_tokens) {
      out = await runner.step({ ids: [[tokens.at(-1)!]], past: out.present });
      tokens.push(argmax(out.logits));
    }
    const c = performance.now();
    prefill.push(b - a);
    tps.push((tokens.length - 1) / ((c - b) / 1000));
  }
  await runner.release();
  const result: GenerateWorkerResult = {
    tokens,
    tokens_per_second: tps,
    prefill_ms: prefill,
    session_ms: sessionMs,
    peak_rss_mb: peakRssMb(),
  };
  process.stdout.write(JSON.stringify(result));
}

await main();
