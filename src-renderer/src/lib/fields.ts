/**
 * What the app calls each request setting: the labels of its form fields, and the words put before
 * an error about one of them (the contract's `SerializedError.field`, e.g. `name` -> "Dataset
 * name: ..."), as the CLI puts its flag there (`--name: ...`).
 */
import type { SerializedError } from '../../../src-main/ipc/contract.js';

export const FIELD_LABELS = {
  format: 'File format',
  task: 'Task',
  name: 'Dataset name',
  path: 'File or folder',
  mapping: 'Column mapping',
  records: 'Records key',
  drawSplits: 'Draw splits',
  passphrase: 'Passphrase',
  currentPassphrase: 'Current passphrase',
  backbone: 'Model folder',
  dataset: 'Dataset',
  method: 'Method',
  adapter: 'Prompt',
  source: 'Prompt',
  out: 'Save as',
  file: 'Pack file',
  key: 'Pack file',
  type: 'Task type',
  labels: 'Label set',
  label: 'Label',
  summary: 'Summary',
  start: 'Selection',
  startPack: 'Starting point',
  username: 'Username',
  role: 'Role',
  displayName: 'Full name',
  baselines: 'Compare with other runs',
} as const;

/** An error as the app shows it: the field's label first when one setting was wrong. */
export function errorText(error: unknown): string {
  const { message, field } = error as Partial<SerializedError>;
  const label =
    field !== undefined ? ((FIELD_LABELS as Record<string, string | undefined>)[field] ?? field) : undefined;
  return label !== undefined ? `${label}: ${message}` : String(message);
}
