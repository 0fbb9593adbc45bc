import * as tf from '@tensorflow/tfjs-core';
import { type RegisterGradientsResult, registerGradients } from './gradients.js';
import {
  type KernelBuild,
  type KernelBuildPreference,
  relaxedSimdSupported,
  setWasmKernelBuild,
  wasmKernelBuild,
} from './kernels/relaxed-simd.js';
import { activeFixes, type FixName, installTrainingFixes, uninstallTrainingFixes } from './policy.js';
import { type BackendCapabilities, firstLine, probeCapabilities, verifyActiveBackend } from './probe.js';

/** Backends this package knows how to load. Other names are tried if their backend is already registered. */
export type KnownBackend = 'tensorflow' | 'webgl' | 'wasm' | 'cpu';
/** A known backend, or the name of any other backend registered with tfjs (`string & {}` keeps completion). */
export type BackendName = KnownBackend | (string & {});
/**
 * Which backend {@link selectBackend} should use: one name (tried first, then the 'auto' order), 'auto', or an
 * exact list to try in order ('auto' expands in place).
 */
export type BackendPreference = BackendName | 'auto' | readonly (BackendName | 'auto')[];
/** Where the code runs; decides the 'auto' backend order and how wasm binaries are located. */
export type Environment = 'node' | 'browser';
/** Severity of a message passed to {@link SelectBackendOptions.onLog}. */
export type LogLevel = 'info' | 'warn';

/** The three binaries of @tensorflow/tfjs-backend-wasm, as `setWasmPaths` names them. */
export type WasmBinaryName =
  | 'tfjs-backend-wasm.wasm'
  | 'tfjs-backend-wasm-simd.wasm'
  | 'tfjs-backend-wasm-threaded-simd.wasm';

/** Options of {@link selectBackend}: wasm binaries and threads, logging, training fixes and checks. */
export interface SelectBackendOptions {
  /**
   * Where the wasm binaries are: a prefix (directory URL or path ending in '/') or a map giving all three
   * binaries. Default: in Node, the installed @tensorflow/tfjs-backend-wasm/dist/; in the browser, tfjs's default
   * (next to the script), so serve the files with your app or pass their asset URLs here.
   */
  wasmPaths?: string | Record<WasmBinaryName, string>;
  /** wasm thread count (setThreadsCount), applied before the wasm backend initialises. */
  wasmThreads?: number;
  /** Receives every message. Default: console.info / console.warn. */
  onLog?: (level: LogLevel, message: string) => void;
  /**
   * Training fixes for the chosen backend: true (default) installs its default fixes; a list makes exactly those
   * active; false makes none active (stock tfjs behaviour).
   */
  fixes?: boolean | readonly FixName[];
  /** 'training' (default) also checks conv2d and maxPool gradients against a JS reference; 'basic' does not. */
  check?: 'training' | 'basic';
  /** Override environment detection. */
  environment?: Environment;
  /**
   * Which build of the WebAssembly SIMD kernels the wasm backend runs: 'auto' (default) the FMA build (relaxed
   * SIMD's f32x4.relaxed_madd) where the engine has relaxed SIMD, else the portable build; 'portable' the portable
   * build everywhere, for results that are bit-identical across machines. Applies to every kernel call after this
   * (also `setWasmKernelBuild`); when absent, the build chosen before stays ('auto' at first).
   */
  kernels?: KernelBuildPreference;
}

/** One backend that {@link selectBackend} tried, and whether it was used. */
export interface BackendAttempt {
  backend: string;
  ok: boolean;
  /** Why the backend was not used (absent when ok). */
  reason?: string;
  /** Wall time spent on the attempt, in milliseconds. */
  ms: number;
}

/**
 * What {@link selectBackend} chose: the active backend, its measured capabilities, the training fixes active on it
 * and every attempt made on the way.
 */
