/**
 * Worker threads whose entry is a module next to the caller: `.js` when built, `.ts` when run
 * from source (tests, tsx), where tsx's loader must be registered inside the worker before the
 * entry is imported (Node 20 ignores `--import` in a worker's execArgv).
 */
import { Worker } from 'node:worker_threads';

/** The URL of `<name>.js` (built) or `<name>.ts` (sources) beside the module at `moduleUrl`. */
export function siblingEntryUrl(moduleUrl: string, name: string): URL {
  const ext = moduleUrl.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./${name}${ext}`, moduleUrl);
}

export function startWorkerThread(entry: URL): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry);
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap = `(async () => {
    const { register } = await import(${JSON.stringify(tsxApi)});
    register();
    await import(${JSON.stringify(entry.href)});
  })();`;
  return new Worker(bootstrap, { eval: true });
}
