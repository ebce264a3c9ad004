/**
 * Finding the embedded backbone without configuration: the environment override, an installed
 * app's resources folder (electron-builder extraResources), then the checkout the code runs from.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { backboneOrDefault, embeddedBackboneDir, EMBEDDED_BACKBONE_PATH } from '../../../src-main/backbone/embedded.js';
import { REPO_ROOT } from '../../support/paths.js';
import { makeTempDir } from '../../support/temp.js';

const tmp = makeTempDir('clinprompt-embedded-');
afterAll(() => tmp.cleanup());
const proc = process as { resourcesPath?: string };
afterEach(() => delete proc.resourcesPath);

function modelFolder(dir: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'config.json'), '{}');
  return dir;
}

describe('the embedded backbone folder', () => {
  it("is the checkout's native-models/embedded when nothing else is configured", () => {
    expect(embeddedBackboneDir({})).toBe(path.join(REPO_ROOT, EMBEDDED_BACKBONE_PATH));
    expect(backboneOrDefault(undefined, {})).toBe(path.join(REPO_ROOT, EMBEDDED_BACKBONE_PATH));
    expect(backboneOrDefault('/models/llama', {})).toBe('/models/llama');
  });

  it("is the installed app's resources copy in a release build", () => {
    const resources = path.join(tmp.dir, 'resources');
    modelFolder(path.join(resources, EMBEDDED_BACKBONE_PATH));
    proc.resourcesPath = resources;
    expect(embeddedBackboneDir({})).toBe(path.join(resources, EMBEDDED_BACKBONE_PATH));
  });

  it('follows CLINPROMPT_EMBEDDED_BACKBONE first, and skips a folder without a model', () => {
    const custom = modelFolder(path.join(tmp.dir, 'custom'));
    expect(embeddedBackboneDir({ CLINPROMPT_EMBEDDED_BACKBONE: custom })).toBe(custom);
    const empty = path.join(tmp.dir, 'empty');
    mkdirSync(empty);
    expect(embeddedBackboneDir({ CLINPROMPT_EMBEDDED_BACKBONE: empty })).toBe(
      path.join(REPO_ROOT, EMBEDDED_BACKBONE_PATH),
    );
  });
});
