/**
 * Where the embedded default backbone lives (native-models/embedded, pretrained by
 * `npm run pretrain:backbone`), found without configuration: CLINPROMPT_EMBEDDED_BACKBONE when set,
 * else the installed app's resources folder (electron-builder `extraResources`), else the source
 * checkout or npm package this module was loaded from (src-main/ under tsx, dist/main/ when built).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { UserError } from '../common/errors.js';

/** The folder's place in a checkout and in the installed app's resources. */
export const EMBEDDED_BACKBONE_PATH = path.join('native-models', 'embedded');
/** The meta-prompt distilled on it, shipped beside the weights. */
export const SHIPPED_META_PROMPT = 'meta-prompt';
/** The same meta-prompt as a prompt pack signed by ClinPrompt's release key, for `pack import` on any workstation. */
export const SHIPPED_META_PROMPT_PACK = 'meta-prompt.cpack';
/** The name that pack carries into a store's pack list. */
export const SHIPPED_META_PROMPT_PACK_NAME = 'embedded-meta-prompt';
/** What `--backbone` and the app show for it. */
export const EMBEDDED_BACKBONE_NAME = 'embedded';

function candidates(env: NodeJS.ProcessEnv): string[] {
  const found: string[] = [];
  if (env['CLINPROMPT_EMBEDDED_BACKBONE']) found.push(path.resolve(env['CLINPROMPT_EMBEDDED_BACKBONE']));
  const resources = (process as { resourcesPath?: string }).resourcesPath;
  if (resources) found.push(path.join(resources, EMBEDDED_BACKBONE_PATH));
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ;) {
    found.push(path.join(dir, EMBEDDED_BACKBONE_PATH));
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return found;
}

/** The embedded backbone's folder; a clear error when this installation has none. */
export function embeddedBackboneDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = candidates(env).find((d) => existsSync(path.join(d, 'config.json')));
  if (!dir)
    throw new UserError(
      'NOT_FOUND',
      `The embedded backbone (${EMBEDDED_BACKBONE_PATH}) is missing from this installation. Reinstall ClinPrompt, rebuild it with npm run pretrain:backbone, or name a backbone folder.`,
      { field: 'backbone' },
    );
  return dir;
}

/** A backbone the user named, or the embedded default. */
export function backboneOrDefault(dir: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return dir ?? embeddedBackboneDir(env);
}

/** The shipped meta-prompt (an mpt-distill run folder) of the embedded backbone. */
export function shippedMetaPromptDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(embeddedBackboneDir(env), SHIPPED_META_PROMPT);
}
