/**
 * `npm run bench:generate`: greedy generation with a KV cache on our inference graph
 * (onnxruntime-node, CPU) versus the PyTorch reference (test/reference/backbone_reference.py,
 * transformers' LLaMA forward with a KV cache) on the same machine, same HF folder, same prompt
 * ids, same number of new tokens. Reports decode tokens/s and peak RSS, medians, and the ratios
 * ours / PyTorch; also checks both produced the same greedy tokens.
 *
 * Each measurement runs in a fresh process (peak RSS is its own); the two are interleaved round by
 * round, alternating who goes first, because this machine's speed drifts minute to minute.
 * Writes bench/results/generate-<date>.json and .md.
 *
 *   npm run bench:generate [-- --sizes stories260K,small,medium --rounds 3 --repeats 3 --tokens 128 --threads N]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

import type { LlamaConfig } from '../src-main/backbone/hf/config.js';
import { parameterCount } from '../src-main/backbone/hf/config.js';
import { openBackbone } from '../src-main/backbone/load.js';
import { runBackboneReference } from '../test/integration/backbone/reference.js';
import { findTorchPython } from '../test/reference/torch-python.js';
import { STORIES_DIR, TINY_CONFIG, writeTinyLlamaFolder } from '../test/support/tiny-llama.js';
import { arg, median, runWorkerProcess, writeResults } from './support.js';
import type { GenerateWorkerRequest, GenerateWorkerResult } from './generate-worker.js';

interface Size {
  readonly name: string;
  /** A random-weight HF folder of this config, or undefined for the real stories260K. */
  readonly config?: LlamaConfig;
}
const base = { ...TINY_CONFIG, vocabSize: 32000, maxPositions: 1024, headDim: 64 };
const SIZES: Record<string, Size> = {
  stories260K: { name: 'stories260K (real, dim 64 x 5 layers)' },
  small: {
    name: 'dim 512 x 8 layers, GQA 8/4',
    config: { ...base, hiddenSize: 512, intermediateSize: 1536, numLayers: 8, numHeads: 8, numKvHeads: 4 },
  },
  medium: {
    name: 'dim 1024 x 12 layers, GQA 16/4',
    config: { ...base, hiddenSize: 1024, intermediateSize: 2816, numLayers: 12, numHeads: 16, numKvHeads: 4 },
  },
};
const PROMPT = 'Once upon a time, there was a little girl named Lily. She loved to play outside';

const runWorker = (req: GenerateWorkerRequest): GenerateWorkerResult =>
  runWorkerProcess<GenerateWorkerRequest, GenerateWorkerResult>('generate-worker.ts', req);

interface TorchResult {
  tokens: number[];
  tokens_per_second: number[];
  peak_rss_mb: number;
  weights_mb: number;
}