export interface BackendSelection {
  backend: string;
  environment: Environment;
  capabilities: BackendCapabilities;
  /** Training fixes active on the chosen backend. */
  fixes: FixName[];
  /** Every backend tried, in order, the chosen one last. */
  attempts: BackendAttempt[];
  gradients: RegisterGradientsResult;
  /** Where the wasm binaries were taken from, when wasm was tried. */
  wasmPaths?: string | Record<WasmBinaryName, string>;
  /** On wasm with SIMD, the build of the custom SIMD kernels in use ('fma' or 'portable'). */
  kernels?: KernelBuild;
}

/** Thrown by {@link selectBackend} when no backend in the order works; `attempts` says why each one failed. */
export class BackendSelectionError extends Error {
  readonly attempts: BackendAttempt[];
  constructor(attempts: BackendAttempt[]) {
    super(
      `no usable TensorFlow.js backend: ${attempts.map((a) => `${a.backend} (${a.reason ?? 'failed'})`).join('; ')}`,
    );
    this.name = 'BackendSelectionError';
    this.attempts = attempts;
  }
}

const LOG_PREFIX = '[gradsign/backends]';

/** 'browser' in a window or a worker (also Electron renderers and jsdom), else 'node' when Node is present. */
export function detectEnvironment(): Environment {
  const g = globalThis as Record<string, unknown>;
  const browserLike =
    (typeof g.window === 'object' && g.window != null) || typeof g.WorkerGlobalScope === 'function';
  if (browserLike) return 'browser';
  const proc = g.process as { versions?: { node?: string } } | undefined;
  return proc?.versions?.node != null ? 'node' : 'browser';
}

/** The order 'auto' stands for. */
export function defaultBackendOrder(environment: Environment = detectEnvironment()): KnownBackend[] {
  return environment === 'node' ? ['tensorflow', 'wasm', 'cpu'] : ['webgl', 'wasm', 'cpu'];
}

/**
 * The backends to try, in order. A single name is tried first and then the rest of 'auto'; a list is tried
 * exactly as given, with 'auto' expanding in place (so a list without 'auto' does not fall back further).
 */
export function resolveBackendOrder(preference: BackendPreference, environment: Environment): string[] {
  const auto = defaultBackendOrder(environment);
  const list: readonly string[] =
    typeof preference === 'string' ? (preference === 'auto' ? ['auto'] : [preference, 'auto']) : preference;
  const out: string[] = [];
  for (const item of list) {
    for (const name of item === 'auto' ? auto : [item]) if (!out.includes(name)) out.push(name);
  }
  return out;
}

/** Dynamic import that bundlers leave alone: for optional packages and Node built-ins. */
function importUnbundled(specifier: string): Promise<unknown> {
  return import(/* @vite-ignore */ /* webpackIgnore: true */ specifier);
}

type WasmModule = typeof import('@tensorflow/tfjs-backend-wasm');

/** Directory of the installed wasm binaries (with trailing separator), resolved from this package, in Node. */
async function nodeWasmDirectory(): Promise<string> {
  const { createRequire } = (await importUnbundled('node:module')) as typeof import('node:module');
  const path = (await importUnbundled('node:path')) as typeof import('node:path');
  const fs = (await importUnbundled('node:fs')) as typeof import('node:fs');
  const require = createRequire(import.meta.url);
  const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm']) {
    if (!fs.existsSync(path.join(dir, f))) throw new Error(`wasm binary ${f} not found in ${dir}`);
  }
  return dir + path.sep;
}

let wasmModule: WasmModule | undefined;
let wasmPathsUsed: string | Record<WasmBinaryName, string> | undefined;

async function loadWasm(options: SelectBackendOptions, environment: Environment): Promise<void> {
  const mod = (await import('@tensorflow/tfjs-backend-wasm')) as WasmModule & { default?: WasmModule };
  wasmModule = typeof mod.setWasmPaths === 'function' ? mod : (mod.default ?? mod);
  if (tf.findBackend('wasm') != null) return; // Already initialised: paths and threads can no longer change.
  const paths = options.wasmPaths ?? (environment === 'node' ? await nodeWasmDirectory() : undefined);
  if (paths != null) {
    wasmModule.setWasmPaths(paths);
    wasmPathsUsed = paths;
  }
  if (options.wasmThreads != null) wasmModule.setThreadsCount(options.wasmThreads);
}

