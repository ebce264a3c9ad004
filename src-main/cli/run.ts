/**
 * The CLI as a function: parse, run, report. `main.ts` calls it with the real terminal; tests call
 * it with captured streams. Exit codes: 0 ok, 1 the command failed (a clear message says why),
 * 2 bad usage, 70 internal error (a bug: message plus stack frames), 130 cancelled.
 */
import { Command, CommanderError } from 'commander';

import { CancelledError, serializeError, UserError } from '../common/errors.js';
import { log } from '../common/log.js';
import { APP_VERSION } from '../common/version.js';
import { COMMAND_GROUPS } from './commands/index.js';
import { CommandContext } from './context.js';
import { EXIT } from './exit-codes.js';
import type { CliIo } from './output.js';

export function createProgram(io: CliIo): { program: Command; context: CommandContext } {
  const program = new Command('clinprompt');
  const context = new CommandContext(io, program);
  program
    .description('ClinPrompt: adapt clinical language models offline with multitask prompt tuning')
    .version(APP_VERSION, '-v, --version')
    .option('--json', 'print results as JSON (progress and errors go to stderr)')
    .showSuggestionAfterError(true)
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride();
  for (const register of COMMAND_GROUPS) register(program, context);
  // Subcommands inherit the output settings and report errors instead of exiting.
  for (const command of program.commands) command.copyInheritedSettings(program);
  return { program, context };
}

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const { program, context } = createProgram(io);
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return EXIT.ok;
    }
    await program.parseAsync([...argv], { from: 'user' });
    return context.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // help and version "errors" are commander's way of stopping after printing them
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    context.output.error(serializeError(error));
    if (error instanceof CancelledError) return EXIT.cancelled;
    if (error instanceof UserError) return error.code === 'INVALID_ARGUMENT' ? EXIT.usage : EXIT.failed;
    log.error('unexpected error', { error });
    return EXIT.internal;
  } finally {
    await context.dispose();
  }
}
