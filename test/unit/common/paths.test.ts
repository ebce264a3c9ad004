import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { resolveDataDir } from '../../../src-main/common/paths.js';

describe('resolveDataDir', () => {
  it('uses CLINPROMPT_HOME when set', () => {
    expect(resolveDataDir({ CLINPROMPT_HOME: '/srv/clin' }, 'linux', '/home/a')).toBe(path.resolve('/srv/clin'));
  });

  it("defaults to the OS's per-user application-data folder", () => {
    expect(resolveDataDir({}, 'linux', '/home/a')).toBe('/home/a/.local/share/clinprompt');
    expect(resolveDataDir({ XDG_DATA_HOME: '/x' }, 'linux', '/home/a')).toBe('/x/clinprompt');
    expect(resolveDataDir({}, 'darwin', '/Users/a')).toBe('/Users/a/Library/Application Support/ClinPrompt');
    expect(resolveDataDir({ APPDATA: 'C:\\Users\\a\\AppData\\Roaming' }, 'win32', 'C:\\Users\\a')).toBe(
      path.join('C:\\Users\\a\\AppData\\Roaming', 'ClinPrompt'),
    );
  });

  it('ignores an empty CLINPROMPT_HOME', () => {
    expect(resolveDataDir({ CLINPROMPT_HOME: '  ' }, 'linux', '/home/a')).toBe('/home/a/.local/share/clinprompt');
  });
});
