// Contributed optimizer packages register themselves with @gradsign/optim-core on import; importing them here
// puts them in the optimizer picker next to the built-in ones.
import '@gradsign/optim-adam8bit';
import '@gradsign/optim-lion';
