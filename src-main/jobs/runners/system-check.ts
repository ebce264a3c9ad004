/**
 * Checks that this workstation can run ClinPrompt: the native modules load, the encrypted store
 * engine works, and which onnxruntime execution providers exist. IT staff run it after install
 * (`clinprompt doctor`); the wizard shows it on its first page.
 */
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';

import type BetterSqlite3 from 'better-sqlite3-multiple-ciphers';
import type * as Ort from 'onnxruntime-node';

import type { SystemCheck, SystemCheckResult } from '../../ipc/contract.js';
import type { JobContext } from './index.js';

const require = createRequire(import.meta.url);

interface Check {
  readonly name: string;
  run(): Promise<string>;
}

const CHECKS: readonly Check[] = [
  {
    name: 'Node.js runtime',
    run: async () =>
      `Node ${process.versions.node}${process.versions['electron'] ? `, Electron ${process.versions['electron']}` : ''}`,
  },
  {
    name: 'onnxruntime',
    run: async () => {
      const ort = (await import('onnxruntime-node')) as typeof Ort & {
        listSupportedBackends?: () => { name: string }[];
      };
      const backends = ort.listSupportedBackends?.().map((b) => b.name) ?? ['cpu'];
      return `onnxruntime ${ort.env.versions.common ?? ''}; providers in this build: ${backends.join(', ')}`;
    },
  },
  {
    name: 'Encrypted SQLite (SQLCipher)',
    run: async () => {
      // Loaded here, not at the top, so that a broken native build fails this check only.
      const Database = require('better-sqlite3-multiple-ciphers') as typeof BetterSqlite3;
      const db = new Database(':memory:');
      try {
        db.pragma(`cipher='sqlcipher'`);
        const version = db.prepare('select sqlite_version() as v').get() as { v: string };
        return `SQLite ${version.v} with SQLite3MultipleCiphers`;
      } finally {
        db.close();
      }
    },
  },
];

export async function runSystemCheck(request: { pauseMs: number }, context: JobContext): Promise<SystemCheckResult> {
  const checks: SystemCheck[] = [];
  for (const [index, check] of CHECKS.entries()) {
    context.throwIfCancelled();
    context.report({ phase: check.name, step: index, totalSteps: CHECKS.length });
    try {
      checks.push({ name: check.name, ok: true, detail: await check.run() });
    } catch (error) {
      checks.push({
        name: check.name,
        ok: false,
        detail: error instanceof Error ? error.message.split('\n')[0]! : String(error),
      });
    }
    if (request.pauseMs > 0) await sleep(request.pauseMs, undefined, { signal: context.signal }).catch(() => undefined);
  }
  context.report({ phase: 'Done', step: CHECKS.length, totalSteps: CHECKS.length });
  return { checks };
}
