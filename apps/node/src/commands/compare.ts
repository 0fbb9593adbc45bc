// `gradsign compare`: the reference experiment, each optimizer at its published learning rate, over seeds.
import type { Command } from 'commander';
import { Context, type Io } from '../context.js';
import { runSweep, type SweepOptions, sweepLikeCommand } from './sweep.js';

/** Adds `gradsign compare`. */
export function addCompareCommand(program: Command, io: Io, done: (code: number) => void): void {
  sweepLikeCommand(
    program,
    'compare',
    'the reference experiment: GradSign (0.003), Adam (0.003) and SGD (0.03), with mean ± sd over seeds',
  ).action(async (opts: SweepOptions) => done(await runSweep(new Context(io, opts), opts, 'compare')));
}
