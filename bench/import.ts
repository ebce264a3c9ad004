/**
 * Dataset import, earlier in-memory path vs the streaming path, on the same synthetic NLI JSONL
 * files (bench/import-data.ts), each run in a fresh process into a fresh encrypted store
 * (bench/import-measure.ts). Two runs per mode and size: with --expose-gc (live-memory peaks: a
 * full GC before every 100 ms sample, so slower) and without (speed, and RSS as the OS sees it).
 *
 *   npx tsx bench/import.ts [rows[:stream]...]   (default 100000 400000:stream)
 *
 * `rows:stream` measures only the streaming path at that size (the old one needs minutes there).
 *
 * Writes bench/results/import-<date>.json and .md.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { writeSyntheticJsonl } from './import-data.js';

const root = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const specs = process.argv.slice(2);
const rowsList = (specs.length > 0 ? specs : ['100000', '400000:stream']).map((spec) => ({
  rows: Number(spec.split(':')[0]),
  modes: spec.endsWith(':stream') ? ['stream'] : ['memory', 'stream'],
}));

interface Run {
  mode: string;
  examples: number;
  seconds: number;
  examplesPerSecond: number;
  gcExposed: boolean;
  peakGrowthMiB: { heapUsed: number; arrayBuffers: number; external: number; rss: number };
}

const results: { rows: number; fileMiB: number; runs: Run[] }[] = [];
const work = mkdtempSync(path.join(os.tmpdir(), 'clinprompt-bench-import-'));
try {
  for (const { rows, modes } of rowsList) {
    const file = path.join(work, `nli-${rows}.jsonl`);
    await writeSyntheticJsonl(file, rows);
    const runs: Run[] = [];
    for (const mode of modes) {
      for (const gc of [true, false]) {
        const home = path.join(work, `${rows}-${mode}-${gc}`);
        mkdirSync(home);
        const args = [...(gc ? ['--expose-gc'] : []), '--import', 'tsx', 'bench/import-measure.ts'];
        const out = execFileSync(process.execPath, [...args, mode, 'jsonl', file, 'nli', home], {
          cwd: root,
          encoding: 'utf8',
          maxBuffer: 1 << 20,
        });
        const run = JSON.parse(out.trim().split('\n').at(-1)!) as Run;
        runs.push(run);
        process.stdout.write(`${rows} rows ${JSON.stringify(run)}\n`);
        rmSync(home, { recursive: true, force: true });
      }
    }
    results.push({ rows, fileMiB: Math.round(statSync(file).size / 2 ** 20), runs });
    rmSync(file);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const date = new Date().toISOString().slice(0, 10);
const dir = path.join(root, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const machine = {
  cpus: os.cpus().length,
  load: os.loadavg().map((l) => Math.round(l * 10) / 10),
  node: process.version,
};
writeFileSync(path.join(dir, `import-${date}.json`), `${JSON.stringify({ date, machine, results }, null, 2)}\n`);
const lines = [
  `# Dataset import: in-memory vs streaming (${date})`,
  '',
  `Synthetic NLI JSONL (~370 bytes a row, all inputs distinct), each run a fresh process and encrypted store; ${machine.cpus} CPUs, load average ${machine.load.join(' / ')} (shared machine: speeds are noisy, compare old and new at the same size).`,
  'Memory columns are peak growth over the process baseline in MiB: live heap and array buffers from the run with a full GC before every sample, RSS from the run without.',
  '',
  '| rows | file MiB | path | examples/s (no forced GC) | live heap | array buffers | RSS |',
  '| ---: | ---: | --- | ---: | ---: | ---: | ---: |',
];
for (const { rows, fileMiB, runs } of results) {
  for (const mode of ['memory', 'stream']) {
    const withGc = runs.find((r) => r.mode === mode && r.gcExposed);
    const plain = runs.find((r) => r.mode === mode && !r.gcExposed);
    if (!withGc || !plain) continue;
    lines.push(
      `| ${rows} | ${fileMiB} | ${mode === 'memory' ? 'old (read all, then one sync transaction)' : 'new (streaming)'} | ${plain.examplesPerSecond} | ${withGc.peakGrowthMiB.heapUsed} | ${withGc.peakGrowthMiB.arrayBuffers} | ${plain.peakGrowthMiB.rss} |`,
    );
  }
}
writeFileSync(path.join(dir, `import-${date}.md`), `${lines.join('\n')}\n`);
process.stdout.write(`${lines.join('\n')}\n`);
