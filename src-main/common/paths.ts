import os from 'node:os';
import path from 'node:path';

/**
 * Where ClinPrompt keeps its data (encrypted store, prompt packs, logs): `CLINPROMPT_HOME` when
 * set, else the OS's per-user application-data folder.
 */
export function resolveDataDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = os.homedir(),
): string {
  const override = env['CLINPROMPT_HOME'];
  if (override !== undefined && override.trim() !== '') return path.resolve(override);
  switch (platform) {
    case 'win32':
      return path.join(env['APPDATA'] ?? path.join(home, 'AppData', 'Roaming'), 'ClinPrompt');
    case 'darwin':
      return path.join(home, 'Library', 'Application Support', 'ClinPrompt');
    default:
      return path.join(env['XDG_DATA_HOME'] ?? path.join(home, '.local', 'share'), 'clinprompt');
  }
}
