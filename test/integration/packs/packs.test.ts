/**
 * Prompt packs through the services on real encrypted stores: the manifest and members, PEFT's
 * keys and shapes (and MPT written as plain prompt tuning, P* o (u v^T) computed), trust and
 * signatures, backbone mismatch, the PHI scan, and a fuzz of a few hundred corrupted packs that
 * must each be refused with a UserError while the store stays exactly as it was
 * (bench/packs-fuzz.ts runs the same corruptions by the thousand).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SafetensorsWeights } from '../../../src-main/backbone/hf/safetensors.js';
import { openBackbone, type Backbone } from '../../../src-main/backbone/load.js';
import { readContainer } from '../../../src-main/packs/container.js';
import { UserError } from '../../../src-main/common/errors.js';
import { loadPeftAdapter } from '../../../src-main/peft/adapter-folder.js';
import {
  exportPack,
  importPack,
  inspectPack,
  listPacks,
  openAdapterSource,
  packAccess,
  trustSigningKey,
  verifyPack,
  writePackAsPeft,
} from '../../../src-main/services/packs.js';
import { initStore, type Store } from '../../../src-main/store/store.js';
import { corruptPack, storeSnapshot as snapshot, writeFakeRun } from '../../support/packs.js';
import { makeTempDir } from '../../support/temp.js';
import { writeTinyLlamaFolder } from '../../support/tiny-llama.js';

const tmp = makeTempDir('clinprompt-packs-');
const fastScrypt = { N: 2 ** 14, r: 8, p: 1 };
let backbone: Backbone;
let site: Store; // the workstation that trains and exports
let other: Store; // another site, with its own store and data folder

beforeAll(async () => {
  writeTinyLlamaFolder(path.join(tmp.dir, 'tiny'));
  backbone = openBackbone(path.join(tmp.dir, 'tiny'));
  const init = (home: string) =>
    initStore(path.join(tmp.dir, home), {
      protect: { passphrase: 'a long test passphrase', scrypt: fastScrypt },
      admin: { username: 'admin' },
      osUser: 'tester',
    });
  site = await init('site');
  other = await init('other');
});
afterAll(() => {
  site.close();
  other.close();
  tmp.cleanup();
});

const session = (s: Store) => s.session('admin');
const file = (name: string) => path.join(tmp.dir, name);

async function exportRun(method: 'pt' | 'mpt-distill' | 'lora', out: string, options = {}) {
  const dir = file(`run-${out.replace('.cpack', '')}`);
  writeFakeRun(dir, backbone, method, options);
  return exportPack(site, session(site), { source: dir, out: file(out) });
}

describe('prompt packs', () => {
  it('exports a signed pack whose manifest says what, how, on what data and on which backbone', async () => {
    const result = await exportRun('pt', 'pt.cpack');
    expect(result).toMatchObject({ name: 'nli-demo-pt', version: 1, method: 'pt' });
    const members = unzipSync(readFileSync(result.file));
    expect(Object.keys(members).sort()).toEqual([
      'adapter_config.json',
      'adapter_model.safetensors',
      'manifest.json',
      'signature.json',
    ]);
    const { manifest, signature } = inspectPack(result.file);
    expect(manifest).toMatchObject({
      format: 'clinprompt-pack',
      formatVersion: 1,
      method: 'pt',
      peftType: 'PROMPT_TUNING',
      tasks: [{ name: 'nli-demo', type: 'nli', labels: ['entailment', 'neutral', 'contradiction'] }],
      metrics: [{ split: 'dev', dataset: 'nli-demo', examples: 8, values: { accuracy: 0.5 } }],
      data: [{ name: 'nli-demo', train: 24, dev: 8 }],
      backbone: { name: 'tiny', fingerprint: backbone.fingerprint(), parameters: backbone.parameters },
      creator: { user: 'admin', keyId: result.keyId },
    });
    expect(manifest.tasks[0]!.template).toContain('{{');
    expect(manifest.trainableShare).toBeCloseTo(manifest.trainableParameters / backbone.parameters, 12);
    expect(signature).toMatchObject({ keyId: result.keyId, valid: true });
    // a second export of the same name is version 2, signed by the same workstation key
    const again = await exportPack(site, session(site), { source: file('run-pt'), out: file('pt-2.cpack') });
    expect(again).toMatchObject({ version: 2, keyId: result.keyId });
    const actions = site.audit.recent(20).map((e) => e.action);
    expect(actions.filter((a) => a === 'packs.export')).toHaveLength(2);
    expect(actions).toContain('packs.key-create');
    expect(listPacks(site, session(site)).map((p) => [p.name, p.version, p.source])).toEqual([
      ['nli-demo-pt', 1, 'export'],
      ['nli-demo-pt', 2, 'export'],
    ]);
  });

  it('exports a run recorded in the store by its id, if its folder still holds the recorded tensors', async () => {
    const dir = file('run-by-id');
    writeFakeRun(dir, backbone, 'pt', { dataName: 'by-id' });
    const run = site.runs.start('train:pt', { outDir: dir }, [], 'admin');
    const weights = readFileSync(path.join(dir, 'adapter_model.safetensors'));
    site.runs.attachArtifact(run.id, 'adapter_model.safetensors', site.blobs.put('adapter', weights).id);
    await expect(exportPack(site, session(site), { source: String(run.id), out: file('id.cpack') })).rejects.toThrow(
      /has status running; only a finished/,
    );
    site.runs.finish(run.id, 'succeeded');
    const exported = await exportPack(site, session(site), { source: String(run.id), out: file('id.cpack') });
    expect(exported).toMatchObject({ name: 'by-id-pt', method: 'pt' });
    writeFakeRun(dir, backbone, 'pt', { dataName: 'by-id', seed: 99 }); // retrained in place
    await expect(exportPack(site, session(site), { source: String(run.id), out: file('id-2.cpack') })).rejects.toThrow(
      /no longer holds the tensors/,
    );
  });

  it('is refused by another site until its admin trusts the key; then it imports and runs identically', async () => {
    const packFile = file('pt.cpack');
    const before = snapshot(other);
    expect(verifyPack(other, session(other), packFile)).toMatchObject({ ok: false, signature: 'untrusted' });
    expect(() => importPack(other, session(other), { file: packFile, backbone })).toThrow(
      expect.objectContaining({ code: 'UNTRUSTED' }),
    );
    expect(snapshot(other)).toBe(before);

    trustSigningKey(other, session(other), { key: packFile, label: 'site A' });
    expect(verifyPack(other, session(other), packFile)).toMatchObject({ ok: true, signature: 'trusted' });
    const imported = importPack(other, session(other), { file: packFile, backbone });
    expect(imported).toMatchObject({ name: 'nli-demo-pt', version: 1, signature: 'trusted' });
    expect(other.audit.recent(5).map((e) => e.action)).toContain('packs.import');
    expect(() => importPack(other, session(other), { file: packFile, backbone })).toThrow(
      expect.objectContaining({ code: 'ALREADY_EXISTS' }),
    );

    const fromPack = await openAdapterSource(packFile, backbone, {
      packs: async () => packAccess(other, session(other)),
    });
    const fromRun = loadPeftAdapter(file('run-pt'), backbone.config);
    expect(fromPack.adapter!.prompt!.embeddings).toEqual(fromRun.prompt!.embeddings);
  });

  it('an unsigned pack imports only when an admin allows it, audited', async () => {
    const members = unzipSync(readFileSync(file('pt-2.cpack')));
    delete members['signature.json'];
    const { zipSync } = await import('fflate');
    writeFileSync(file('unsigned.cpack'), zipSync(members));
    expect(() => importPack(other, session(other), { file: file('unsigned.cpack'), backbone })).toThrow(
      /is not signed/,
    );
    const imported = importPack(other, session(other), {
      file: file('unsigned.cpack'),
      backbone,
      allowUntrusted: true,
    });
    expect(imported.signature).toBe('unsigned');
    const entry = other.audit.recent(1)[0]!;
    expect(entry).toMatchObject({ action: 'packs.import' });
    expect(JSON.stringify(entry.details)).toContain('"untrustedAllowed":true');
  });

  it('a backbone mismatch is refused naming both backbones', async () => {
    writeTinyLlamaFolder(file('tiny-other'), { seed: 99 });
    const wrong = openBackbone(file('tiny-other'));
    expect(wrong.fingerprint()).not.toBe(backbone.fingerprint());
    const error = (() => {
      try {
        importPack(site, session(site), { file: file('pt.cpack'), backbone: wrong });
      } catch (e) {
        return e as UserError;
      }
    })();
    expect(error?.code).toBe('BACKBONE_MISMATCH');
    expect(error?.message).toContain('trained on tiny');
    expect(error?.message).toContain(file('tiny-other'));
  });

  it('a template or label with PHI stops the export until an admin confirms it', async () => {
    const before = snapshot(site);
    const template = 'Patient Mr. Jones, MRN 48213377, seen 03/14/2024. {{premise}} {{hypothesis}} Answer:';
    await expect(exportRun('pt', 'phi.cpack', { template })).rejects.toMatchObject({ code: 'PHI_SUSPECTED' });
    await expect(exportRun('pt', 'phi-label.cpack', { labels: ['yes', 'call 555-201-3344'] })).rejects.toThrow(
      /phone in tasks\[0\]\.labels\[1\]/,
    );
    expect(() => readFileSync(file('phi.cpack'))).toThrow();
    // only the two stops were recorded
    expect(site.audit.recent(2).map((e) => e.action)).toEqual(['packs.export-stopped', 'packs.export-stopped']);
    expect(snapshot(site)).not.toBe(before);
    const confirmed = await exportPack(site, session(site), {
      source: file('run-phi-label'),
      out: file('phi-label.cpack'),
      confirmPhi: true,
    });
    expect(confirmed.confirmedFindings.map((f) => f.kind)).toEqual(['phone']);
  });

  it("writes PEFT's adapter layout: MPT as MULTITASK_PROMPT_TUNING, or as PROMPT_TUNING with P* o (u v^T)", async () => {
    const { file: mptPack } = await exportRun('mpt-distill', 'mpt.cpack');
    const mpt = writePackAsPeft(mptPack, file('peft-mpt'));
    expect(mpt.peftType).toBe('MULTITASK_PROMPT_TUNING');
    const w = new SafetensorsWeights([path.join(mpt.dir, 'adapter_model.safetensors')]);
    const d = backbone.config.hiddenSize;
    expect(Object.fromEntries([...w.tensors].map(([n, t]) => [n, t.shape]))).toEqual({
      prompt_embeddings: [4, d],
      prefix_task_cols: [2, 4, 2],
      prefix_task_rows: [2, 2, d],
    });
    const config = JSON.parse(readFileSync(path.join(mpt.dir, 'adapter_config.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(config).toMatchObject({ peft_type: 'MULTITASK_PROMPT_TUNING', num_tasks: 2, num_ranks: 2, token_dim: d });

    const pt = writePackAsPeft(mptPack, file('peft-pt'), { promptTuning: true, taskId: 1 });
    const ptConfig = JSON.parse(readFileSync(path.join(pt.dir, 'adapter_config.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(ptConfig).toMatchObject({ peft_type: 'PROMPT_TUNING', num_virtual_tokens: 4, token_dim: d });
    const ptWeights = new SafetensorsWeights([path.join(pt.dir, 'adapter_model.safetensors')]);
    expect([...ptWeights.tensors.keys()]).toEqual(['prompt_embeddings']);
    // P^_1 = P* o (u_1 v_1), by hand
    const P = w.readFloat32('prompt_embeddings');
    const u = w.readFloat32('prefix_task_cols').subarray(8, 16);
    const v = w.readFloat32('prefix_task_rows').subarray(2 * d, 4 * d);
    const expected = P.map((p, i) => {
      const l = Math.floor(i / d);
      const j = i % d;
      return p * (u[l * 2]! * v[j]! + u[l * 2 + 1]! * v[d + j]!);
    });
    const got = ptWeights.readFloat32('prompt_embeddings');
    got.forEach((x, i) => expect(x).toBeCloseTo(expected[i]!, 6));
    // and the pack, the MPT folder and the PT folder all give task 1 the same prompt
    const viaPack = await openAdapterSource(mptPack, backbone, {
      taskId: 1,
      packs: async () => packAccess(site, session(site)),
    });
    expect(viaPack.adapter!.prompt!.embeddings).toEqual(loadPeftAdapter(pt.dir, backbone.config).prompt!.embeddings);

    const { file: loraPack } = await exportRun('lora', 'lora.cpack');
    const lora = writePackAsPeft(loraPack, file('peft-lora'));
    const lw = new SafetensorsWeights([path.join(lora.dir, 'adapter_model.safetensors')]);
    expect(lw.get('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight').shape).toEqual([2, d]);
    expect(lw.get('base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight').shape).toEqual([
      backbone.config.numHeads * backbone.config.headDim,
      2,
    ]);
  });

  it('packs a PEFT adapter folder (no run.json) with its backbone and task, and gives it back byte for byte', async () => {
    const peftDir = file('python-peft');
    writeFakeRun(peftDir, backbone, 'lora', { seed: 11 });
    rmSync(path.join(peftDir, 'run.json')); // as Python's save_pretrained leaves it
    await expect(exportPack(site, session(site), { source: peftDir, out: file('no-task.cpack') })).rejects.toThrow(
      /name its backbone and task/,
    );
    const exported = await exportPack(site, session(site), {
      source: peftDir,
      out: file('python.cpack'),
      name: 'radiology-lora',
      peft: { backbone, backboneName: 'tiny', task: { type: 'qa', labels: ['yes', 'no', 'maybe'] } },
    });
    const { manifest } = inspectPack(exported.file);
    expect(manifest).toMatchObject({
      method: 'lora',
      peftType: 'LORA',
      tasks: [{ name: 'radiology-lora', type: 'qa', labels: ['yes', 'no', 'maybe'] }],
      data: [],
      metrics: [],
      backbone: { fingerprint: backbone.fingerprint() },
    });
    expect(manifest.trainableParameters).toBe(
      2 * (2 * backbone.config.hiddenSize + backbone.config.numHeads * backbone.config.headDim * 2),
    );
    importPack(other, session(other), { file: exported.file, backbone });
    const back = writePackAsPeft(exported.file, file('python-peft-back'));
    for (const name of ['adapter_config.json', 'adapter_model.safetensors'])
      expect(readFileSync(path.join(back.dir, name))).toEqual(readFileSync(path.join(peftDir, name)));
    const viaPack = await openAdapterSource(exported.file, backbone, {
      packs: async () => packAccess(other, session(other)),
    });
    const direct = loadPeftAdapter(peftDir, backbone.config);
    expect([...viaPack.adapter!.lora!.values()].map((w) => [...w.a, ...w.b])).toEqual(
      [...direct.lora!.values()].map((w) => [...w.a, ...w.b]),
    );
  });

  it.each([
    ['pt', 'PROMPT_TUNING', 1],
    ['mpt-distill', 'MULTITASK_PROMPT_TUNING', 2],
  ] as const)('packs a PEFT %s folder too, and runs it as the folder runs', async (method, peftType, tasks) => {
    const peftDir = file(`python-${method}`);
    writeFakeRun(peftDir, backbone, method, { seed: 12 });
    rmSync(path.join(peftDir, 'run.json'));
    const exported = await exportPack(site, session(site), {
      source: peftDir,
      out: file(`python-${method}.cpack`),
      peft: { backbone, backboneName: 'tiny', task: { type: 'nli', labels: [] } },
    });
    const { manifest } = inspectPack(exported.file);
    expect(manifest).toMatchObject({ method, peftType });
    expect(manifest.tasks).toHaveLength(tasks);
    for (let task = 0; task < tasks; task++) {
      const viaPack = await openAdapterSource(exported.file, backbone, {
        taskId: task,
        packs: async () => packAccess(site, session(site)),
      });
      expect(viaPack.adapter!.prompt!.embeddings).toEqual(
        loadPeftAdapter(peftDir, backbone.config, { taskId: task }).prompt!.embeddings,
      );
    }
  });

  it('fuzz: 300 corrupted packs are each refused with a clear error (import, verify, inspect) and the store is never modified', () => {
    // The genuine pack is already in `other`, so a corruption that changes nothing the pack is
    // checked for would meet ALREADY_EXISTS rather than a second import.
    const genuine = readFileSync(file('pt.cpack'));
    const before = snapshot(other);
    const kinds = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const { kind, bytes } = corruptPack(genuine, i);
      const target = file('fuzz.cpack');
      writeFileSync(target, bytes);
      let error: unknown;
      try {
        importPack(other, session(other), { file: target, backbone });
      } catch (e) {
        error = e;
      }
      expect(error, `case ${i} (${kind}) was imported`).toBeInstanceOf(UserError);
      expect((error as UserError).message.length, `case ${i}`).toBeGreaterThan(10);
      // "already in the store" only for a container whose members are all still the genuine ones
      if ((error as UserError).code === 'ALREADY_EXISTS')
        expect(readContainer(bytes, target), `case ${i} (${kind}) accepted`).toEqual(readContainer(genuine, 'genuine'));
      // verify reports and inspect refuses, neither crashes
      expect(verifyPack(other, session(other), target).file, `case ${i}`).toBe(target);
      try {
        inspectPack(target);
      } catch (e) {
        expect(e, `case ${i} (${kind}) inspect`).toBeInstanceOf(UserError);
      }
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    }
    expect(snapshot(other)).toBe(before);
    expect(kinds.size).toBe(9);
  });
});
