import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type PreviewServer, preview } from 'vite';

export const appRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Builds the app as its `build` script does (MNIST and golden files, then vite build) into dist/. */
export async function buildApp(): Promise<void> {
  execFileSync(process.execPath, [join(appRoot, 'scripts', 'prepare-assets.mjs')], { stdio: 'inherit' });
  await build({ root: appRoot, logLevel: 'warn' });
}

/** Serves dist/ with `vite preview` on 127.0.0.1 and a free port; returns the base URL and the server. */
export async function startPreview(): Promise<{ url: string; server: PreviewServer }> {
  const server = await preview({
    root: appRoot,
    logLevel: 'warn',
    preview: { host: '127.0.0.1', port: 0, strictPort: true, open: false },
  });
  const address = server.httpServer.address();
  if (address == null || typeof address === 'string') throw new Error('preview server has no TCP address');
  return { url: `http://127.0.0.1:${address.port}/`, server };
}
