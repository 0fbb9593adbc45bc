export {
  bundledTfjsCoreVersion,
  type RegisterGradientsResult,
  registerGradients,
  stockGradConfig,
  stockGradConfigs,
} from './gradients.js';
// Every kernel of the wing, as '@gradsign/backends/kernels' exports them.
export * from './kernels/index.js';
export {
  activeFixes,
  defaultFixes,
  FIXES,
  type FixInfo,
  type FixName,
  type InstallTrainingFixesOptions,
  installTrainingFixes,
  uninstallTrainingFixes,
} from './policy.js';
export { type BackendCapabilities, probeCapabilities, verifyActiveBackend } from './probe.js';
export {
  type BackendAttempt,
  type BackendName,
  type BackendPreference,
  type BackendSelection,
  BackendSelectionError,
  defaultBackendOrder,
  detectEnvironment,
  type Environment,
  type KnownBackend,
  type LogLevel,
  resolveBackendOrder,
  type SelectBackendOptions,
  selectBackend,
  type WasmBinaryName,
} from './select.js';
