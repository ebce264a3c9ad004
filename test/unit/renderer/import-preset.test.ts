/** The Import step's public source-task presets (src-renderer/src/lib/import-preset.ts): set, then cleared or replaced. */
import { describe, expect, it } from 'vitest';

import type { SourceTaskListing } from '../../../src-main/ipc/contract.js';
import { applyPreset, clearPreset, type PresetFields } from '../../../src-renderer/src/lib/import-preset.js';

const MEDMCQA: SourceTaskListing = {
  name: 'medmcqa',
  title: 'MedMCQA',
  task: 'qa',
  format: 'jsonl',
  path: 'medmcqa/dev.json',
  location: '/data/medmcqa/dev.json',
  present: true,
  mapping: 'preset:medmcqa',
  drawSplits: true,
  expected: 'dev.json',
};
const { drawSplits: _, ...whole } = MEDMCQA;
const MEDNLI: SourceTaskListing = {
  ...whole,
  name: 'mednli',
  title: 'MedNLI',
  task: 'nli',
  path: 'mednli/train.jsonl',
  location: '/data/mednli/train.jsonl',
  mapping: 'preset:mednli',
};

const typed = (): PresetFields => ({
  format: 'csv',
  task: 'ner',
  path: '/mine/notes.csv',
  name: '',
  drawSplits: false,
});

describe('import presets', () => {
  it('clearing a preset puts back everything it set, drawn splits included', () => {
    const form = typed();
    const applied = applyPreset(form, MEDMCQA);
    expect(form).toEqual({
      format: 'jsonl',
      task: 'qa',
      path: '/data/medmcqa/dev.json',
      name: 'medmcqa',
      drawSplits: true,
    });
    clearPreset(form, applied);
    expect(form).toEqual(typed());
  });

  it('keeps what the person changed after choosing the preset, and a name they typed before', () => {
    const form = { ...typed(), name: 'my-qa' };
    const applied = applyPreset(form, MEDMCQA);
    expect(form.name).toBe('my-qa');
    form.path = '/elsewhere/dev.json'; // their own copy of the preset's file
    clearPreset(form, applied);
    expect(form).toEqual({ ...typed(), name: 'my-qa', path: '/elsewhere/dev.json' });
  });

  it('a second preset replaces the first one entirely: no drawn splits or name left from it', () => {
    const form = typed();
    const first = applyPreset(form, MEDMCQA);
    clearPreset(form, first);
    applyPreset(form, MEDNLI);
    expect(form).toEqual({
      format: 'jsonl',
      task: 'nli',
      path: '/data/mednli/train.jsonl',
      name: 'mednli',
      drawSplits: false,
    });
  });
});
