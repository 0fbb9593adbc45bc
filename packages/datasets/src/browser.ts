// Browser entry: the platform-free API plus the HTTP MNIST source. Never imports Node built-ins.
export * from './core.js';
export { gunzipIdx, gunzipStream, type LoadMnistOptions, loadMnist } from './load-browser.js';
