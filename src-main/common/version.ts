import { readFileSync } from 'node:fs';

/** The app's version, read once from package.json (two folders up from src-main/ and dist/main/). */
export const APP_VERSION: string = (() => {
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'clinprompt' && pkg.version) return pkg.version;
    } catch {
      // not at this depth; try the next
    }
  }
  return '0.0.0';
})();
