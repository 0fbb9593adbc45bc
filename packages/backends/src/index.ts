export { conv2dFilterGradViaSimd } from './fixes/conv-filter-grad-simd.js';
export {
  conv2dFilterGradViaConv,
  conv2dFilterGradViaMatMul,
  conv2dInputGradViaConv,
  type InputGradMethod,
} from './fixes/conv2d.js';
export { setWinogradMaxTile, winogradTile } from './fixes/conv3x3-winograd.js';
export {
  activeFixes,
  defaultFixes,
  FIXES,
  type FixInfo,
  type FixName,
  type InstallTrainingFixesOptions,
  installTrainingFixes,
  uninstallTrainingFixes,
} from './fixes/index.js';
export { maxPoolBackprop, maxPoolGradUsesSimd, setMaxPoolGradSimd } from './fixes/maxpool.js';
export {
  bundledTfjsCoreVersion,
  type RegisterGradientsResult,
  registerGradients,
  stockGradConfig,
  stockGradConfigs,
} from './gradients.js';
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