/** How Node, browsers and bundlers say that an imported package is not installed. */
const MISSING_MODULE =
  /Cannot find (package|module)|MODULE_NOT_FOUND|(Could not|Failed to) (load|resolve)|fetch dynamically imported/i;

async function loadTfjsNode(): Promise<void> {
  try {
    await importUnbundled('@tensorflow/tfjs-node');
  } catch (e) {
    const msg = firstLine(e);
    const missing = MISSING_MODULE.test(msg);
    throw new Error(
      missing
        ? '@tensorflow/tfjs-node is not installed (it is optional: `npm install @tensorflow/tfjs-node` needs ' +
            'internet access to download libtensorflow)'
        : `@tensorflow/tfjs-node failed to load: ${msg}`,
    );
  }
}

/** The WebGL backend is an optional peer: Node-only users do not install it. */
async function loadWebgl(): Promise<void> {
  try {
    await import('@tensorflow/tfjs-backend-webgl');
  } catch (e) {
    const msg = firstLine(e);
    throw new Error(
      MISSING_MODULE.test(msg)
        ? '@tensorflow/tfjs-backend-webgl is not installed (an optional peer: `npm install @tensorflow/tfjs-backend-webgl` for WebGL in browsers)'
        : `@tensorflow/tfjs-backend-webgl failed to load: ${msg}`,
    );
  }
}

/** Loads the package that registers `name`, configures it, and throws with a reason if it cannot be used. */
async function prepare(name: string, options: SelectBackendOptions, environment: Environment): Promise<void> {
  switch (name) {
    case 'tensorflow':
      if (environment !== 'node') throw new Error('the tensorflow backend (tfjs-node) only runs in Node');
      await loadTfjsNode();
      break;
    case 'webgl':
      if (environment !== 'browser')
        throw new Error('WebGL needs a browser; in Node use tensorflow, wasm or cpu');
      await loadWebgl();
      break;
    case 'wasm':
      await loadWasm(options, environment);
      break;
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      break;
    default:
      break;
  }
  if (tf.findBackendFactory(name) == null) {
    throw new Error(`no backend named '${name}' is registered (import its package before selectBackend)`);
  }
}

/**
 * tf.setBackend reports initialisation failures only through console.warn and a `false` result. Record those
 * warnings (still passing them on) so the attempt can say why.
 */
async function setBackendCapturingWarnings(name: string): Promise<{ ok: boolean; warnings: string[] }> {
  const warnings: string[] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => {
    warnings.push(args.map((a) => (a instanceof Error ? a.message : String(a))).join(' '));
    original.apply(console, args);
  };
  try {
    const ok = await tf.setBackend(name);
    return { ok: ok && tf.getBackend() === name, warnings };
  } finally {
    console.warn = original;
  }
}

/** The first informative line tfjs or emscripten warned while a backend failed to initialise. */
function summarise(warnings: string[]): string {
  const lines = warnings
    .flatMap((w) => w.split('\n'))
    .map((l) => l.trim())
    .filter(
      (l) =>
        l !== '' && !/^=+$/.test(l) && !/^Initialization of backend .* failed$/.test(l) && !/^at /.test(l),
    );
  const first = lines[0];
  if (first == null) return ' (tf.setBackend returned false)';
  return `: ${first.length > 300 ? `${first.slice(0, 300)}…` : first}`;
}

/** The kernel build on a wasm backend with SIMD, said for the startup line. */
function kernelsLine(build: KernelBuild): string {
  if (build === 'fma') return 'FMA kernels (relaxed SIMD)';
  return relaxedSimdSupported() ? 'portable kernels (forced)' : 'portable kernels (no relaxed SIMD)';
}