async function main(): Promise<void> {
  const sizes = arg('sizes', 'stories260K,small,medium').split(',');
  const rounds = Number(arg('rounds', '3'));
  const repeats = Number(arg('repeats', '3'));
  const maxTokens = Number(arg('tokens', '128'));
  // default: every core; on a shared machine pass --threads 1 (OpenMP and onnxruntime spin-waits
  // degrade badly when other processes hold the cores)
  const threads = Number(arg('threads', String(cpus().length)));
  const torch = findTorchPython();
  if (!torch.python) throw new Error(`The PyTorch reference is needed for the comparison: ${torch.why}`);
  const scratch = mkdtempSync(join(tmpdir(), 'bench-generate-'));
  const results = [];
  try {
    for (const key of sizes) {
      const size = SIZES[key];
      if (!size) throw new Error(`Unknown size ${key}; use ${Object.keys(SIZES).join(', ')}`);
      let dir: string;
      if (size.config) {
        dir = join(scratch, key);
        console.error(`[${size.name}] writing a random-weight HF folder...`);
        writeTinyLlamaFolder(dir, { config: size.config });
      } else {
        dir = openBackbone(STORIES_DIR).hfDir; // the converted HF folder, so PyTorch reads the same files
      }
      const backbone = openBackbone(dir);
      const ids = backbone.tokenizer.encode(PROMPT);
      const request: GenerateWorkerRequest = { dir, ids, max_tokens: maxTokens, repeats, threads };
      const ours: GenerateWorkerResult[] = [];
      const theirs: TorchResult[] = [];
      for (let round = 0; round < rounds; round++) {
        const order = round % 2 === 0 ? ['ours', 'torch'] : ['torch', 'ours'];
        for (const who of order) {
          console.error(`[${size.name}] round ${round + 1}/${rounds}: ${who}`);
          if (who === 'ours') ours.push(runWorker(request));
          else theirs.push(runBackboneReference<TorchResult>(torch.python, { ...request, mode: 'generate' }));
        }
      }
      const oursTps = median(ours.flatMap((o) => o.tokens_per_second));
      const torchTps = median(theirs.flatMap((t) => t.tokens_per_second));
      const oursRss = median(ours.map((o) => o.peak_rss_mb));
      const torchRss = median(theirs.map((t) => t.peak_rss_mb));
      results.push({
        size: size.name,
        parameters: parameterCount(backbone.config),
        promptTokens: ids.length,
        newTokens: maxTokens,
        weightsMB: theirs[0]!.weights_mb,
        sameGreedyTokens: JSON.stringify(ours[0]!.tokens) === JSON.stringify(theirs[0]!.tokens),
        ours: {
          tokensPerSecondMedian: oursTps,
          peakRssMbMedian: oursRss,
          prefillMsMedian: median(ours.flatMap((o) => o.prefill_ms)),
          sessionMsMedian: median(ours.map((o) => o.session_ms)),
          runs: ours.map((o) => o.tokens_per_second),
        },
        torch: {
          tokensPerSecondMedian: torchTps,
          peakRssMbMedian: torchRss,
          runs: theirs.map((t) => t.tokens_per_second),
        },
        ratios: { tokensPerSecond: oursTps / torchTps, peakRss: oursRss / torchRss },
      });
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }

  const meta = {
    date: new Date().toISOString(),
    loadAverage: loadavg(),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    threads,
    rounds,
    repeats,
    maxTokens,
  };
  const lines = [
    `# Generation benchmark ${meta.date}`,
    '',
    `Greedy decoding with a KV cache, batch 1, prompt "${PROMPT.slice(0, 30)}..." then ${maxTokens} new tokens,`,
    `float32 on CPU, ${threads} threads, ${meta.cpuModel}. ${rounds} interleaved rounds per engine, each a fresh`,
    `process timing ${repeats} generations. Decode tokens/s = (new tokens - 1) / time after the prefill. Medians.`,
    `Load average at the end (shared machine): ${meta.loadAverage.map((l) => l.toFixed(1)).join(', ')}.`,
    '',
    '| model | params | ours tok/s | PyTorch tok/s | speed ratio | ours peak RSS (MB) | PyTorch peak RSS (MB) | memory ratio | same greedy tokens | ours prefill (ms) | ours session create (ms) |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${r.size} | ${(r.parameters / 1e6).toFixed(2)}M | ${r.ours.tokensPerSecondMedian.toFixed(1)} | ${r.torch.tokensPerSecondMedian.toFixed(1)} | ${r.ratios.tokensPerSecond.toFixed(2)} | ${r.ours.peakRssMbMedian.toFixed(0)} | ${r.torch.peakRssMbMedian.toFixed(0)} | ${r.ratios.peakRss.toFixed(2)} | ${r.sameGreedyTokens ? 'yes' : 'NO'} | ${r.ours.prefillMsMedian.toFixed(0)} | ${r.ours.sessionMsMedian.toFixed(0)} |`,
    ),
    '',
    'Speed ratio = ours / PyTorch tokens/s (higher is better for us); memory ratio = ours / PyTorch peak RSS (lower is better).',
  ];
  writeResults('generate', { meta, results }, lines);
  console.log(lines.join('\n'));
}

await main();
