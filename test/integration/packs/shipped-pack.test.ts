/**
 * The meta-prompt shipped with the embedded backbone as a prompt pack (native-models/embedded/
 * meta-prompt.cpack): on a fresh encrypted store with no key added, it verifies as signed by
 * ClinPrompt's release key, imports without --allow-untrusted, and holds exactly the shipped
 * meta-prompt folder's adapter. Only the release key earns that trust: the same manifest signed by
 * another key is untrusted. `releasePack` signs with the release key and nothing else.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  embeddedBackboneDir,
  SHIPPED_META_PROMPT_PACK,
  SHIPPED_META_PROMPT_PACK_NAME,
  shippedMetaPromptDir,
} from '../../../src-main/backbone/embedded.js';
import { openBackbone } from '../../../src-main/backbone/load.js';
import { UserError } from '../../../src-main/common/errors.js';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS } from '../../../src-main/peft/adapter-folder.js';
import { readRunRecord } from '../../../src-main/peft/run-folder.js';
import { signManifest } from '../../../src-main/packs/manifest.js';
import { readPack, writePack } from '../../../src-main/packs/pack.js';
import { RELEASE_KEY_ID, RELEASE_SIGNER } from '../../../src-main/packs/release-key.js';
import { importPack, packAsMetaPrompt, releasePack, verifyPack } from '../../../src-main/services/packs.js';
import { initStore, type Store } from '../../../src-main/store/store.js';
import { makeTempDir } from '../../support/temp.js';

const tmp = makeTempDir('clinprompt-shipped-pack-');
const PACK = path.join(embeddedBackboneDir({}), SHIPPED_META_PROMPT_PACK);
const FOLDER = shippedMetaPromptDir({});
let store: Store;

beforeAll(async () => {
  store = await initStore(path.join(tmp.dir, 'home'), {
    protect: { passphrase: 'a long test passphrase', scrypt: { N: 2 ** 14, r: 8, p: 1 } },
    admin: { username: 'admin' },
    osUser: 'tester',
  });
});
afterAll(() => {
  store.close();
  tmp.cleanup();
});
const session = () => store.session('admin');

describe('the shipped meta-prompt pack', () => {
  it('is trusted on a fresh workstation, imports, and holds the shipped folder’s adapter', () => {
    expect(store.signingKeys.trusted().size).toBe(0);
    expect(verifyPack(store, session(), PACK)).toMatchObject({
      ok: true,
      intact: true,
      signature: 'trusted',
      keyId: RELEASE_KEY_ID,
      name: SHIPPED_META_PROMPT_PACK_NAME,
    });

    const pack = readPack(readFileSync(PACK), PACK);
    const record = readRunRecord(FOLDER)!;
    expect(pack.manifest.method).toBe('mpt-distill');
    expect(pack.manifest.creator).toEqual({ user: RELEASE_SIGNER, keyId: RELEASE_KEY_ID });
    expect(pack.manifest.tasks.map((t) => t.name)).toEqual(record.tasks!.map((t) => t.name));
    expect(pack.manifest.backbone.fingerprint).toBe(openBackbone(embeddedBackboneDir({})).fingerprint());

    const imported = importPack(store, session(), { file: PACK, backbone: openBackbone(embeddedBackboneDir({})) });
    expect(imported).toMatchObject({ signature: 'trusted', name: SHIPPED_META_PROMPT_PACK_NAME, version: 1 });
    // adaptation can start from the imported pack: the very adapter the folder ships
    const start = packAsMetaPrompt(store, session(), {
      name: imported.name,
      version: imported.version,
      dataDir: path.join(tmp.dir, 'data'),
    });
    for (const f of [ADAPTER_CONFIG, ADAPTER_WEIGHTS])
      expect(readFileSync(path.join(start, f)).equals(readFileSync(path.join(FOLDER, f))), f).toBe(true);
  });

  it('trusts the release key only: the same manifest signed by another key is untrusted', () => {
    const pack = readPack(readFileSync(PACK), PACK);
    const other = generateKeyPairSync('ed25519');
    const resigned = path.join(tmp.dir, 'resigned.cpack');
    writeFileSync(
      resigned,
      writePack(pack.manifestBytes, signManifest(pack.manifestBytes, other.privateKey, other.publicKey), pack),
    );
    expect(verifyPack(store, session(), resigned)).toMatchObject({ ok: false, intact: true, signature: 'untrusted' });
  });

  it('is signed by releasePack with the release key and no other', () => {
    const other = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const refusal = (() => {
      try {
        releasePack(FOLDER, other, SHIPPED_META_PROMPT_PACK_NAME);
      } catch (error) {
        return error;
      }
    })();
    expect(refusal).toBeInstanceOf(UserError);
    expect(refusal).toMatchObject({ code: 'UNTRUSTED', field: 'signKey' });
    expect(() => releasePack(FOLDER, 'not a key', SHIPPED_META_PROMPT_PACK_NAME)).toThrow('is not a PEM private key');
  });
});
