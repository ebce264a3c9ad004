import type { RegisterCommands } from '../context.js';
import { registerAppCommands } from './app.js';
import { registerBackboneCommands } from './backbone.js';

/** Every command group of the CLI, in the order `--help` lists them. */
export const COMMAND_GROUPS: readonly RegisterCommands[] = [registerAppCommands, registerBackboneCommands];
