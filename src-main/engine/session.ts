/**
 * onnxruntime-node sessions: execution-provider choice with fallback, and the provider actually in
 * use reported back. Models are passed as bytes; their external data (frozen weights) is read from
 * the folder named by `externalDataDir` through ONNX Runtime's
 * "session.model_external_initializers_file_folder_path" config entry, because ONNX Runtime only
 * accepts external data paths that are relative to, and stay inside, the model's folder.
 */
import { readdirSync } from 'node:fs';
import { basename } from 'node:path';
import * as ort from 'onnxruntime-node';
import { UserError } from '../common/errors.js';
import { log } from '../common/log.js';
import type { DType } from './dtype.js';
import { Graph } from './graph.js';
import { identity } from './ops.js';
import { serialize } from './serialize.js';

export type ProviderName = 'cpu' | 'webgpu' | 'cuda' | 'dml';
export type ProviderChoice = ProviderName | 'auto';

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
   * onnxruntime's CPU memory arena. Default off: on the dim 512 x 8 layers benchmark it added
   * ~130 MB to the peak of a training step with no step-time gain we could measure.
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
  const bundled = new Set(ort.listSupportedBackends().map((b) => b.name));
  const order: ProviderName[] = [];
  if (bundled.has('cuda')) order.push('cuda');
  if (platform === 'win32' && bundled.has('dml')) order.push('dml');
  if (bundled.has('webgpu') && (platform !== 'linux' || hasGpuRenderNode())) order.push('webgpu');
  order.push('cpu');
  return order;
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
    try {
      const session = await ort.InferenceSession.create(model.bytes, sessionOptions(provider, model, options));
      attempts.push({ provider, ok: true });
      log.info('engine-session', { provider, attempts: attempts.length });
      return wrap(session, provider, attempts);
    } catch (error) {
      const reason = error instanceof Error ? error.message.split('\n')[0]!.slice(0, 300) : String(error);
      attempts.push({ provider, ok: false, reason });
      log.warn('engine-provider-failed', { provider, reason });
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
  if (!options.prepack) session['disable_prepacking'] = '1';
  if (model.externalDataDir) session['model_external_initializers_file_folder_path'] = model.externalDataDir;
  if (options.optimizedModelPath) {
    // Weights go to '<model>.data' beside the optimized model instead of being inlined into it.
    session['optimized_model_external_initializers_file_name'] = `${basename(options.optimizedModelPath)}.data`;
    session['optimized_model_external_initializers_min_size_in_bytes'] = '1024';
  }
  return {
    executionProviders: provider === 'cpu' ? ['cpu'] : [provider, 'cpu'],
    graphOptimizationLevel: options.optimization ?? 'extended',
    enableCpuMemArena: options.memoryArena ?? false,
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
