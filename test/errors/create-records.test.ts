// A field added to assembly/layout.ts is never left 0 by omission: a field of
// a structure the host creates (Header, ArchDesc, LevelDesc, Pred, Ctx, Mm)
// is in the generated record, so src/host/plan.ts fails to compile until it
// writes it, unless layout.ts tags it `/** @core */` (the core's own, left 0
// at create time). Each case runs the generator (scripts/gen-layout.mjs) on a
// copy of the sources with layout.ts changed.
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
  ])('a new %s field is the host\'s until tagged: plan.ts does not compile until it writes it', (cls, line) => {
    const name = line.split(':')[0];
    const g = generate(addField(cls, line));
    expect(g.stderr).toBe('');
    expect(g.status).toBe(0);
    const errors = planErrors(g.dir);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(new RegExp(`^src/host/plan\\.ts:\\d+ .*Property '${name}' is missing`, 's'));
  }, 60_000);

  it.each([
    ['Header', 'fooSeq: u32;'],
    ['Ctx', 'fooCount: u64;'],
  ])('a new %s field tagged @core is left out of the record, and plan.ts compiles', (cls, line) => {
    const name = line.split(':')[0];
    const g = generate(addField(cls, `/** @core */ ${line}`));
    expect(g.status).toBe(0);
    const rec = readFileSync(join(g.dir, 'src/host/records.gen.ts'), 'utf8');
    expect(rec).not.toContain(`${name}:`);
    expect(rec).toMatch(new RegExp(`${cls}: the fields the host sets at create time \\(\\d+ more, tagged @core`));
    expect(planErrors(g.dir)).toEqual([]);
  }, 60_000);

  it('@core on a structure the host does not create, or another tag on a field, stops the build', () => {
    const onPage = generate((t) => t.replace(/\n {2}last_op: u64;/, '\n  /** @core */ last_op: u64;'));
    expect(onPage.status).not.toBe(0);
    expect(onPage.stderr).toContain("assembly/layout.ts Page: '@core' tags fields of a structure the host creates");
    const other = generate((t) => t.replace(/\n {2}\/\*\* @core \*\/ pgmapSeq: u32;/, '\n  /** @host */ pgmapSeq: u32;'));
    expect(other.status).not.toBe(0);
    expect(other.stderr).toMatch(/assembly\/layout\.ts:\d+:\d+: Header\.pgmapSeq: '@host' is not a field tag/);
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
