import type { Command } from 'commander';

import { resolveDataDir } from '../common/paths.js';
import { createServices, type Services } from '../services/index.js';
import type { StoreSession } from '../store/session.js';
import type { Store } from '../store/store.js';
import { Output, type CliIo } from './output.js';
import { cliActor, unlockStoreForCli } from './store-access.js';

/** What every command gets: the terminal, the output mode, and the services, built on first use. */
export class CommandContext {
  #services: Services | undefined;
  #store: Store | undefined;
  #output: Output | undefined;
  /** Set by a command that ran but found a problem (e.g. a failed check); 0 otherwise. */
  exitCode = 0;

  constructor(
    readonly io: CliIo,
    private readonly program: Command,
  ) {}

  /**
   * The one Output of this run (it remembers an open progress line, so results and errors that
   * follow progress start on a fresh line). First used once the options are parsed.
   */
  get output(): Output {
    this.#output ??= new Output(this.io, Boolean(this.program.opts<{ json?: boolean }>().json));
    return this.#output;
  }

  get dataDir(): string {
    return resolveDataDir(this.io.env);
  }

  services(): Services {
    this.#services ??= createServices({ dataDir: this.dataDir });
    return this.#services;
  }

  /** The encrypted store in dataDir, unlocked headless (keychain, else CLINPROMPT_PASSPHRASE); closed on dispose. */
  async store(): Promise<Store> {
    this.#store ??= (await unlockStoreForCli(this.io, this.dataDir)).store;
    return this.#store;
  }

  /** The store session of the acting user (CLINPROMPT_USER, else the OS login). */
  async session(): Promise<StoreSession> {
    return (await this.store()).session(cliActor(this.io));
  }

  /** Hands an already opened store (e.g. after init or restore) to the context, which closes it on dispose. */
  adoptStore(store: Store): void {
    this.#store?.close();
    this.#store = store;
  }

  async dispose(): Promise<void> {
    this.#store?.close();
    await this.#services?.dispose();
  }
}

/** One file per command group registers its commands on the program. */
export type RegisterCommands = (program: Command, context: CommandContext) => void;
