/**
 * The pack requests of the IPC contract, as the renderer would call them through the validating
 * dispatcher, on a real encrypted store: export, inspect, verify, list, keys; refused arguments and
 * the PHI stop arrive as codes and fields, never as data.
 */
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { openBackbone } from '../../../src-main/backbone/load.js';
import type {
  PackExportView,
  PackInspectionView,
  PackListing,
  PackPreviewView,
  PackVerificationView,
  SigningKeyView,
} from '../../../src-main/ipc/contract.js';
import { createDispatcher } from '../../../src-main/ipc/dispatcher.js';
import { createServices } from '../../../src-main/services/index.js';
import { writeFakeRun } from '../../support/packs.js';
import { makeTempDir } from '../../support/temp.js';
import { writeTinyLlamaFolder } from '../../support/tiny-llama.js';

const tmp = makeTempDir('clinprompt-pack-ipc-');
const services = createServices({
  dataDir: path.join(tmp.dir, 'home'),
  store: { username: 'dr.ada', scrypt: { N: 2 ** 14, r: 8, p: 1 } },
});
afterAll(async () => {
  await services.dispose();
  tmp.cleanup();
});
const dispatcher = createDispatcher(services.handlers);
const call = (name: string, ...args: unknown[]) => dispatcher.invoke(name, args);
function value<T>(envelope: { ok: boolean; value?: unknown; error?: unknown }): T {
  if (!envelope.ok) throw new Error(`request failed: ${JSON.stringify(envelope.error)}`);
  return envelope.value as T;
}

describe('pack requests', () => {
  it('export, inspect, verify, list and keys through the contract', async () => {
    value(await call('store.setUp', { passphrase: 'correct horse battery staple' }));
    writeTinyLlamaFolder(path.join(tmp.dir, 'tiny'));
    const backbone = openBackbone(path.join(tmp.dir, 'tiny'));
    writeFakeRun(path.join(tmp.dir, 'run'), backbone, 'lora');
    writeFakeRun(path.join(tmp.dir, 'run-phi'), backbone, 'pt', { dataName: 'notes of jane.doe@example.org' });

    expect(
      await call('packs.export', { source: path.join(tmp.dir, 'run'), out: path.join(tmp.dir, 'x.zip') }),
    ).toMatchObject({
      ok: false,
      error: { code: 'INVALID_ARGUMENT', field: 'out' },
    });
    const phi = await call('packs.export', {
      source: path.join(tmp.dir, 'run-phi'),
      out: path.join(tmp.dir, 'phi.cpack'),
    });
    expect(phi).toMatchObject({ ok: false, error: { code: 'PHI_SUSPECTED' } });
    expect(JSON.stringify(phi)).not.toContain('jane.doe');
    // The preview shows the same findings (where and what kind, never the text) and writes nothing.
    const phiPreview = value<PackPreviewView>(await call('packs.preview', { source: path.join(tmp.dir, 'run-phi') }));
    expect(phiPreview.findings.map((f) => f.kind)).toContain('email');
    expect(JSON.stringify(phiPreview.findings)).not.toContain('jane.doe');
    const preview = value<PackPreviewView>(await call('packs.preview', { source: path.join(tmp.dir, 'run') }));
    expect(preview).toMatchObject({ name: 'nli-demo-lora', version: 1, method: 'lora', findings: [] });
    expect(preview.signer.keyId).toBeNull(); // no pack exported yet: the key is made by the first export
    expect(value<PackListing[]>(await call('packs.list'))).toEqual([]);

    const file = path.join(tmp.dir, 'lora.cpack');
    const exported = value<PackExportView>(
      await call('packs.export', { source: path.join(tmp.dir, 'run'), out: file }),
    );
    expect(exported).toMatchObject({ method: 'lora', version: 1 });
    expect(value<PackPreviewView>(await call('packs.preview', { source: path.join(tmp.dir, 'run') }))).toMatchObject({
      version: 2,
      signer: { keyId: exported.keyId },
    });
    expect(value<PackInspectionView>(await call('packs.inspect', { file })).manifest).toMatchObject({
      peftType: 'LORA',
      name: 'nli-demo-lora',
    });
    expect(value<PackVerificationView>(await call('packs.verify', { file }))).toMatchObject({ ok: true });
    expect(value<PackListing[]>(await call('packs.list')).map((p) => p.name)).toEqual(['nli-demo-lora']);
    expect(value(await call('packs.peft', { file, out: path.join(tmp.dir, 'peft') }))).toEqual({
      dir: path.join(tmp.dir, 'peft'),
      peftType: 'LORA',
    });
    expect(await call('packs.peft', { file, out: path.join(tmp.dir, 'pt'), promptTuning: true })).toMatchObject({
      ok: false,
      error: { code: 'UNSUPPORTED', field: 'promptTuning' },
    });
    expect(
      await call('packs.export', {
        source: path.join(tmp.dir, 'run'),
        out: path.join(tmp.dir, 'no', 'such', 'x.cpack'),
      }),
    ).toMatchObject({ ok: false, error: { code: 'NOT_FOUND', field: 'out' } });
    const [own] = value<SigningKeyView[]>(await call('packs.keys.list'));
    expect(own).toMatchObject({ own: true, trusted: true, keyId: exported.keyId });
    expect(await call('packs.keys.remove', { keyId: exported.keyId })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_ARGUMENT', field: 'key' },
    });
    expect(await call('packs.keys.remove', { keyId: 'not-an-id' })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_ARGUMENT' },
    });
  });
});
