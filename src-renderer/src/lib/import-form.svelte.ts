/**
 * The Import notes form as typed, kept above the screens (like NewUserForm and WizardState) so that
 * it survives moving between steps and an auto-lock: the preset, format, task, name, path, reading
 * settings, the columns picked for the file read last, and the rename box under the store's datasets.
 */
import type { ImportFormat, SourceTaskListing, TaskType } from '../../../src-main/ipc/contract.js';
import { applyPreset, clearPreset, type AppliedPreset, type PresetFields } from './import-preset.js';

export class ImportForm implements PresetFields {
  preset = $state('');
  format = $state<ImportFormat>('conll');
  task = $state<TaskType>('ner');
  name = $state('');
  path = $state('');
  /** A preset whose file names one split (e.g. MedMCQA's dev.json) but is a whole training set. */
  drawSplits = $state(false);
  /** JSON: the top-level key whose list holds the records (empty: none). */
  records = $state('');
  /** The columns picked per task field, and the preview request (its key) they were picked for. */
  columns = $state<Record<string, string[]>>({});
  columnsFor = $state('');
  /** Under "Datasets in the store": the dataset looked at, and the new name typed for it. */
  shownDataset = $state('');
  newName = $state('');
  #applied: AppliedPreset | undefined;

  /** The preset chosen in the list (undefined: cleared): first undoes the previous one's settings. */
  choosePreset(entry: SourceTaskListing | undefined): void {
    if (this.#applied) clearPreset(this, this.#applied);
    this.#applied = entry ? applyPreset(this, entry) : undefined;
  }
}
