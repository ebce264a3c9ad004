#!/usr/bin/env node
/** Entry point of the `clinprompt` command. */
import { createInterface } from 'node:readline';

import type { CliIo } from './output.js';
import { runCli } from './run.js';

/** Reads a line from the terminal without echoing it (passphrases). */
function askSecret(question: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    const muted = rl as unknown as { _writeToOutput: (s: string) => void };
    process.stderr.write(question);
    muted._writeToOutput = () => undefined; // hide typed characters
    rl.question('', (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
  });
}

const io: CliIo = {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  ...(process.stdin.isTTY && process.stderr.isTTY ? { askSecret } : {}),
};

process.exitCode = await runCli(process.argv.slice(2), io);
