import type { RegisterCommands } from '../context.js';
import { registerAppCommands } from './app.js';
import { registerAuditCommands } from './audit.js';
import { registerBackboneCommands } from './backbone.js';
import { registerDataCommands } from './data.js';
import { registerExperimentCommands } from './experiment.js';
import { registerPretrainCommands } from './pretrain.js';
import { registerPackCommands } from './packs.js';
import { registerStoreCommands } from './store.js';
import { registerTrainingCommands } from './training.js';
import { registerUsersCommands } from './users.js';

/** Every command group of the CLI, in the order `--help` lists them. */
export const COMMAND_GROUPS: readonly RegisterCommands[] = [
  registerAppCommands,
  registerBackboneCommands,
  registerPretrainCommands,
  registerStoreCommands,
  registerUsersCommands,
  registerAuditCommands,
  registerDataCommands,
  registerTrainingCommands,
  registerExperimentCommands,
  registerPackCommands,
];
