/**
 * `npm run bench:packs-fuzz`: the pack fuzz at scale. Real PT, LoRA and MPT packs exported from
 * one encrypted store are corrupted at random (test/support/packs.ts: flipped bytes, truncation,
 * member swaps and renames, manifest edits, dropped and extra members, path-traversing names, zip
 * bombs) and imported into a second store that trusts the exporter and already holds the genuine
 * packs. Every case must end in a UserError (no crash, no other exception; ALREADY_EXISTS only when
 * every member is still the genuine one) and the importing store must be unchanged in what it
 * counts (rows, audit head, blob files). CI runs 300
 * cases (test/integration/packs/packs.test.ts); this runs 1,200 by default.
 * Writes bench/results/packs-fuzz-<date>.json and .md; exits 1 on any failure.
 *
 *   npm run bench:packs-fuzz [-- --cases 1200]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { openBackbone } from '../src-main/backbone/load.js';
import { UserError } from '../src-main/common/errors.js';
import { readContainer } from '../src-main/packs/container.js';
import { exportPack, importPack, trustSigningKey } from '../src-main/services/packs.js';
import { initStore } from '../src-main/store/store.js';
import { corruptPack, storeSnapshot, writeFakeRun, type FixtureMethod } from '../test/support/packs.js';
import { writeTinyLlamaFolder } from '../test/support/tiny-llama.js';
import { arg, writeResults } from './support.js';

const cases = Number(arg('cases', '1200'));

function sameMembers(a: Buffer, b: Buffer): boolean {
  const [x, y] = [readContainer(a, 'a'), readContainer(b, 'b')];
  return x.size === y.size && [...x].every(([name, data]) => y.get(name)?.equals(data) === true);
}
const dir = mkdtempSync(join(tmpdir(), 'clinprompt-packs-fuzz-'));
try {
  writeTinyLlamaFolder(join(dir, 'tiny'));
  const backbone = openBackbone(join(dir, 'tiny'));
  const protect = { passphrase: 'a long bench passphrase', scrypt: { N: 2 ** 14, r: 8, p: 1 } };
  const site = await initStore(join(dir, 'site'), { protect, admin: { username: 'admin' } });
  const other = await initStore(join(dir, 'other'), { protect, admin: { username: 'admin' } });
  const methods: FixtureMethod[] = ['pt', 'lora', 'mpt-distill'];
  const packs: Buffer[] = [];
  for (const method of methods) {
    writeFakeRun(join(dir, method), backbone, method);
    const { file } = await exportPack(site, site.session('admin'), {
      source: join(dir, method),
      out: join(dir, `${method}.cpack`),
    });
    if (packs.length === 0) trustSigningKey(other, other.session('admin'), { key: file, label: 'site' });
    importPack(other, other.session('admin'), { file, backbone });
    packs.push(readFileSync(file));
  }
  const before = storeSnapshot(other);
  const outcomes = new Map<string, number>();
  const failures: string[] = [];
  const started = performance.now();
  for (let i = 0; i < cases; i++) {
    const genuine = packs[i % packs.length]!;
    const { kind, bytes } = corruptPack(genuine, i);
    const target = join(dir, 'case.cpack');
    writeFileSync(target, bytes);
    try {
      importPack(other, other.session('admin'), { file: target, backbone });
      failures.push(`case ${i} (${kind}): imported`);
    } catch (error) {
      if (!(error instanceof UserError)) failures.push(`case ${i} (${kind}): ${String(error)}`);
      // "already in the store" only for a container whose members are all still the genuine ones
      else if (error.code === 'ALREADY_EXISTS' && !sameMembers(bytes, genuine))
        failures.push(`case ${i} (${kind}): a changed pack passed every check`);
      const key = `${kind} ${(error as { code?: string }).code ?? 'no code'}`;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  if (storeSnapshot(other) !== before) failures.push('the importing store changed');
  site.close();
  other.close();
  const rows = [...outcomes].sort();
  const md = writeResults('packs-fuzz', { cases, seconds, outcomes: Object.fromEntries(rows), failures }, [
    `# Pack fuzz: ${cases} corrupted packs in ${seconds.toFixed(1)} s`,
    '',
    failures.length === 0 ? 'Every case was refused with a UserError; the store did not change.' : 'FAILURES:',
    ...failures.map((f) => `- ${f}`),
    '',
    '| corruption and error code | cases |',
    '| --- | --- |',
    ...rows.map(([k, n]) => `| ${k} | ${n} |`),
  ]);
  console.log(`${cases} cases, ${failures.length} failures, ${seconds.toFixed(1)} s. ${md}`);
  if (failures.length > 0) process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
