// The bench scripts' command lines (bench/args.js): every bad option is one
// line on stderr and exit 2, before any work starts (none of these runs
// a benchmark, builds the C baseline or needs the reference model built).
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;

function run(script: string, ...argv: string[]) {
  const r = spawnSync(process.execPath, [join(root, 'bench', script), ...argv], { encoding: 'utf8', timeout: 30_000, cwd: root });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

const empty = mkdtempSync(join(tmpdir(), 'pgtemu-not-a-checkout-'));
const refused: [string, string[], RegExp][] = [
  // unknown options, positionals, a missing value
  ['native.js', ['--bogus'], /Unknown option '--bogus'[\s\S]*usage: node bench\/native\.js/],
  ['native.js', ['--rounds'], /argument missing/],
  ['run.js', ['extra'], /Unexpected argument 'extra'/],
  ['run.js', ['--quick', '--arhc', 'x86_64'], /Unknown option '--arhc'/],
  ['threads.js', ['--calls', '-5'], /option argument for '--calls'/],
  // counts: not digits, out of range, absurd
  ['native.js', ['--rounds', 'abc'], /--rounds abc: an integer in 3\.\.1000/],
  ['native.js', ['--rounds', '2'], /--rounds 2: an integer in 3\.\.1000/],
  ['native.js', ['--rounds', '1e9'], /--rounds 1e9: an integer/],
  ['native.js', ['--rounds', '99999999999999999999'], /an integer in 3\.\.1000/],
  ['native.js', ['--rounds', ' 31'], /an integer in 3\.\.1000/],
  ['native.js', ['--rounds', '0x20'], /an integer in 3\.\.1000/],
  ['threads.js', ['--rounds', 'NaN'], /--rounds NaN: an integer in 3\.\.1000/],
  ['threads.js', ['--calls', '0'], /--calls 0: an integer in 1\.\.1000000/],
  ['threads.js', ['--calls', '1e12'], /--calls 1e12/],
  ['compare.js', ['--base', '.', '--rounds', '-1'], /option argument for '--rounds'|an integer in 3\.\.1000/],
  ['compare.js', ['--base', '.', '--rounds', '3.5'], /--rounds 3\.5: an integer in 3\.\.1000/],
  // arch and variant
  ['run.js', ['--arch', 'nope'], /--arch nope: not an architecture \(x86_64, /],
  ['run.js', ['--arch', ''], /--arch : not an architecture/],
  ['run.js', ['--variant', 'nope', '--quick'], /--variant nope: no such variant/],
  ['run.js', ['--arch', 's390', '--variant', '4k-4level'], /--variant 4k-4level: no such variant of s390/],
  ['compare.js', ['--base', '.', '--arch', 'nope'], /no variant matches --arch nope/],
  // --write only with a full run (refused before the run, not after it)
  ['run.js', ['--write', '--quick'], /--write records full runs only/],
  ['run.js', ['--write', '--arch', 'x86_64'], /--write records full runs only/],
  // the other side of a comparison
  ['compare.js', [], /--base is required/],
  ['compare.js', ['--base', join(empty, 'missing')], /not a built pgtemu checkout \(no dist\/index\.js/],
  ['compare.js', ['--base', empty], /not a built pgtemu checkout/],
  ['threads.js', ['--base', empty], /not a built pgtemu checkout/],
];

describe('bench scripts refuse bad options with exit 2 before any work', () => {
  afterAll(() => rmSync(empty, { recursive: true, force: true }));
  it.each(refused)('%s %j', (script, argv, why) => {
    const r = run(script, ...argv);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(why);
    expect(r.stdout).toBe('');
  });
});

