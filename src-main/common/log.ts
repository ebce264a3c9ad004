/**
 * A deliberately small structured logger. Log lines carry event names, ids, counts and error
 * codes, never note text: callers pass fields, and error objects are reduced to their name, code
 * and stack frames (the message of a non-ClinPrompt error may echo data, so it is dropped).
 */
import { isUserError } from './errors.js';

type Level = 'debug' | 'info' | 'warn' | 'error';
type Fields = Record<string, unknown>;
type Sink = (line: string) => void;

const LEVELS: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

let sink: Sink = (line) => process.stderr.write(line + '\n');
let threshold: number = LEVELS[(process.env['CLINPROMPT_LOG_LEVEL'] as Level | undefined) ?? 'warn'] ?? LEVELS.warn;

function describeError(error: unknown): Fields {
  if (isUserError(error)) return { name: error.name, code: error.code, message: error.message };
  if (error instanceof Error) {
    const frames = (error.stack ?? '').split('\n').filter((l) => l.trimStart().startsWith('at '));
    return { name: error.name, stack: frames.slice(0, 8).map((l) => l.trim()) };
  }
  return { type: typeof error };
}

function write(level: Level, event: string, fields: Fields = {}): void {
  if (LEVELS[level] < threshold) return;
  const safe: Fields = {};
  for (const [key, value] of Object.entries(fields))
    safe[key] = value instanceof Error || key === 'error' ? describeError(value) : value;
  sink(JSON.stringify({ time: new Date().toISOString(), level, event, ...safe }));
}

export const log = {
  debug: (event: string, fields?: Fields) => write('debug', event, fields),
  info: (event: string, fields?: Fields) => write('info', event, fields),
  warn: (event: string, fields?: Fields) => write('warn', event, fields),
  error: (event: string, fields?: Fields) => write('error', event, fields),
  /** Redirects log lines (tests capture them; the app writes them to a file in the data folder). */
  setSink(next: Sink): Sink {
    const previous = sink;
    sink = next;
    return previous;
  },
  setLevel(level: Level): void {
    threshold = LEVELS[level];
  },
};
