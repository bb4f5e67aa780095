// A field added to assembly/layout.ts is never left 0 by omission: the
// generator (scripts/gen-layout.mjs) refuses a Header, Ctx or Mm field it
// does not know to be host-written or left zero at create time, and a field of
// a structure the host writes whole (LevelDesc) makes src/host/plan.ts fail to
// compile until it is written. Each case runs the generator on a copy of the
// sources with layout.ts changed.
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

const root = new URL('../..', import.meta.url).pathname;
const made: string[] = [];
afterAll(() => { for (const d of made) rmSync(d, { recursive: true, force: true }); });

/** A copy of the generator's inputs, src/ and package.json (ES modules), layout.ts changed by `edit`; the generator's exit and output. */
function generate(edit: (layout: string) => string): { dir: string; status: number | null; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'pgtemu-gen-'));
  made.push(dir);
  for (const p of ['package.json', 'scripts/gen-layout.mjs', 'assembly/abi.ts', 'src']) cpSync(join(root, p), join(dir, p), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  writeFileSync(join(dir, 'assembly/layout.ts'), edit(readFileSync(join(root, 'assembly/layout.ts'), 'utf8')));
  const r = spawnSync(process.execPath, [join(dir, 'scripts/gen-layout.mjs')], { encoding: 'utf8' });
  return { dir, status: r.status, stderr: r.stderr };
}

/** layout.ts with `line` added as the last field of class `cls`. */
const addField = (cls: string, line: string) => (text: string): string => {
  const at = text.indexOf(`@unmanaged export class ${cls} {`);
  expect(at).toBeGreaterThanOrEqual(0);
  const end = text.indexOf('\n}', at);
  return `${text.slice(0, end)}\n  ${line}${text.slice(end)}`;
};

/** The compiler's errors for src/host/plan.ts (and what it imports) in `dir`. */
function planErrors(dir: string): string[] {
  const program = ts.createProgram([join(dir, 'src/host/plan.ts')], {
    strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
    skipLibCheck: true, noEmit: true, types: ['node'],
  });
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file ? `${d.file.fileName.slice(dir.length + 1)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}` : '';
    return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

describe('create-time records (scripts/gen-layout.mjs, src/host/records.gen.ts)', () => {
  it('the unchanged sources generate the records the build has, and plan.ts compiles', () => {
    const g = generate((t) => t);
    expect(g.stderr).toBe('');
    expect(g.status).toBe(0);
    expect(readFileSync(join(g.dir, 'src/host/records.gen.ts'), 'utf8')).toBe(readFileSync(join(root, 'src/host/records.gen.ts'), 'utf8'));
    expect(planErrors(g.dir)).toEqual([]);
  }, 60_000);

  it.each([
    ['Header', 'fooSeq: u32;'],
    ['Ctx', 'fooCount: u64;'],
    ['Mm', 'fooFlags: u32;'],
  ])('a %s field neither host-written nor left zero stops the build', (cls, line) => {
    const name = line.split(':')[0];
    const g = generate(addField(cls, line));
    expect(g.status).not.toBe(0);
    expect(g.stderr).toContain(`${cls}.${name}: does the host write it when it creates a machine?`);
    expect(g.stderr).toContain(`CREATE.${cls}.host`);
  }, 60_000);

  it('a listed Header field that layout.ts no longer defines stops the build', () => {
    const g = generate((t) => t.replace(/\n {2}pgmapSeq: u32;[^\n]*/, ''));
    expect(g.status).not.toBe(0);
    expect(g.stderr).toContain('CREATE.Header.zero names Header.pgmapSeq, which assembly/layout.ts does not define');
  }, 60_000);

  it('a LevelDesc field is required of writeDescriptor: plan.ts does not compile until it writes it', () => {
    const g = generate(addField('LevelDesc', 'walkMask: u64;'));
    expect(g.status).toBe(0);
    expect(readFileSync(join(g.dir, 'src/host/records.gen.ts'), 'utf8')).toMatch(/export interface LevelDescInit \{[^}]*\n {2}walkMask: bigint \| number;/);
    const errors = planErrors(g.dir);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^src\/host\/plan\.ts:\d+ .*Property 'walkMask' is missing/s);
  }, 60_000);
});
