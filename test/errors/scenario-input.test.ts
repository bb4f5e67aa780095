// The worst scenario files: each is refused before anything runs with a
// PgtemuError naming file:line:column and what is wrong -- YAML syntax,
// unknown operations, arguments and names, wrong types, bad expressions,
// numbers beyond 64 bits, absurd nesting, anchor/alias bombs, __proto__ and
// other inherited names, non-string keys, tags, several documents.
import { describe, expect, it } from 'vitest';
import { PgtemuError } from '../../src/index.js';
import { parseScenario, MAX_FILE_BYTES } from '../../src/scenario/parse.js';
import { runScenario } from '../../src/scenario/run.js';

const HEAD = 'name: t\ndescription: d\n';
function refused(src: string, re: RegExp, where?: [number, number]): string {
  let err: unknown;
  try { parseScenario(src, 'f.yaml'); } catch (e) { err = e; }
  expect(err, `accepted:\n${src.slice(0, 300)}`).toBeInstanceOf(PgtemuError);
  const e = err as PgtemuError;
  expect(e.code).toBe('EINVAL');
  expect(e.message).toMatch(/^f\.yaml:\d+:\d+: /);
  expect(e.message).toMatch(re);
  if (where) expect(e.message.slice(0, e.message.indexOf(': '))).toBe(`f.yaml:${where[0]}:${where[1]}`);
  return e.message;
}
const steps = (s: string) => `${HEAD}steps:\n${s}`;

