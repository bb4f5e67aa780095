// Generates, from the @unmanaged classes of assembly/layout.ts (the one
// definition of every shared structure) and assembly/abi.ts (the one
// definition of every operation's input and output record):
//   assembly/offsets.gen.ts   `export const Class_field: u32 = offsetof<Class>("field")`
//   src/host/fields.gen.ts    each field's type, so the host knows its width
//   src/host/abi.gen.ts       per operation: its records as TypeScript
//                             interfaces, a writer for its input and a view
//                             of its output (src/host/core.ts Core.call)
//   src/host/records.gen.ts   per structure the host writes when it creates a
//                             machine (CREATE below): an interface of the
//                             fields it writes and their writer (src/host/plan.ts)
// The offsets themselves are computed by the AssemblyScript compiler and read
// by the host from the instance's exports: no offset is written down twice.
//
// Both files are parsed with the TypeScript compiler, not matched line by line:
// every member of an @unmanaged class must be a plain field of a fixed-width
// type (u8 u16 u32 u64 i32 i64), several to a line if need be; anything else
// (a method, an initialiser, an unknown type, a class without @unmanaged
// among the exported structures) stops the build with the file and line.
// Padding, a field named `_pad*` or `_<something>Pad`, keeps its place but is
// not exported.
// In abi.ts every class is a record named `<Something>In` or `<Something>Out`
// whose JSDoc `@op name ...` lists the exports that read or write it; an
// export has at most one of each.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));
const WIDTHS = new Set(['u8', 'u16', 'u32', 'u64', 'i32', 'i64']);

