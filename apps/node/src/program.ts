// The `gradsign` command tree: one file per command under commands/, this file only puts them together.
import { createRequire } from 'node:module';
import { Command } from 'commander';
import { addCompareCommand } from './commands/compare.js';
import { addRunCommand } from './commands/run.js';
import { addSpikyCommand } from './commands/spiky.js';
import { addSweepCommand } from './commands/sweep.js';
import { addThesisCommand } from './commands/thesis.js';
import { addWorkerCommand } from './commands/worker.js';
import type { Io } from './context.js';
import { EXIT_OK, EXIT_USAGE } from './errors.js';
import { reportError } from './report-error.js';

export type { Io } from './context.js';

function version(): string {
  const require = createRequire(import.meta.url);
  return (require('../package.json') as { version: string }).version;
}

/** Builds the command tree. `done` receives each command's exit code. */
export function buildProgram(io: Io, done: (code: number) => void): Command {
  const program = new Command('gradsign')
    .description('Train, sweep and compare memory-light optimizers on MNIST with TensorFlow.js.')
    .version(version())
    .option('--debug', 'print the stack trace of an error (any command)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .showHelpAfterError('(run with --help for usage)');
  addRunCommand(program, io, done);
  addSweepCommand(program, io, done);
  addCompareCommand(program, io, done);
  addWorkerCommand(program, io, done);
  addThesisCommand(program, io, done);
  addSpikyCommand(program, io, done);
  return program;
}

/** Runs the CLI on `argv` (without node and script) and returns the exit code. */
export async function main(argv: readonly string[], io: Io = process): Promise<number> {
  let code = EXIT_OK;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return EXIT_USAGE;
    }
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (error) {
    return reportError(error, io.stderr, Boolean(program.opts().debug));
  }
}