describe('malformed scenario files name file:line:column', () => {
  it('YAML syntax, several documents, duplicate keys, an empty file, a list at the top', () => {
    refused(`${HEAD}steps: [unclosed\n`, /YAML: /);
    refused(`${HEAD}steps: []\n---\nname: x\n`, /YAML: .*(multiple documents|document)/i);
    refused(`${HEAD}name: again\nsteps: []\n`, /YAML: .*(unique|duplicate)/i, [3, 1]);
    refused('', /a scenario is a YAML mapping/, [1, 1]);
    refused('- a\n- b\n', /a scenario is a YAML mapping/, [1, 1]);
    refused(`name: t\nsteps: []\n`, /'description' is missing/);
    refused(`${HEAD}steps: []\nextra: 1\n`, /unknown key 'extra'/, [4, 1]);
  });

  it('unknown operations and arguments, wrong types, missing arguments', () => {
    refused(steps('  - frobnicate: {}\n'), /step 1: unknown operation 'frobnicate' \(operations: createMm, mmap/, [4, 5]);
    refused(steps('  - toString: {}\n'), /unknown operation 'toString'/);
    refused(steps('  - mmap: { start: 0, length: 4K, bogus: 1 }\n'), /mmap arguments: unknown key 'bogus' \(keys: start, length, kind/, [4, 35]);
    refused(steps('  - mmap: { start: 0, length: 4K, constructor: 1 }\n'), /unknown key 'constructor'/);
    refused(steps('  - mmap: { start: true, length: 4K }\n'), /mmap start must be an integer or an expression, not true/, [4, 20]);
    refused(steps('  - mmap: { start: 0 }\n'), /mmap: 'length' is missing/);
    refused(steps('  - mmap: { start: 0, length: 4K, kind: nfs }\n'), /mmap kind: 'nfs' is not one of anon, hugetlb, pfnmap, devdax, fsdax/);
    refused(steps('  - mmap: { start: 0, length: 4K, kind: [anon, pfnmap] }\n'), /mmap kind must be a string/);
    refused(steps('  - mmap: { start: 0, length: 4K, hugeOrder: pmx }\n'), /'pmx' is not one of pgd, p4d, pud, pmd, pte/);
    refused(steps('  - gupFast: { at: 0, pin: yes }\n'), /gupFast pin must be true or false/);
    refused(steps('  - fault: 0\n    walk: 0\n'), /one operation per step \(found fault, walk\)/, [5, 5]);
    refused(steps('  - as: x\n'), /step 1: no operation/);
    refused(steps('  - check: 5\n'), /check takes no arguments/);
    refused(steps('  - mmap: { start: 0, length: 4K }\n    expect: { fast: 1 }\n'), /expect: unknown key 'fast' \(keys: error, when, note\)/, [5, 15]);
    refused(steps('  - gupFast: 0\n    expect: { fast: 1, error: ENOPE }\n'), /'ENOPE' is not one of EINVAL, EFAULT/);
    refused(steps('  - walk: 0\n    expect: { flags: { writable: true } }\n'), /unknown key 'writable'/);
    refused(steps('  - walk: 0\n    expect: { level: pxd }\n'), /'pxd' is not one of/);
    refused(steps('  - walk: 0\n    expect: { when: { arch: x86_64 } }\n'), /nothing expected/);
    refused(steps('  - walk: 0\n    expect: []\n'), /a list of 1\.\.256 entries/);
    refused(steps('  - walk: 0\n    requires: { arch: mips }\n'), /'mips' is not one of x86_64, arm64/);
    refused(steps('  - walk: 0\n    requires: { not: { not: { arch: s390 } } }\n'), /unknown key 'not'/);
    refused(`${HEAD}kernels: [v9]\nsteps: []\n`, /kernels: 'v9' is not one of v6\.0, v6\.1, v6\.12, v6\.15, v6\.17/, [3, 11]);
    refused(`${HEAD}machine: { ramMiB: 0 }\nsteps: []\n`, /machine\.ramMiB must be an integer in 1\.\.1048576/);
  });

  it('named results: unknown, of the wrong kind, defined twice, used before they exist', () => {
    refused(steps('  - unpin: pins\n'), /unpin pages: 'pins' is not a named result of an earlier step/, [4, 12]);
    refused(steps('  - unpin: pins\n  - gupFast: 0\n    as: pins\n'), /'pins' is not a named result/, [4, 12]);
    refused(steps('  - walk: 0\n    as: w\n  - unpin: w\n'), /'w' is a result result, not a gup result/);
    refused(steps('  - gupFast: 0\n    as: p\n  - gupFast: 0\n    as: p\n'), /as: 'p' is already defined/);
    refused(steps('  - gupFast: 0\n    as: PMD_SIZE\n'), /already defined/);
    refused(steps('  - walk: 0\n    as: w\n  - fault: w.bogus\n'), /'w' has no number 'bogus' \(fields: size, pfn, pa\)/, [6, 12]);
    refused(steps('  - walk: 0\n    as: w\n  - fault: w\n'), /unknown name 'w' \(it is a step result: write w\.field\)/);
    refused(steps('  - fault: { at: 0, mm: other }\n'), /'other' is not a named result.*createMm makes more/);
  });

  it('expressions: unknown names, operators that do not exist, never eval', () => {
    refused(steps('  - fault: base\n'), /fault at: unknown name 'base'/, [4, 12]);
    refused(`${HEAD}values: { base: 1G }\nsteps:\n  - fault: base * 2\n`, /unexpected '\*': a factor is a literal integer before a term/, [5, 17]);
    refused(`${HEAD}values: { base: 1G }\nsteps:\n  - fault: base * base\n`, /unexpected '\*'/, [5, 17]);
    refused(`${HEAD}values: { base: 1G }\nsteps:\n  - fault: 2 * 3 * base\n`, /unexpected '\*'/, [5, 18]);
    refused(`${HEAD}values: { base: 1G }\nsteps:\n  - fault: 2 *\n`, /expression ends where a number or name should be/, [5, 15]);
    refused(`${HEAD}values: { base: 1G }\nsteps:\n  - fault: 0x1_0000_0000_0000_0000 * base\n`, /does not fit in 64 bits/, [5, 12]);
    refused(`${HEAD}values: { base: 1G }\nsteps:\n  - fault: "base +"\n`, /expression ends where a number or name should be/);
    refused(steps('  - fault: process.exit(1)\n'), /unexpected '\('/);
    refused(steps('  - fault: "${1+1}"\n'), /unexpected '\$'/);
    refused(steps('  - fault: 2Q\n'), /unexpected 'Q' after '2'/);
    refused(steps('  - fault: 0x\n'), /unexpected 'x' after '0'/);
    refused(steps(`  - fault: "${'1 + '.repeat(100)}1"\n`), /longer than 256 characters|more than 32 terms/);
    refused(`${HEAD}values: { a: b, b: 1 }\nsteps: []\n`, /values\.a: unknown name 'b'/);
    refused(`${HEAD}values: { PMD_SIZE: 1 }\nsteps: []\n`, /'PMD_SIZE' is a builtin/);
    refused(`${HEAD}values: { 1x: 1 }\nsteps: []\n`, /'1x' is not a name/);
  });

  it('numbers beyond 64 bits or outside an argument\'s range, and non-integers', () => {
    refused(steps('  - fault: 99999999999999999999999\n'), /does not fit in 64 bits/, [4, 12]);
    refused(steps('  - fault: 0x1_0000_0000_0000_0000\n'), /does not fit in 64 bits/);
    refused(steps('  - fault: "0xffffffffffffffff + 1"\n'), /outside 0\.\.18446744073709551615/);
    refused(steps('  - fault: 17179869184G\n'), /17179869184G does not fit in 64 bits/);
    expect(() => parseScenario(steps('  - fault: 17179869183G\n'), 'f.yaml')).not.toThrow();
    refused(steps('  - fault: -1\n'), /outside 0\.\./);
    refused(steps('  - fault: 1e400\n'), /not the non-integer 1e400/);
    refused(steps('  - fault: .nan\n'), /non-integer/);
    refused(steps('  - fault: 1.5\n'), /non-integer 1\.5/);
    refused(steps('  - gupFast: { at: 0, nr: 0x100000000 }\n'), /gupFast nr: .* is outside 1\.\.1048576/);
    refused(steps('  - inject: { pfn: 1, field: refcount, value: 0x80000000 }\n'), /outside -2147483648\.\.2147483647/);
    refused(steps('  - mmap: { start: 0, length: 4K, hugeOrder: 64 }\n'), /outside 0\.\.63/);
    refused(`${HEAD}machine: { ramMiB: 99999999999999999999 }\nsteps: []\n`, /ramMiB must be an integer/);
  });

  it('deep nesting, in YAML and where the schema wants a scalar', () => {
    refused(steps(`  - note: ${'['.repeat(20000)}${']'.repeat(20000)}\n    fault: 0\n`), /note must be a string|nested too deeply|YAML/);
    refused(`${HEAD}steps: ${'['.repeat(200000)}\n`, /nested too deeply|YAML/);
    refused(steps(`  - fault: { at: ${'{ a: '.repeat(5000)}1${' }'.repeat(5000)} }\n`), /fault at must be a number or an expression|YAML/);
    refused(`${HEAD}steps: []\nrequires: { not: ${'{ not: '.repeat(3000)}{ arch: s390 }${' }'.repeat(3001)}\n`, /unknown key 'not'|YAML/);
  });

  it('anchors and aliases (billion laughs) are refused, never expanded', () => {
    const lol = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i++) lol.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
    refused(`${HEAD}values:\n  ${lol.join('\n  ')}\nsteps: []\n`, /values must be a mapping|anchors \(&a\) are not supported|not a name|must be a number/);
    refused(`${HEAD}machine: &m { ramMiB: 64 }\nsteps: []\n`, /anchors \(&m\) are not supported/, [3, 13]);
    refused(`${HEAD}values: { base: 1G }\nx: &x 1\nsteps:\n  - fault: *x\n`, /unknown key 'x'|aliases/);
    refused(`${HEAD}steps:\n  - &s fault: 0\n  - *s\n`, /anchors|aliases/);
    refused(`${HEAD}steps: []\n<<: { name: u }\n`, /unknown key '<<'/);
  });

  it('__proto__ and other inherited names are plain names or unknown keys; nothing is polluted', () => {
    refused(`${HEAD}__proto__: { polluted: 1 }\nsteps: []\n`, /unknown key '__proto__'/);
    refused(steps('  - __proto__: {}\n'), /unknown operation '__proto__'/);
    refused(steps('  - mmap: { __proto__: { start: 0 }, length: 4K }\n'), /unknown key '__proto__'/);
    refused(steps('  - walk: 0\n    expect: { __proto__: 1 }\n'), /unknown key '__proto__'/);
    refused(steps('  - walk: 0\n    expect: { hasOwnProperty: 1 }\n'), /unknown key 'hasOwnProperty'/);
    refused(steps('  - walk: 0\n    expect: { flags: { __proto__: true } }\n'), /unknown key '__proto__'/);
    refused(steps('  - walk: 0\n    expect: { flags: { constructor: true } }\n'), /unknown key 'constructor'/);
    // as value and result names they are names like any other, kept in Maps
    const sc = parseScenario(`${HEAD}values: { __proto__: 1G, constructor: __proto__ + 4K }\nsteps:\n  - mmap: { start: __proto__, length: 2M }\n  - fault: { at: constructor, write: true }\n  - walk: constructor\n    as: toString\n  - page: constructor\n    expect: { pfn: toString.pfn, mapcount: 1 }\n`, 'f.yaml');
    const r = runScenario(sc, { arch: 'x86_64', variant: '4level', kernel: 'v6.12' });
    expect(r.status).toBe('pass');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'base')).toBe(false);
  });

  it('non-string keys and tags', () => {
    refused(`${HEAD}1: x\nsteps: []\n`, /keys must be plain names, not bigint 1/, [3, 1]);
    refused(`${HEAD}true: x\nsteps: []\n`, /keys must be plain names, not boolean true/);
    refused(`${HEAD}null: x\nsteps: []\n`, /keys must be plain names, not null/);
    refused(`${HEAD}? [a, b]\n: x\nsteps: []\n`, /keys must be plain names, not a collection/);
    refused(`${HEAD}? { a: 1 }\n: x\nsteps: []\n`, /keys must be plain names, not a collection/);
    refused(steps('  - { 5: 1 }\n'), /keys must be plain names/);
    refused(`${HEAD}values: { 7: 1 }\nsteps: []\n`, /values: keys must be plain names/);
    refused(`${HEAD}values: { a: !!binary aGVsbG8= }\nsteps: []\n`, /tag .*binary.* is not supported|YAML/);
    refused(`${HEAD}values: { a: !custom 1 }\nsteps: []\n`, /tag|YAML/);
    refused(`${HEAD}machine: !!set { a, b }\nsteps: []\n`, /tag|YAML/);
  });

  it('a file larger than the limit', () => {
    refused(`${HEAD}description2: "${'x'.repeat(MAX_FILE_BYTES)}"\nsteps: []\n`, /larger than 256 KiB/, [1, 1]);
  });

  it('a runtime value out of range is the step\'s error naming file:line:col, and the cell fails', () => {
    const sc = parseScenario(`${HEAD}values: { top: 0xffffffffffff0000 }\nsteps:\n  - fault: top + 0x10000\n  - check:\n`, 'f.yaml');
    const r = runScenario(sc, { arch: 'x86_64', variant: '4level', kernel: 'v6.12' });
    expect(r.status).toBe('fail');
    expect(r.steps[0].outcome).toBe('error');
    expect(r.steps[0].message).toMatch(/^f\.yaml:5:5: fault at: top \+ 0x10000 is 0x10000000000000000, not a 64-bit value/);
    expect(r.steps[1].outcome).toBe('not-run');
  });
});

