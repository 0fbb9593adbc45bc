import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, test } from 'vitest';
import { checkBuilt, runCli } from './run-cli.js';

beforeAll(checkBuilt);

describe('bad flags exit with code 2 and say what is wrong', () => {
  test.each([
    [
      ['run', '--lr', 'abc'],
      /option '--lr <number>' argument 'abc' is invalid\. 'abc' is not a positive number/,
    ],
    [['run', '--lr', '-0.1'], /'-0\.1' is not a positive number/],
    [['run', '--lr', '0'], /'0' is not a positive number/],
    [['run', '--steps', '1.5'], /'1\.5' is not an integer >= 0/],
    [['run', '--batch', '0'], /'0' is not an integer >= 1/],
    [['run', '--seed', 'x'], /'x' is not an integer/],
    [['run', '--backend', 'gpu'], /Allowed choices are auto, tensorflow, wasm, cpu/],
    [['run', '--model', 'resnet'], /Allowed choices are blog-cnn, mlp/],
    [['run', '--frobnicate'], /unknown option '--frobnicate'/],
    [['run', '--opt', 'momentum'], /'momentum' is not key=value/],
    [['train'], /unknown command 'train'/],
    [['run', '--workers', '0'], /'0' is not 'auto' or a thread count from 1 to 64/],
    [['compare', '--workers', 'many'], /'many' is not 'auto' or a thread count from 1 to 64/],
    [['compare', '--seeds', '0'], /'0' is not an integer >= 1/],
    [['sweep', '--lrs', '0.1,fast'], /'fast' in '0\.1,fast' is not a positive learning rate/],
  ])('%j', async (args, message) => {
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/--help/);
    expect(r.stdout).toBe('');
  });

  test('an unknown optimizer lists the registered ones', async () => {
    const r = await runCli(['run', '--optimizer', 'nosuchopt']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /unknown optimizer 'nosuchopt'; registered optimizers: gradsign, adam, adamw, sgd/,
    );
    const s = await runCli(['compare', '--optimizers', 'gradsign,nosuchopt']);
    expect(s.code).toBe(2);
    expect(s.stderr).toMatch(/unknown optimizer 'nosuchopt'/);
    expect(s.stderr).toMatch(
      /install @gradsign\/optim-nosuchopt, or load a package with --optimizer-package/,
    );
  });

  test('an optimizer package that cannot be imported is a usage error', async () => {
    const r = await runCli(['run', '--optimizer-package', '@gradsign/optim-nosuchpackage']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot import optimizer package '@gradsign\/optim-nosuchpackage'/);
  });

  test('an unknown optimizer option is rejected by the optimizer', async () => {
    const r = await runCli(['run', '--optimizer', 'sgd', '--opt', 'momentun=0.9', '--backend', 'cpu']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown option 'momentun'; known options: .*momentum/);
  });

  test('--lrs for an optimizer that is not swept', async () => {
    const r = await runCli(['sweep', '--optimizers', 'sgd', '--lrs', 'adam=0.1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--lrs names 'adam', which is not in --optimizers/);
  });

  test('no arguments prints the usage (exit 2); --help and --version exit 0', async () => {
    const none = await runCli([]);
    expect(none.code).toBe(2);
    expect(none.stdout + none.stderr).toMatch(/Usage: gradsign \[options\] \[command\]/);
    const help = await runCli(['run', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--optimizer <name>/);
    expect(help.stdout).toMatch(/--resume <file>/);
    const version = await runCli(['--version']);
    expect(version.code).toBe(0);
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(version.stdout.trim()).toBe(pkg.version);
  });
});
