#!/usr/bin/env node
// pgtemu's command line: the program, its commands and how errors end a run.
// A PgtemuError (bad input) prints `pgtemu: <message>` and exits 2, as does a
// usage error (unknown command, option or value); anything else prints its
// message and exits 1. No stack traces.
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { KERNELS, DEFAULT_KERNEL } from '../host/presets.js';
import { PgtemuError } from '../host/errors.js';
import { ARCH_NAMES, type Io } from './common.js';
import { pteCommand } from './pte.js';
import { archsCommand } from './archs.js';
import { conformanceCommand } from './conformance.js';
import { benchCommand } from './bench.js';
import { checkCommand } from './check.js';
import { scenarioCommand } from './scenario.js';

export type { Io } from './common.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

export function program(io: Io, setCode: (c: number) => void): Command {
  const p = new Command('pgtemu')
    .description('Linux page tables and page refcounts, across architectures. '
      + `archs: ${ARCH_NAMES.join(', ')}; kernel presets: ${Object.keys(KERNELS).join(', ')} (default ${DEFAULT_KERNEL})`)
    .version(pkg.version, '-V, --version')
    .showSuggestionAfterError()
    .showHelpAfterError('(pgtemu <command> --help for its usage)')
    .configureOutput({
      writeOut: (s) => io.out(s.replace(/\n$/, '')),
      writeErr: (s) => io.err(s.replace(/\n$/, '')),
      outputError: (s, write) => write(s.replace(/^error: /, 'pgtemu: ')),
    })
    .exitOverride()
    .addHelpText('after', `
Examples:
  $ pgtemu check                                   # what npm start runs
  $ pgtemu pte --arch x86_64 0x8000000001c63067
  $ pgtemu conformance --arch riscv --kernel v6.12
  $ pgtemu bench -a -j 2 -m 64 -n 512`);
  const cmds = [checkCommand(io, setCode), archsCommand(io), pteCommand(io), conformanceCommand(io, setCode), benchCommand(io), scenarioCommand(io, setCode)];
  for (const c of cmds) {
    // every command reports its errors as the program does, and refuses stray arguments
    c.exitOverride().configureOutput(p.configureOutput()).showSuggestionAfterError().allowExcessArguments(false)
      .showHelpAfterError(`(pgtemu ${c.name()} --help for its usage)`);
    p.addCommand(c);
  }
  return p;
}

/**
 * Runs the command line `argv` (without node and the script) and resolves with
 * its exit status; writes through `io`. Never throws for bad input.
 */
export async function run(argv: string[], io: Io = processIo()): Promise<number> {
  let code = 0;
  const p = program(io, (c) => { code = c; });
  try {
    await p.parseAsync(argv.length ? argv : ['--help'], { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end with code 0; usage errors were printed by commander
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof PgtemuError) {
      io.err(`pgtemu: ${e.message}`);
      return 2;
    }
    io.err(`pgtemu: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

export function processIo(): Io {
  return {
    out: (s) => process.stdout.write(s + '\n'),
    err: (s) => process.stderr.write(s + '\n'),
    isTTY: !!process.stdout.isTTY,
  };
}

const self = fileURLToPath(import.meta.url);
const invoked = process.argv[1] ? (() => { try { return realpathSync(process.argv[1]); } catch { return process.argv[1]; } })() : '';
if (invoked === self) {
  // a reader that stops early (pgtemu ... | head) ends the output, not with an error
  process.stdout.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0); else throw e; });
  run(process.argv.slice(2)).then((c) => { process.exitCode = c; });
}