describe('the device-memory steps refuse bad arguments where they stand', () => {
  it('unknown or wrong-kind references, out-of-range sizes, unknown what-ifs and pgmap types, non-boolean flags', () => {
    refused(steps('  - truncate: { file: nope }\n'), /truncate file: 'nope' is not a named result of an earlier step/, [4, 23]);
    refused(steps('  - createMm:\n    as: a\n  - truncate: { file: a }\n'), /file/, [6, 23]);
    refused(steps('  - memremap: { type: fsdax, start: 0x1000000000, size: SECTION_SIZE }\n    as: p\n  - daxFile: { pgmap: p, size: -1 }\n'), /daxFile size: -1 is outside 0\.\.18446744073709551615/, [6, 32]);
    refused(steps('  - memremap: { type: hmm, start: 0x1000000000, size: SECTION_SIZE }\n'), /memremap type: 'hmm' is not one of/);
    refused(`${HEAD}machine: { whatIf: nope }\nsteps:\n  - createMm:\n`, /machine\.whatIf: 'nope' is not one of devmap-less-zone-device/, [3, 20]);
    refused(`${HEAD}machine: { deviceMemmapMiB: 4096 }\nsteps:\n  - createMm:\n`, /deviceMemmapMiB/);
    refused(steps('  - gupFast: { at: 0, pciP2pdma: 3 }\n'), /gupFast pciP2pdma must be true or false/, [4, 34]);
    refused(steps('  - devPage: { pfn: 1 }\n'), /pgmap/);
    refused(steps('  - waiter: { wait: mm }\n'), /wait/);
    refused(steps('  - mmap: { start: 0, length: 4K, kind: p2pdma, pgmap: mm }\n'), /pgmap/);
  });
});
