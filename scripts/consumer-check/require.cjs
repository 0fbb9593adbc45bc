// CommonJS: require() of every library's entry points (Node ≥ 20.19 loads our ESM through the `default` condition).
const assert = require('node:assert/strict');
const { packages } = require('./packages.json');

const entries = {
  '@gradsign/optim-core': ['createOptimizer', 'GradSign', 'Adam'],
  '@gradsign/optim-lion': ['Lion'],
  '@gradsign/optim-adam8bit': ['Adam8bit'],
  '@gradsign/datasets': ['parseIdx', 'loadMnist'],
  '@gradsign/backends': ['selectBackend'],
  '@gradsign/trainer': ['train'],
  '@gradsign/trainer/node': ['saveCheckpoint'],
  '@gradsign/optim-testkit/golden': [],
  '@gradsign/sweep-queue': [],
};
const loaded = [];
for (const [specifier, names] of Object.entries(entries)) {
  if (!packages.includes(specifier.split('/').slice(0, 2).join('/'))) continue;
  const mod = require(specifier);
  for (const name of names) assert.equal(typeof mod[name], 'function', `require('${specifier}').${name}`);
  loaded.push(specifier);
}
assert.ok(loaded.length > 0, 'no package was required');
console.log(`require() from CommonJS (node ${process.versions.node}): ${loaded.join(', ')}`);
