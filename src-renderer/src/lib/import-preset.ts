/**
 * What choosing a public source task (a preset) does to the Import form, and what clearing it
 * undoes: a preset sets the format, the task, its own file, whether splits are drawn, and the
 * dataset's name when none was typed; clearing it (or choosing another) puts back each of those
 * that still holds the preset's value, so nothing the preset chose is left behind unseen.
 */
import type { ImportFormat, SourceTaskListing, TaskType } from '../../../src-main/ipc/contract.js';

/** The Import form's settings a preset may set. */
export interface PresetFields {
  format: ImportFormat;
  task: TaskType;
  path: string;
  name: string;
  drawSplits: boolean;
}

/** What a preset set, and what those settings held before it. */
export interface AppliedPreset {
  readonly set: Partial<PresetFields>;
  readonly before: Partial<PresetFields>;
}

/** Sets the preset's settings on `form`; returns what `clearPreset` needs to undo them. */
export function applyPreset(form: PresetFields, entry: SourceTaskListing): AppliedPreset {
  const set: Partial<PresetFields> = {
    format: entry.format,
    task: entry.task,
    drawSplits: entry.drawSplits ?? false,
    // always the preset's own file: a path left from before would import the wrong data
    path: entry.location,
    ...(form.name.trim() === '' && { name: entry.name }),
  };
  const before = Object.fromEntries(
    Object.keys(set).map((k) => [k, form[k as keyof PresetFields]]),
  ) as Partial<PresetFields>;
  Object.assign(form, set);
  return { set, before };
}

/** Puts back what the preset set, where the person has not changed it since. */
export function clearPreset(form: PresetFields, applied: AppliedPreset): void {
  for (const [key, value] of Object.entries(applied.set) as [keyof PresetFields, unknown][]) {
    if (form[key] === value) Object.assign(form, { [key]: applied.before[key] });
  }
}
