/**
 * The one IPC contract between the renderer (Svelte wizard) and the main process.
 *
 * Shared by the preload (which exposes only this), the main-process dispatcher (which validates
 * every call against it) and the renderer (which gets a typed proxy of it). It imports nothing
 * runtime-specific: no electron, no node built-ins, no DOM. Every type that crosses the
 * renderer/main or main/worker boundary lives here.
 *
 * Conventions: requests are `area.verb` and return promises; events are `area.onDid...`.
 */
import { z } from 'zod';

import type { SerializedError } from '../common/errors.js';

export type { SerializedError };

/** Prefix of every Electron IPC channel name; main refuses anything else. */
export const IPC_PREFIX = 'clinprompt:';

// ---------------------------------------------------------------------------------------------
// Values that cross the boundary
// ---------------------------------------------------------------------------------------------

export interface AppInfo {
  readonly name: string;
  readonly version: string;
  /** Where the encrypted store and packs live (CLINPROMPT_HOME or the OS app-data folder). */
  readonly dataDir: string;
  /** 'electron' inside the desktop app; 'node' for the CLI and the test harness. */
  readonly runtime: 'electron' | 'node';
  readonly platform: string;
}

/** Kinds of long work that run in a worker. Each later area adds its kinds here. */
export const JOB_KINDS = ['system-check'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

export const JobRequestSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('system-check'),
    /** Milliseconds to pause between checks, so that progress can be watched (UI demos, tests). */
    pauseMs: z.number().int().min(0).max(10_000).default(0),
  }),
]);
export type JobRequest = z.input<typeof JobRequestSchema>;
export type ParsedJobRequest = z.output<typeof JobRequestSchema>;

export type JobStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';

/** One progress report from a running job. Fields a job cannot know are left out. */
export interface JobProgress {
  readonly jobId: string;
  readonly kind: JobKind;
  /** Human-readable phase, e.g. "Loading backbone", "Training". Never contains note text. */
  readonly phase: string;
  readonly step: number;
  readonly totalSteps: number;
  readonly loss?: number;
  readonly tokensPerSecond?: number;
  /** Estimated seconds left, from the observed step rate. */
  readonly etaSeconds?: number;
}

export interface JobState {
  readonly jobId: string;
  readonly kind: JobKind;
  readonly status: JobStatus;
  readonly startedAt: string;
  readonly finishedAt?: string;
  readonly progress?: JobProgress;
  /** JSON-serialisable result of a succeeded job; its shape depends on the kind. */
  readonly result?: unknown;
  readonly error?: SerializedError;
}

/** Result of the `system-check` job: what this workstation can run. */
export interface SystemCheckResult {
  readonly checks: readonly SystemCheck[];
}
export interface SystemCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

// ---------------------------------------------------------------------------------------------
// Requests: name -> argument schema (validated in main) and result type (phantom)
// ---------------------------------------------------------------------------------------------

interface RequestSpec<Args extends z.ZodTuple, Result> {
  readonly args: Args;
  /** Never set; carries the result type for the typed proxies. */
  readonly result?: Result;
}

function request<Result>() {
  return <Args extends z.ZodTuple>(args: Args): RequestSpec<Args, Result> => ({ args });
}

const JobId = z.string().regex(/^[a-z0-9-]{1,64}$/, 'a job id');

export const requests = {
  /** Version, data folder and runtime of the main process. */
  'app.getInfo': request<AppInfo>()(z.tuple([])),
  /** Starts long work in a worker; progress arrives as `jobs.onDidProgress` events. */
  'jobs.start': request<JobState>()(z.tuple([JobRequestSchema])),
  /** Asks a running job to stop; resolves once it has stopped. Unknown or finished ids are errors. */
  'jobs.cancel': request<JobState>()(z.tuple([JobId])),
  /** All jobs started since the main process started, newest first. */
  'jobs.list': request<readonly JobState[]>()(z.tuple([])),
} as const;

export type RequestName = keyof typeof requests;
export type RequestArgs<N extends RequestName> = z.input<(typeof requests)[N]['args']>;
export type ParsedRequestArgs<N extends RequestName> = z.output<(typeof requests)[N]['args']>;
export type RequestResult<N extends RequestName> = NonNullable<(typeof requests)[N]['result']>;

export const REQUEST_NAMES = Object.keys(requests) as RequestName[];

export function isRequestName(value: unknown): value is RequestName {
  return typeof value === 'string' && Object.hasOwn(requests, value);
}

// ---------------------------------------------------------------------------------------------
// Events: main -> renderer
// ---------------------------------------------------------------------------------------------

export interface EventPayloads {
  'jobs.onDidProgress': JobProgress;
  'jobs.onDidFinish': JobState;
}
export type EventName = keyof EventPayloads;
export const EVENT_NAMES: readonly EventName[] = ['jobs.onDidProgress', 'jobs.onDidFinish'];

export function isEventName(value: unknown): value is EventName {
  return typeof value === 'string' && (EVENT_NAMES as readonly string[]).includes(value);
}

// ---------------------------------------------------------------------------------------------
// What the preload exposes on `window.clinprompt`, and the typed API built on it
// ---------------------------------------------------------------------------------------------

/** Result of a request as it crosses the bridge: errors travel as values, never as thrown text. */
export type Envelope<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: SerializedError };

/** The raw bridge: the only object the preload puts into the page. */
export interface ClinPromptBridge {
  invoke(name: string, args: readonly unknown[]): Promise<Envelope<unknown>>;
  /** Subscribes to an event; returns the unsubscribe function. */
  on(name: string, listener: (payload: unknown) => void): () => void;
}

/** The typed API the renderer programs against. */
export type ClinPromptApi = {
  readonly [N in RequestName]: (...args: RequestArgs<N>) => Promise<RequestResult<N>>;
} & {
  on<E extends EventName>(name: E, listener: (payload: EventPayloads[E]) => void): () => void;
};

/** The main-process side: one handler per request, given validated arguments. */
export type RequestHandlers = {
  readonly [N in RequestName]: (...args: ParsedRequestArgs<N>) => Promise<RequestResult<N>>;
};