function describe(caps: BackendCapabilities, fixes: FixName[], kernels?: string): string {
  const parts: string[] = [];
  if (caps.simd != null) parts.push(caps.simd ? 'SIMD' : 'no SIMD');
  if (kernels != null) parts.push(kernels);
  if (caps.threads != null) parts.push(`${caps.threads} thread${caps.threads === 1 ? '' : 's'}`);
  if (caps.webglVersion != null) parts.push(`WebGL ${caps.webglVersion}`);
  if (caps.webglRenderer != null) parts.push(caps.webglRenderer);
  parts.push(`float${caps.floatPrecision}`);
  parts.push(caps.int32Exact ? 'int32 exact' : `int32 exact below 2^${Math.log2(caps.int32ExactBelow)}`);
  parts.push(`fixes: ${fixes.length > 0 ? fixes.join(', ') : 'none'}`);
  return parts.join(', ');
}

/**
 * Picks, initialises and checks a TensorFlow.js backend, installs the training fixes it needs and reports what
 * it chose. Backends that are missing, fail to initialise or fail the checks are skipped with a logged reason.
 * Throws BackendSelectionError (with every attempt) only when no backend in the order works.
 */
export async function selectBackend(
  preference: BackendPreference = 'auto',
  options: SelectBackendOptions = {},
): Promise<BackendSelection> {
  const log =
    options.onLog ??
    ((level: LogLevel, message: string) =>
      level === 'warn' ? console.warn(message) : console.info(message));
  const environment = options.environment ?? detectEnvironment();
  // Throws on an unknown value, before any backend is tried.
  if (options.kernels !== undefined) setWasmKernelBuild(options.kernels);
  const gradients = registerGradients();
  const order = resolveBackendOrder(preference, environment);
  const attempts: BackendAttempt[] = [];

  for (const [i, name] of order.entries()) {
    const start = Date.now();
    const fail = (reason: string): void => {
      attempts.push({ backend: name, ok: false, reason, ms: Date.now() - start });
      const next = order[i + 1];
      log('warn', `${LOG_PREFIX} ${name} not used: ${reason}${next != null ? `; trying ${next}` : ''}`);
    };
    try {
      await prepare(name, options, environment);
    } catch (e) {
      fail(firstLine(e));
      continue;
    }
    const { ok, warnings } = await setBackendCapturingWarnings(name);
    if (!ok) {
      fail(`initialisation failed${summarise(warnings)}`);
      continue;
    }
    let fixes: FixName[] = [];
    try {
      if (options.fixes === false || Array.isArray(options.fixes)) {
        // Exactly the listed fixes (none for false): remove the others a previous call may have installed.
        const keep: readonly FixName[] = options.fixes === false ? [] : options.fixes;
        uninstallTrainingFixes(
          name,
          activeFixes(name).filter((f) => !keep.includes(f)),
        );
        if (keep.length > 0) installTrainingFixes(name, { fixes: keep });
      } else {
        installTrainingFixes(name);
      }
      fixes = activeFixes(name);
    } catch (e) {
      fail(`installing training fixes failed: ${firstLine(e)}`);
      continue;
    }
    const problem = await verifyActiveBackend({ training: options.check !== 'basic' });
    if (problem != null) {
      fail(`check failed: ${problem}`);
      continue;
    }
    const capabilities = await probeCapabilities(
      name === 'wasm' && wasmModule != null ? wasmModule.getThreadsCount : undefined,
    );
    attempts.push({ backend: name, ok: true, ms: Date.now() - start });
    const kernels = name === 'wasm' && capabilities.simd === true ? wasmKernelBuild() : undefined;
    const line = kernels != null ? kernelsLine(kernels) : undefined;
    log('info', `${LOG_PREFIX} using ${name} (${describe(capabilities, fixes, line)})`);
    const selection: BackendSelection = {
      backend: name,
      environment,
      capabilities,
      fixes,
      attempts,
      gradients,
    };
    if (order.slice(0, i + 1).includes('wasm') && wasmPathsUsed != null) selection.wasmPaths = wasmPathsUsed;
    if (kernels != null) selection.kernels = kernels;
    return selection;
  }
  const error = new BackendSelectionError(attempts);
  log('warn', `${LOG_PREFIX} ${error.message}`);
  throw error;
}
