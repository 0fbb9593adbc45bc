// Replica-thread setup for kernel-step.mjs: the wasm backend with the same kernel build as the main thread.
import { selectBackend } from '@gradsign/backends';

export default async function setUp({ backend, kernels }) {
  await selectBackend([backend], { kernels, onLog: () => {} });
}
