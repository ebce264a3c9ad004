/**
 * onnxruntime-node sessions: execution-provider choice with fallback, and the provider actually in
 * use reported back. Models are passed as bytes; their external data (frozen weights) is read from
 * the folder named by `externalDataDir` through ONNX Runtime's
 * "session.model_external_initializers_file_folder_path" config entry, because ONNX Runtime only
 * accepts external data paths that are relative to, and stay inside, the model's folder.
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { UserError } from '../common/errors.js';
import { log } from '../common/log.js';
import type { ExecutionProviderName, ProviderChoice } from '../common/vocabulary.js';
import type { DType } from './dtype.js';
import { Graph } from './graph.js';
import { identity } from './ops.js';
import { serialize } from './serialize.js';

export type { ProviderChoice } from '../common/vocabulary.js';
export type ProviderName = ExecutionProviderName;

/**
 * onnxruntime's own log lines (node placement notes, provider library load failures) would flood
 * the CLI and test output; what matters reaches us as exceptions and attempts. So it logs errors
 * only, unless CLINPROMPT_ORT_LOG_LEVEL (verbose, info, warning, error, fatal) asks for more.
 */
const ORT_SEVERITY = { verbose: 0, info: 1, warning: 2, error: 3, fatal: 4 } as const;
type OrtLogLevel = keyof typeof ORT_SEVERITY;
const requestedLevel = process.env['CLINPROMPT_ORT_LOG_LEVEL'];
const ORT_LOG_LEVEL: OrtLogLevel =
  requestedLevel !== undefined && Object.hasOwn(ORT_SEVERITY, requestedLevel)
    ? (requestedLevel as OrtLogLevel)
    : 'error';
ort.env.logLevel = ORT_LOG_LEVEL; // read once, when the first session starts onnxruntime

export interface ModelBytes {
  readonly bytes: Uint8Array;
  /** Folder that external data locations are relative to (absent when all data is inline). */
  readonly externalDataDir?: string | undefined;
}

export interface SessionOptions {
  /** 'auto' tries the GPU providers this platform can have, then cpu. Default 'cpu'. */
  readonly provider?: ProviderChoice;
  /** CPU threads for one op (default: onnxruntime's choice, all cores). */
  readonly threads?: number;
  /** 'extended' was measured as fast as 'all' for training graphs. */
  readonly optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Writes the optimized model here (to check its size: weights must not be copied). */
  readonly optimizedModelPath?: string;
  /**
   * onnxruntime's CPU memory arena, for activations and gradients (weights stay outside it).
   * Default on: without it every intermediate is a fresh allocation whose first touch costs page
   * faults (costly on some machines: 215 ms for a fresh 64 MB buffer on the build machine). Measured
   * on the dim 512 x 8 layers model, one prompt-tuning step went 549 -> 344 ms for about 40 MB more
   * peak memory; greedy decoding of the dim 1024 x 12 model, 38.9 -> 41.8 tokens/s, 878 -> 867 MB.
   */
  readonly memoryArena?: boolean;
  /**
   * Let onnxruntime pre-pack constant weights into its matmul layout. Default off: pre-packing
   * keeps extra re-laid-out weight copies (one per consumer layout: FusedMatMul transB forward,
   * MatMul backward). bench:engine measured peak RSS 2124 -> 1541 MB (dim 1024 x 12 layers) and
   * 831 -> 675 MB (dim 512 x 8) with it off, at the same step time within noise.
   */
  readonly prepack?: boolean;
  /** More onnxruntime session config entries (onnxruntime_session_options_config_keys.h, without 'session.'). */
  readonly config?: Readonly<Record<string, string>>;
}

export interface ProviderAttempt {
  readonly provider: ProviderName;
  readonly ok: boolean;
  readonly reason?: string;
}

export interface EngineSession {
  /** The execution provider the session runs on (after any fallback). */
  readonly provider: ProviderName;
  /** Every provider tried, in order, with why it was not used. */
  readonly attempts: readonly ProviderAttempt[];
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>>;
  release(): Promise<void>;
}

/**
 * Providers 'auto' tries on this platform, best first; cpu is always last. On Linux, webgpu is
 * tried only when a GPU render node exists: without one, WebGPU can only run on Mesa's lavapipe
 * (a CPU rasterizer, ~40x slower than the CPU provider), which is for testing, not for work.
 */
export function autoProviderOrder(platform: NodeJS.Platform = process.platform): ProviderName[] {
  const built = new Set(ort.listSupportedBackends().map((b) => b.name));
  const order: ProviderName[] = [];
  if (built.has('cuda')) order.push('cuda'); // even without its libraries: 'auto' then says they are missing
  if (platform === 'win32' && built.has('dml')) order.push('dml');
  if (built.has('webgpu') && (platform !== 'linux' || hasGpuRenderNode())) order.push('webgpu');
  order.push('cpu');
  return order;
}

/**
 * Why a provider cannot start on this machine at all, found without starting it (so onnxruntime
 * prints nothing): not in this onnxruntime build, or, for CUDA, its provider libraries are not
 * installed (onnxruntime-node downloads them only on request).
 */
