/**
 * How the CLI speaks: human-readable text by default, one JSON document per command with
 * `--json`. Results go to stdout; progress and errors go to stderr, so `--json` output can be piped.
 */
import type { JobProgress, SerializedError } from '../ipc/contract.js';

export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown; isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
  /** Asks for a secret on the terminal; absent when no terminal is attached. */
  readonly askSecret?: (question: string) => Promise<string>;
}

export class Output {
  #progressLineOpen = false;

  constructor(
    private readonly io: CliIo,
    readonly json: boolean,
  ) {}

  /** Prints a command's result: `data` as JSON, or the text `render` makes of it. */
  result<T>(data: T, render: (data: T) => string): void {
    this.#closeProgressLine();
    this.io.stdout.write(this.json ? JSON.stringify(data, null, 2) + '\n' : render(data).replace(/\n?$/, '\n'));
  }

  /** One progress line: rewritten in place on a terminal, one line per report otherwise. */
  progress(p: ProgressLine): void {
    if (this.json) return;
    const line = formatProgress(p);
    if (this.io.stderr.isTTY) {
      this.io.stderr.write(`\r\x1b[2K${line}`);
      this.#progressLineOpen = true;
    } else {
      this.io.stderr.write(line + '\n');
    }
  }

  note(text: string): void {
    this.#closeProgressLine();
    if (!this.json) this.io.stderr.write(text + '\n');
  }

  error(error: SerializedError): void {
    this.#closeProgressLine();
    const setting = error.field !== undefined ? `${flagFor(error.field)}: ` : '';
    this.io.stderr.write(this.json ? JSON.stringify({ error }) + '\n' : `clinprompt: ${setting}${error.message}\n`);
  }

  #closeProgressLine(): void {
    if (this.#progressLineOpen) this.io.stderr.write('\n');
    this.#progressLineOpen = false;
  }
}

/** Settings the CLI takes as arguments or under another flag name; the rest are `--` + kebab-case. */
const SETTING_WORDS: Readonly<Record<string, string>> = {
  format: '<format>',
  path: '<path>',
  devFraction: '--dev-from-train',
  candidates: '--candidate',
  file: '<file>',
  source: '<run>',
  key: '<key>',
};

/** How the CLI names a request setting (UserError.field): `name` -> `--name`, `taskId` -> `--task-id`. */
export function flagFor(field: string): string {
  return SETTING_WORDS[field] ?? `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** What a progress line shows (a job's report, or long work run in the CLI's own process). */
export type ProgressLine = Pick<
  JobProgress,
  'phase' | 'step' | 'totalSteps' | 'loss' | 'tokensPerSecond' | 'etaSeconds'
>;

const BAR_WIDTH = 20;

/** `[######--------------] 30/100 phase  loss 1.2345  812 tok/s  ETA 1m05s` */
export function formatProgress(p: ProgressLine): string {
  const done = p.totalSteps > 0 ? Math.min(1, p.step / p.totalSteps) : 0;
  const filled = Math.round(done * BAR_WIDTH);
  const parts = [`[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${p.step}/${p.totalSteps} ${p.phase}`];
  if (p.loss !== undefined) parts.push(`loss ${p.loss.toFixed(4)}`);
  if (p.tokensPerSecond !== undefined) parts.push(`${Math.round(p.tokensPerSecond)} tok/s`);
  if (p.etaSeconds !== undefined) parts.push(`ETA ${formatDuration(p.etaSeconds)}`);
  return parts.join('  ');
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** A plain fixed-width table for text output. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