function parse(file) {
  const text = readFileSync(root + file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const fail = (node, what) => {
    const { line, character } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
    throw new Error(`gen-layout: ${file}:${line + 1}:${character + 1}: ${what}`);
  };
  const classes = {};
  const ops = {};
  const notes = {};
  const core = {};      // class -> fields tagged @core (left 0 by the host at create time)
  for (const st of sf.statements) {
    if (!ts.isClassDeclaration(st)) continue;
    const name = st.name?.text;
    const decorators = ts.getDecorators?.(st) ?? [];
    const unmanaged = decorators.some((d) => d.expression.getText(sf) === 'unmanaged');
    const exported = st.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
    if (!unmanaged || !exported) fail(st, `class ${name} must be '@unmanaged export class' to describe shared memory`);
    if (classes[name]) fail(st, `class ${name} is defined twice`);
    const fields = {};
    for (const m of st.members) {
      if (!ts.isPropertyDeclaration(m)) fail(m, `${name}: only plain fields may describe shared memory (found ${ts.SyntaxKind[m.kind]})`);
      const f = m.name.getText(sf);
      if (m.initializer) fail(m, `${name}.${f}: a shared-memory field has no initialiser`);
      if (m.modifiers?.length) fail(m, `${name}.${f}: no modifiers on a shared-memory field`);
      const t = m.type?.getText(sf);
      if (!WIDTHS.has(t)) fail(m, `${name}.${f}: type '${t}' is not one of ${[...WIDTHS].join(' ')}`);
      if (Object.hasOwn(fields, f)) fail(m, `${name}.${f} is declared twice`);
      if (f === 'status' && file.endsWith('abi.ts')) fail(m, `${name}.status: 'status' is the name of every operation's returned status`);
      if (/^_(?!pad)/.test(f) && file.endsWith('abi.ts')) fail(m, `${name}.${f}: a record's field names do not start with '_' (but _pad*)`);
      fields[f] = t;
      for (const tag of ts.getJSDocTags(m)) {
        if (tag.tagName.text !== 'core' || file.endsWith('abi.ts')) fail(m, `${name}.${f}: '@${tag.tagName.text}' is not a field tag (a field of a structure the host creates may be '@core')`);
        (core[name] ??= []).push(f);
      }
      const note = ts.getTrailingCommentRanges(text, m.end)?.[0];
      if (note && note.kind === ts.SyntaxKind.SingleLineCommentTrivia) notes[`${name}.${f}`] = text.slice(note.pos + 2, note.end).trim();
    }
    if (Object.keys(fields).length === 0) fail(st, `class ${name} has no fields`);
    classes[name] = fields;
    const tags = ts.getJSDocTags(st).filter((t) => t.tagName.text === 'op');
    if (file.endsWith('abi.ts')) {
      const dir = name.endsWith('In') ? 'in' : name.endsWith('Out') ? 'out' : fail(st, `record ${name}: its name must end in In or Out`);
      if (tags.length !== 1) fail(st, `record ${name}: one JSDoc '@op name ...' naming the exports that use it`);
      const names = String(ts.getTextOfJSDocComment(tags[0].comment) ?? '').trim().split(/\s+/).filter(Boolean);
      if (names.length === 0) fail(st, `record ${name}: '@op' names no export`);
      for (const op of names) {
        if (!/^[a-z][A-Za-z]*$/.test(op)) fail(st, `record ${name}: '${op}' is not an export name`);
        ops[op] ??= {};
        if (ops[op][dir]) fail(st, `${op} has two ${dir === 'in' ? 'input' : 'output'} records: ${ops[op][dir]} and ${name}`);
        ops[op][dir] = name;
      }
    } else if (tags.length) fail(st, `class ${name}: '@op' belongs to records in assembly/abi.ts`);
  }
  return { classes, ops, notes, core };
}

const layout = parse('assembly/layout.ts');
const abi = parse('assembly/abi.ts');
for (const need of ['Header', 'ArchDesc', 'LevelDesc', 'Pred', 'Ctx', 'Mm', 'Vma', 'Page', 'PoolUnit', 'OpRec', 'Violation']) {
  if (!layout.classes[need]) throw new Error(`gen-layout: assembly/layout.ts defines no class ${need}`);
}
for (const c of Object.keys(abi.classes)) {
  if (layout.classes[c]) throw new Error(`gen-layout: class ${c} is defined in both assembly/layout.ts and assembly/abi.ts`);
}
const classes = { ...layout.classes, ...abi.classes };

const isPad = (f) => /^_pad|^_[a-z][A-Za-z0-9]*Pad$/.test(f);
const exportedFields = (fields) => Object.keys(fields).filter((f) => !isPad(f));
const head = '// Generated by scripts/gen-layout.mjs from assembly/layout.ts and assembly/abi.ts. Do not edit.\n';
let as = head;
as += `import { ${Object.keys(layout.classes).join(', ')} } from './layout';\n`;
as += `import { ${Object.keys(abi.classes).join(', ')} } from './abi';\n`;
for (const [c, fields] of Object.entries(classes)) {
  for (const f of exportedFields(fields)) as += `export const ${c}_${f}: u32 = offsetof<${c}>("${f}");\n`;
  as += `export const ${c}__size: u32 = offsetof<${c}>();\n`;
}
writeFileSync(root + 'assembly/offsets.gen.ts', as);
const visible = Object.fromEntries(Object.entries(classes).map(([c, fields]) =>
  [c, Object.fromEntries(exportedFields(fields).map((f) => [f, fields[f]]))]));
writeFileSync(root + 'src/host/fields.gen.ts', head +
  `export const FIELDS = ${JSON.stringify(visible, null, 2)} as const;\n` +
  `/** The operation records (assembly/abi.ts): each must fit in Ctx's CTX_REC_SIZE bytes. */\n` +
  `export const RECORDS = ${JSON.stringify(Object.keys(abi.classes))} as const;\n`);

// ---------------------------------------------------------------- src/host/abi.gen.ts
const big = (t) => t === 'u64' || t === 'i64';
const set = { u8: 'setUint8', u16: 'setUint16', u32: 'setUint32', i32: 'setInt32', u64: 'setBigUint64', i64: 'setBigInt64' };
const get = { u8: 'getUint8', u16: 'getUint16', u32: 'getUint32', i32: 'getInt32', u64: 'getBigUint64', i64: 'getBigInt64' };
// A record the host writes: the interface of fields `fs` of a class and its
// writer, `name(dv, at, offsets, value)`; `notes` (field -> text) become the
// fields' JSDoc.
const writerPrelude =
  'type Off<C extends string> = { readonly [F in C]: number };\n' +
  '/** A u64 input: a bigint, or a number that is a safe integer. */\n' +
  'const u64 = (v: bigint | number): bigint => (typeof v === \'bigint\' ? v : BigInt(v));\n\n';
function writer(iface, name, fields, fs, notes = {}, exported = false) {
  let w = `export interface ${iface} {\n`;
  for (const f of fs) w += `${notes[f] ? `  /** ${notes[f].replace(/\*\//g, '* /')} */\n` : ''}  ${f}: ${big(fields[f]) ? 'bigint | number' : 'number'};\n`;
  w += '}\n';
  w += `${exported ? 'export ' : ''}function ${name}(dv: DataView, at: number, o: Off<${fs.map((f) => `'${f}'`).join(' | ')}>, v: ${iface}): void {\n`;
  for (const f of fs) {
    const t = fields[f];
    w += `  dv.${set[t]}(at + o.${f}, ${big(t) ? `u64(v.${f})` : `v.${f}`}${t === 'u8' ? '' : ', true'});\n`;
  }
  return w + '}\n';
}

let h = head;
h += '// The host side of the core\'s operations: src/host/core.ts Core.call() uses these.\n';
h += writerPrelude;
for (const [c, fields] of Object.entries(abi.classes)) {
  const fs = exportedFields(fields);
  const input = c.endsWith('In');
  h += `/** assembly/abi.ts ${c} (${Object.entries(abi.ops).filter(([, r]) => r.in === c || r.out === c).map(([o]) => o).join(', ')}) */\n`;
  if (input) {
    h += writer(c, `write${c}`, fields, fs) + '\n';
  } else {
    h += `export interface ${c} {\n  /** the operation's status: OK (0) or E_* */\n  readonly status: number;\n${fs.map((f) => `  readonly ${f}: ${big(fields[f]) ? 'bigint' : 'number'};\n`).join('')}}\n`;
    h += `class ${c}View implements ${c} {\n  status = 0;\n`;
    h += `  constructor(private readonly _dv: DataView, private readonly _at: number, private readonly _o: Off<${fs.map((f) => `'${f}'`).join(' | ')}>) {}\n`;
    for (const f of fs) {
      const t = fields[f];
      h += `  get ${f}(): ${big(t) ? 'bigint' : 'number'} { return this._dv.${get[t]}(this._at + this._o.${f}${t === 'u8' ? '' : ', true'}); }\n`;
    }
    h += '}\n\n';
  }
}
h += '/** An operation with no output record answers its status only. */\n';
h += 'export interface StatusOut { readonly status: number }\nclass StatusOutView implements StatusOut { status = 0; }\n\n';
const opNames = Object.keys(abi.ops).sort();
h += '/** Each operation\'s input (void: none) and output record. */\n';
h += 'export interface OpRecords {\n';
for (const op of opNames) h += `  ${op}: { in: ${abi.ops[op].in ?? 'void'}; out: ${abi.ops[op].out ?? 'StatusOut'} };\n`;
h += '}\nexport type OpName = keyof OpRecords;\n\n';
h += '/** What Core.call needs per operation: a writer of its input, and its output view (one per context, reused). */\n';
h += 'export interface OpPlan { write?: (dv: DataView, at: number, o: never, v: never) => void; inRec?: string; out: { status: number } }\n';
h += 'export const OPS = {\n';
for (const op of opNames) {
  const r = abi.ops[op];
  h += `  ${op}: { in: ${r.in ? `'${r.in}'` : 'undefined'}, out: ${r.out ? `'${r.out}'` : 'undefined'} },\n`;
}
h += '} as const;\n\n';
h += '/** The plans of one context: inputs written at `inAt`, outputs read at `outAt`; offsets by record and field. */\n';
h += 'export function opPlans(dv: DataView, inAt: number, outAt: number, off: Readonly<Record<string, Readonly<Record<string, number>>>>): { [K in OpName]: OpPlan } {\n';
h += '  return {\n';
for (const op of opNames) {
  const r = abi.ops[op];
  const w = r.in ? `write: write${r.in} as OpPlan['write'], inRec: '${r.in}', ` : '';
  const out = r.out ? `new ${r.out}View(dv, outAt, off.${r.out} as never)` : 'new StatusOutView()';
  h += `    ${op}: { ${w}out: ${out} },\n`;
}
h += '  };\n}\n';
writeFileSync(root + 'src/host/abi.gen.ts', h);

// ---------------------------------------------------------------- src/host/records.gen.ts
// What the host writes into shared memory when it creates a machine
// (src/host/plan.ts), by structure: every field but those assembly/layout.ts
// tags `/** @core */` (the core's locks, counters, statistics and what
// machineInit or later operations set; an arena's `*Next` cursor starts where
// the host puts it, so it is the host's). A field added to layout.ts is
// therefore the host's until it is tagged: plan.ts does not compile until it
// writes it, so nothing is left 0 by omission.
const CREATE = ['Header', 'ArchDesc', 'LevelDesc', 'Pred', 'Ctx', 'Mm'];
for (const c of Object.keys(layout.core)) {
  if (!CREATE.includes(c)) throw new Error(`gen-layout: assembly/layout.ts ${c}: '@core' tags fields of a structure the host creates (${CREATE.join(', ')}); ${c} is not one`);
}
let r = head.replace('from assembly/layout.ts and assembly/abi.ts', 'from assembly/layout.ts');
r += '// What the host writes into shared memory when it creates a machine: one\n';
r += '// interface per structure (every field the host must write: all but those\n';
r += '// layout.ts tags @core) and its writer (src/host/plan.ts).\n';
r += writerPrelude;
for (const c of CREATE) {
  const fields = layout.classes[c];
  const zero = layout.core[c] ?? [];
  const fs = exportedFields(fields).filter((f) => !zero.includes(f));
  const notes = Object.fromEntries(fs.filter((f) => layout.notes[`${c}.${f}`]).map((f) => [f, layout.notes[`${c}.${f}`]]));
  const iface = `${c}Init`;
  r += `/** assembly/layout.ts ${c}${zero.length === 0 ? ', every field' : `: the fields the host sets at create time (${zero.length} more, tagged @core, are the core's)`} */\n`;
  r += writer(iface, `write${iface}`, fields, fs, notes, true) + '\n';
}
writeFileSync(root + 'src/host/records.gen.ts', r);
