import type { Command } from 'commander';

import { resolveDataDir } from '../common/paths.js';
import { createServices, type Services } from '../services/index.js';
import { Output, type CliIo } from './output.js';

/** What every command gets: the terminal, the output mode, and the services, built on first use. */
export class CommandContext {
  #services: Services | undefined;
  /** Set by a command that ran but found a problem (e.g. a failed check); 0 otherwise. */
  exitCode = 0;

  constructor(
    readonly io: CliIo,
    private readonly program: Command,
  ) {}

  get output(): Output {
    return new Output(this.io, Boolean(this.program.opts<{ json?: boolean }>().json));
  }

  get dataDir(): string {
    return resolveDataDir(this.io.env);
  }

  services(): Services {
    this.#services ??= createServices({ dataDir: this.dataDir });
    return this.#services;
  }

  async dispose(): Promise<void> {
    await this.#services?.dispose();
  }
}

/** One file per command group registers its commands on the program. */
export type RegisterCommands = (program: Command, context: CommandContext) => void;
