// pnpm hook. A workspace project's optional peers (peerDependenciesMeta optional) are for its users to install or
// not; pnpm's autoInstallPeers would install them into the workspace (pnpm/pnpm#11155), so @gradsign/backends'
// optional @tensorflow/tfjs-node peer would come in with its native download. Projects that need such a peer for
// their own tests list it in devDependencies, which this leaves alone.
function readPackage(pkg) {
  if (!pkg.name?.startsWith('@gradsign/') || pkg.peerDependencies == null) return pkg;
  for (const [name, meta] of Object.entries(pkg.peerDependenciesMeta ?? {})) {
    if (meta?.optional && pkg.devDependencies?.[name] == null) delete pkg.peerDependencies[name];
  }
  return pkg;
}

module.exports = { hooks: { readPackage } };
