// Sets up a replica thread of a Node data-parallel run with the portable wasm kernels, as the browser test's page uses.
import { selectBackend } from '@gradsign/backends';

export default async function setUpReplica({ backend }) {
  await selectBackend([backend], { onLog: () => {}, kernels: 'portable' });
}
