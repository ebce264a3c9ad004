/** Starts the store-writer fixture in its own Node process (through tsx) and follows its output lines. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const WRITER = fileURLToPath(new URL('./fixtures/store-writer.ts', import.meta.url));

export interface WriterProcess {
  readonly child: ChildProcess;
  readonly lines: string[];
  /** Resolves once the writer printed `n` lines matching `pattern`. */
  waitForLines(pattern: RegExp, n: number, timeoutMs?: number): Promise<string[]>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startWriter(args: readonly string[], key: Buffer): WriterProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, ...args], {
    env: { ...process.env, STORE_KEY_HEX: key.toString('hex') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  let partial = '';
  const waiters: (() => void)[] = [];
  child.stdout?.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    for (const wake of waiters.splice(0)) wake();
  });
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      for (const wake of waiters.splice(0)) wake();
      resolve({ code, signal });
    }),
  );
  const waitForLines = async (pattern: RegExp, n: number, timeoutMs = 60_000): Promise<string[]> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const matching = lines.filter((l) => pattern.test(l));
      if (matching.length >= n) return matching;
      if (child.exitCode !== null)
        throw new Error(`writer exited (${child.exitCode}) before ${n} lines: ${stderr.slice(-2000)}`);
      if (Date.now() > deadline)
        throw new Error(`writer printed only ${matching.length}/${n} lines in ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 500);
      });
    }
  };
  return { child, lines, waitForLines, exited };
}
