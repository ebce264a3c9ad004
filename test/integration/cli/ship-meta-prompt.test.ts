/**
 * `clinprompt backbone ship-meta-prompt` on a copy of the embedded backbone: a key other than
 * ClinPrompt's release key is refused, naming the flag, and changes nothing; without a key the
 * meta-prompt folder ships, the card is rewritten, and a pack of an earlier meta-prompt is removed
 * rather than left contradicting it; a run distilled on another backbone is refused.
 */
import { generateKeyPairSync } from 'node:crypto';
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import {
  embeddedBackboneDir,
  SHIPPED_META_PROMPT,
  SHIPPED_META_PROMPT_PACK,
  shippedMetaPromptDir,
} from '../../../src-main/backbone/embedded.js';
import { EXIT } from '../../../src-main/cli/exit-codes.js';
import { runCliCaptured } from '../../support/cli.js';
import { makeTempDir } from '../../support/temp.js';
import { writeTinyLlamaFolder } from '../../support/tiny-llama.js';
import { writeFakeRun } from '../../support/packs.js';
import { openBackbone } from '../../../src-main/backbone/load.js';

const tmp = makeTempDir('clinprompt-ship-meta-');
afterAll(() => tmp.cleanup());
const out = path.join(tmp.dir, 'embedded');
cpSync(embeddedBackboneDir({}), out, { recursive: true });
// the run folder to ship: the committed meta-prompt (an mpt-distill run folder of this backbone)
const run = path.join(tmp.dir, 'distill');
cpSync(shippedMetaPromptDir({}), run, { recursive: true });
const ship = (...extra: string[]) => runCliCaptured(['backbone', 'ship-meta-prompt', run, '--out', out, ...extra]);
const packFile = path.join(out, SHIPPED_META_PROMPT_PACK);

describe('clinprompt backbone ship-meta-prompt', () => {
  it('refuses a key that is not the release key, naming --sign-key, and changes nothing', async () => {
    const key = path.join(tmp.dir, 'other.pem');
    writeFileSync(key, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
    rmSync(path.join(out, SHIPPED_META_PROMPT), { recursive: true });
    const refused = await ship('--sign-key', key);
    expect(refused.code).toBe(EXIT.failed);
    expect(refused.stderr).toContain("--sign-key: is not ClinPrompt's release key");
    expect(existsSync(path.join(out, SHIPPED_META_PROMPT))).toBe(false);
    expect(existsSync(packFile)).toBe(true);

    const missing = await ship('--sign-key', path.join(tmp.dir, 'no-such.pem'));
    expect(missing.code).toBe(EXIT.failed);
    expect(missing.stderr).toContain('--sign-key: cannot read');
  });

  it('without a key ships the folder, rewrites the card and removes the stale pack', async () => {
    const shipped = await ship();
    expect(shipped.code, shipped.stderr).toBe(EXIT.ok);
    expect(shipped.stdout).toContain("No pack was written: --sign-key (ClinPrompt's release key) signs one.");
    expect(existsSync(packFile)).toBe(false);
    for (const f of ['adapter_model.safetensors', 'run.json'])
      expect(readFileSync(path.join(out, SHIPPED_META_PROMPT, f)).equals(readFileSync(path.join(run, f)))).toBe(true);
    const card = readFileSync(path.join(out, 'README.md'), 'utf8');
    expect(card).toContain('## Shipped meta-prompt');
    expect(card).not.toContain(SHIPPED_META_PROMPT_PACK);
  });

  it('refuses a run distilled on another backbone', async () => {
    writeTinyLlamaFolder(path.join(tmp.dir, 'tiny'));
    const foreign = path.join(tmp.dir, 'foreign');
    writeFakeRun(foreign, openBackbone(path.join(tmp.dir, 'tiny')), 'mpt-distill');
    const refused = await runCliCaptured(['backbone', 'ship-meta-prompt', foreign, '--out', out]);
    expect(refused.code).toBe(EXIT.failed);
    expect(refused.stderr).toContain('Distil it on this backbone first');
  });
});
