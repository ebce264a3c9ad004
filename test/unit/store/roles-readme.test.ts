/** README's role table says exactly what permissions.ts grants: one policy, described once, checked here. */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { ROLE_PERMISSIONS, ROLES } from '../../../src-main/store/permissions.js';
import { REPO_ROOT } from '../../support/paths.js';

describe("README's role table", () => {
  it('lists every role with its summary and exactly its permissions', () => {
    const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    const rows = new Map(
      readme
        .split('\n')
        .filter((line) => /^\| [a-z-]+ +\| /.test(line))
        .map((line) => line.split('|').map((cell) => cell.trim()))
        .map(([, role, text]) => [role ?? '', text ?? ''] as const),
    );
    for (const role of ROLES) {
      const { summary, permissions } = ROLE_PERMISSIONS[role];
      expect(rows.get(role), role).toBe(`${summary} (${permissions.join(', ')})`);
    }
  });
});
