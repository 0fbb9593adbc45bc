import { run } from './shared.js';

run(new URL('./', self.location.href).href)
  .then((r) => self.postMessage(r))
  .catch((e) => self.postMessage({ error: String(e?.stack ?? e) }));
