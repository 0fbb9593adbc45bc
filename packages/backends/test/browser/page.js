import { run } from './shared.js';

window.__result = run(new URL('./', location.href).href).catch((e) => ({ error: String(e?.stack ?? e) }));