function missingReason(provider: ProviderName): string | undefined {
  const backend = ort.listSupportedBackends().find((b) => b.name === provider);
  if (!backend) return `this onnxruntime build has no ${provider} provider`;
  if (backend.bundled || provider !== 'cuda') return undefined;
  const library = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  return existsSync(join(bindingDir(), library))
    ? undefined
    : `the CUDA provider libraries (${library}) are not installed`;
}

/** The folder of onnxruntime-node's native binding, where its provider libraries go. */
function bindingDir(): string {
  const entry = createRequire(import.meta.url).resolve('onnxruntime-node');
  return join(dirname(entry), '..', 'bin', 'napi-v6', process.platform, process.arch);
}

const reportedUnavailable = new Set<ProviderName>();

/** Says once per process, in words, that 'auto' passes over a provider and why. */
function reportUnavailable(provider: ProviderName, reason: string): void {
  if (reportedUnavailable.has(provider)) return;
  reportedUnavailable.add(provider);
  log.warn('engine-provider-unavailable', {
    provider,
    detail: `The ${provider} execution provider is not used: ${reason}.`,
  });
}

function hasGpuRenderNode(): boolean {
  try {
    return readdirSync('/dev/dri').some((name) => name.startsWith('renderD'));
  } catch {
    return false;
  }
}

/** fp32 on CPU; fp16 weights with fp32 trainable tensors and loss scaling on GPU providers. */
export function computeDtypeFor(provider: ProviderName): DType {
  return provider === 'cpu' ? 'float32' : 'float16';
}

export async function createSession(model: ModelBytes, options: SessionOptions = {}): Promise<EngineSession> {
  const choice = options.provider ?? 'cpu';
  const order = choice === 'auto' ? autoProviderOrder() : [choice];
  const attempts: ProviderAttempt[] = [];
  for (const provider of order) {
    const missing = missingReason(provider);
    if (missing !== undefined) {
      attempts.push({ provider, ok: false, reason: missing });
      if (choice === 'auto') reportUnavailable(provider, missing);
      continue;
    }
    try {
      const session = await ort.InferenceSession.create(model.bytes, sessionOptions(provider, model, options));
      attempts.push({ provider, ok: true });
      log.info('engine-session', { provider, attempts: attempts.length });
      return wrap(session, provider, attempts);
    } catch (error) {
      const reason = error instanceof Error ? error.message.split('\n')[0]!.slice(0, 300) : String(error);
      attempts.push({ provider, ok: false, reason });
      if (choice === 'auto') reportUnavailable(provider, reason); // else the UserError below says it
    }
  }
  const tried = attempts.map((a) => `${a.provider}: ${a.reason}`).join('; ');
  if (choice !== 'auto' && choice !== 'cpu')
    throw new UserError(
      'UNSUPPORTED',
      `The ${choice} execution provider could not start (${tried}). Choose "auto" or "cpu" as the compute device.`,
    );
  throw new Error(`Could not create an onnxruntime session (${tried})`);
}

/**
 * Picks the provider a training graph should be built for (its compute dtype depends on it, see
 * computeDtypeFor) by starting a one-node session on each candidate in order.
 */
export async function probeProvider(
  choice: ProviderChoice = 'auto',
): Promise<{ provider: ProviderName; attempts: readonly ProviderAttempt[] }> {
  const g = new Graph();
  const model = serialize(g, [{ name: 'y', tensor: identity(g.input('x', 'float32', [1])) }]);
  const session = await createSession(model, { provider: choice });
  await session.release();
  return { provider: session.provider, attempts: session.attempts };
}

function sessionOptions(
  provider: ProviderName,
  model: ModelBytes,
  options: SessionOptions,
): ort.InferenceSession.SessionOptions {
  const session: Record<string, string> = { ...options.config };
  const arena = options.memoryArena ?? true;
  if (!options.prepack) session['disable_prepacking'] = '1';
  // Weights go through the plain allocator: the arena rounds and keeps what it grows by, which
  // for a model's weights would be gigabytes of slack.
  if (arena) session['use_device_allocator_for_initializers'] = '1';
  if (model.externalDataDir) session['model_external_initializers_file_folder_path'] = model.externalDataDir;
  if (options.optimizedModelPath) {
    // Weights go to '<model>.data' beside the optimized model instead of being inlined into it.
    session['optimized_model_external_initializers_file_name'] = `${basename(options.optimizedModelPath)}.data`;
    session['optimized_model_external_initializers_min_size_in_bytes'] = '1024';
  }
  return {
    executionProviders: provider === 'cpu' ? ['cpu'] : [provider, 'cpu'],
    graphOptimizationLevel: options.optimization ?? 'extended',
    logSeverityLevel: ORT_SEVERITY[ORT_LOG_LEVEL],
    enableCpuMemArena: arena,
    ...(options.threads !== undefined && { intraOpNumThreads: options.threads, interOpNumThreads: 1 }),
    ...(options.optimizedModelPath !== undefined && { optimizedModelFilePath: options.optimizedModelPath }),
    extra: { session },
  };
}

function wrap(session: ort.InferenceSession, provider: ProviderName, attempts: ProviderAttempt[]): EngineSession {
  return {
    provider,
    attempts,
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    run: (feeds) => session.run(feeds) as Promise<Record<string, ort.Tensor>>,
    release: () => session.release(),
  };
}

export { ort };
