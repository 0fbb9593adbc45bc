// Node entry: the platform-free API plus the file-system MNIST sources.
export * from './core.js';
export { findMnistFiles, gunzipIdx, type LoadMnistOptions, loadMnist, mnistDataDir } from './load-node.js';
