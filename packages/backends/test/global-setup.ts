import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const bundle = fileURLToPath(new URL('../dist/vendor/tfjs-gradients.js', import.meta.url));
  if (!existsSync(bundle)) {
    execFileSync(
      process.execPath,
      [fileURLToPath(new URL('../scripts/bundle-gradients.mjs', import.meta.url))],
      {
        stdio: 'inherit',
      },
    );
  }
}
