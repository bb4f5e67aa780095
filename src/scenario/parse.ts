// Scenario files: YAML read with the yaml package's Document API, so that
// every node keeps its place, and checked whole before anything runs. A file
// that is not a scenario (YAML syntax, an unknown key, operation or argument,
// a value of the wrong type, a name no earlier value or step defines, a bad
// expression, an anchor, a tag, a non-string key ...) is a PgtemuError
// 'EINVAL' whose message starts `file:line:column:`.
import { parseDocument, LineCounter, isAlias, isMap, isScalar, isSeq, isPair, type Node, type Pair } from 'yaml';
import { archs, KERNELS, PgtemuError } from '../index.js';
import { ExprError, NAME_RE, U64, evalExpr, exprNames, parseExpr, type Expr } from './expr.js';
import { WHAT_IFS } from '../host/presets.js';
import { ERRNOS, LEVEL_KERNEL_NAMES, OPS, type ArgType, type FieldType, type OpSpec, type ResultKind } from './ops.js';

export interface Pos { line: number; col: number }

/** A condition on the machine a cell runs: every key given must hold; a list means any of its values. */
export interface Cond {
  pos: Pos;
  arch?: string[];
  variant?: string[];
  kernel?: string[];
  model?: string[];
  /** the machine has (true) or lacks (false) the special / devmap bit */
  special?: boolean;
  devmap?: boolean;
  /** the preset has ZONE_DEVICE on this arch (mm/Kconfig) */
  zoneDevice?: boolean;
  /** CONFIG_HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD: PUD-sized DAX faults (x86_64, ppc64) */
  thpPud?: boolean;
  /** the variant has a leaf at each of these levels (kernel names: pmd, pud, ...) */
  leaf?: string[];
  not?: Cond;
}

export type ArgValue =
  | { kind: 'expr'; expr: Expr; pos: Pos }
  | { kind: 'lit'; value: boolean | string | string[]; pos: Pos }
  | { kind: 'ref'; name: string; pos: Pos }
  | { kind: 'level-order'; level: string; pos: Pos };

export type ExpectValue =
  | { t: 'error'; errno: string | null }
  | { t: 'int'; expr: Expr; not: boolean }
  | { t: 'bool'; v: boolean }
  | { t: 'str'; v: string }
  | { t: 'level'; v: string }
  | { t: 'flags'; v: Record<string, boolean> }
  | { t: 'names'; v: string[] };

export interface Expectation { field: string; pos: Pos; value: ExpectValue }
export interface ExpectEntry { pos: Pos; when?: Cond; fields: Expectation[] }

export interface Step {
  /** 1-based, in file order (the end-of-file `expect` is a last `check` step) */
  index: number;
  pos: Pos;
  opName: string;
  op: OpSpec;
  args: Record<string, ArgValue>;
  as?: string;
  requires?: Cond;
  expect: ExpectEntry[];
  /** the named results this step reads (a step that reads a skipped one is skipped) */
  uses: string[];
}

export interface MachineSection { ramMiB?: number; tablePoolMiB?: number; deviceMemmapMiB?: number; model?: string; special?: boolean; devmap?: boolean; whatIf?: string }

export interface Scenario {
  file: string;
  name: string;
  description: string;
  machine: MachineSection;
  /** the file runs only on these (the matrix's selection is narrowed to them) */
  pins: { archs?: string[]; variants?: string[]; kernels?: string[] };
  requires?: Cond;
  values: { name: string; expr: Expr; pos: Pos }[];
  steps: Step[];
}

export const MAX_FILE_BYTES = 256 * 1024;
const MAX_STEPS = 1000;
const MAX_LIST = 256;

/** Names every cell defines: PAGE_SIZE, PAGE_SHIFT, and per level (kernel name) X_SIZE, X_PAGES and X_ORDER. */
export const BUILTINS = new Set(['PAGE_SIZE', 'PAGE_SHIFT', 'SECTION_SIZE', 'SECTION_PAGES', ...LEVEL_KERNEL_NAMES.flatMap((l) => ['SIZE', 'PAGES', 'ORDER'].map((x) => `${l.toUpperCase()}_${x}`))]);
/** The default address space's name. */
export const DEFAULT_MM = 'mm';

const ARCH_NAMES = Object.keys(archs);
const VARIANT_NAMES = [...new Set(Object.values(archs).flatMap((a) => Object.keys(a.variants)))];
const KERNEL_NAMES = Object.keys(KERNELS);
const FLAG_KEYS = ['present', 'table', 'leaf', 'write', 'user', 'young', 'dirty', 'special', 'devmap', 'protnone'];
const ALLOWED_TAGS = new Set(['tag:yaml.org,2002:str', 'tag:yaml.org,2002:int', 'tag:yaml.org,2002:bool', 'tag:yaml.org,2002:null',
  'tag:yaml.org,2002:map', 'tag:yaml.org,2002:seq']);

/** Every level name a `level` may be: the kernel's by depth and each arch's own. */
let levelNamesCache: Set<string> | undefined;
function levelNames(): Set<string> {
  if (!levelNamesCache) {
    const s = new Set<string>(LEVEL_KERNEL_NAMES);
    for (const a of Object.values(archs)) for (const v of Object.values(a.variants)) for (const l of v.levels) s.add(l.name);
    levelNamesCache = s;
  }
  return levelNamesCache;
}

const list = (xs: readonly string[]) => xs.join(', ');

/** Parse and check one scenario file; nothing runs. */
export function parseScenario(src: string, file: string): Scenario {
  return new Parser(src, file).scenario();
}

class Parser {
  private readonly lc = new LineCounter();
  /** value names, in order */
  private readonly values = new Set<string>();
  /** named step results: the operation that made each */
  private readonly results = new Map<string, { op: OpSpec; kind: ResultKind }>([[DEFAULT_MM, { op: OPS.createMm, kind: 'mm' }]]);

  constructor(private readonly src: string, private readonly file: string) {}

  private at(pos: Pos, msg: string): never {
    throw new PgtemuError('EINVAL', `${this.file}:${pos.line}:${pos.col}: ${msg}`, { op: 'scenario' });
  }
  private pos(n: Node | Pair | null | undefined): Pos {
    const off = isPair(n) ? (n.key as Node | null)?.range?.[0] : n?.range?.[0];
    return off === undefined ? { line: 1, col: 1 } : this.lc.linePos(off);
  }
  private fail(n: Node | Pair | null | undefined, msg: string): never { return this.at(this.pos(n), msg); }

  scenario(): Scenario {
    if (typeof this.src !== 'string') this.at({ line: 1, col: 1 }, 'not text');
    if (Buffer.byteLength(this.src) > MAX_FILE_BYTES) this.at({ line: 1, col: 1 }, `larger than ${MAX_FILE_BYTES / 1024} KiB`);
    let doc;
    try {
      doc = parseDocument(this.src, {
        lineCounter: this.lc, intAsBigInt: true, uniqueKeys: true, schema: 'core', merge: false, prettyErrors: false,
        strict: true, stringKeys: false,
      });
    } catch (e) {
      // the parser's own recursion on absurd nesting
      this.at({ line: 1, col: 1 }, `not readable as YAML (${e instanceof RangeError ? 'nested too deeply' : (e as Error).message})`);
    }
    // aliases are refused below, node by node, so no alias is ever expanded (toJS is never called)
    const problem = doc.errors[0] ?? doc.warnings[0];
    if (problem) {
      const p = this.lc.linePos(problem.pos[0]);
      this.at(p, `YAML: ${problem.message.split('\n')[0].replace(/ at line \d+, column \d+.*$/, '')}`);
    }
    const root = doc.contents as Node | null;
    if (!isMap(root)) this.fail(root, 'a scenario is a YAML mapping (name, description, machine, steps, ...)');
    const top = this.map(root, 'the scenario', ['name', 'description', 'archs', 'variants', 'kernels', 'machine', 'requires', 'values', 'steps', 'expect'], ['name', 'description', 'steps']);
    const sc: Scenario = {
      file: this.file,
      name: this.str(top.get('name')!.value, 'name'),
      description: this.str(top.get('description')!.value, 'description'),
      machine: top.has('machine') ? this.machine(top.get('machine')!.value) : {},
      pins: {},
      values: [],
      steps: [],
    };
    if (top.has('archs')) sc.pins.archs = this.names(top.get('archs')!.value, 'archs', ARCH_NAMES);
    if (top.has('variants')) sc.pins.variants = this.names(top.get('variants')!.value, 'variants', VARIANT_NAMES);
    if (top.has('kernels')) sc.pins.kernels = this.names(top.get('kernels')!.value, 'kernels', KERNEL_NAMES);
    if (top.has('requires')) sc.requires = this.cond(top.get('requires')!.value, 'requires');
    if (top.has('values')) sc.values = this.valuesSection(top.get('values')!.value);
    const steps = top.get('steps')!.value;
    if (!isSeq(steps)) this.fail(steps, 'steps: a list of operations (- mmap: {...})');
    if (steps.items.length > MAX_STEPS) this.fail(steps, `more than ${MAX_STEPS} steps`);
    steps.items.forEach((s, i) => sc.steps.push(this.step(s as Node, i + 1)));
    const end = top.get('expect');
    if (end) {
      // the end-of-file expectations: a last check of the whole machine
      const pos = this.pos(end.key);
      sc.steps.push({ index: sc.steps.length + 1, pos, opName: 'check', op: OPS.check, args: {}, expect: this.expect(end.value, OPS.check), uses: [] });
    }
    return sc;
  }

  // ---------------------------------------------------------------- nodes
  /** A mapping's entries by key; refuses non-string, unknown and missing keys, anchors and tags. */
  private map(n: Node | null, what: string, allowed: readonly string[], required: readonly string[] = []): Map<string, { key: Node; value: Node | null }> {
    this.plain(n);
    if (!isMap(n)) this.fail(n, `${what} must be a mapping${allowed.length ? ` (keys: ${list(allowed)})` : ''}`);
    const out = new Map<string, { key: Node; value: Node | null }>();
    for (const p of n.items) {
      const k = p.key as Node | null;
      this.plain(k);
      if (!isScalar(k) || typeof k.value !== 'string') this.fail(k ?? n, `${what}: keys must be plain names, not ${k === null ? 'empty' : isScalar(k) ? `${k.value === null ? 'null' : typeof k.value} ${String(k.value)}` : 'a collection'}`);
      const key = k.value;
      if (!allowed.includes(key)) this.fail(k, `${what}: unknown key '${key.slice(0, 64)}' (keys: ${list(allowed)})`);
      out.set(key, { key: k, value: p.value as Node | null });
    }
    for (const r of required) if (!out.has(r)) this.fail(n, `${what}: '${r}' is missing`);
    return out;
  }

  /** Anchors, aliases and explicit tags have no place in a scenario. */
  private plain(n: Node | null | undefined): void {
    if (!n) return;
    if (isAlias(n)) this.fail(n, `aliases (*${n.source}) are not supported: write the value out`);
    if (n.anchor) this.fail(n, `anchors (&${n.anchor}) are not supported: write the value out`);
    if (n.tag && !ALLOWED_TAGS.has(n.tag)) this.fail(n, `the tag ${n.tag} is not supported`);
  }

  private str(n: Node | null, what: string, max = 4096): string {
    this.plain(n);
    if (!isScalar(n) || typeof n.value !== 'string') this.fail(n, `${what} must be a string`);
    if (n.value.length > max) this.fail(n, `${what} is longer than ${max} characters`);
    return n.value;
  }

  private bool(n: Node | null, what: string): boolean {
    this.plain(n);
    if (!isScalar(n) || typeof n.value !== 'boolean') this.fail(n, `${what} must be true or false`);
    return n.value;
  }

  private smallInt(n: Node | null, what: string, min: number, max: number): number {
    this.plain(n);
    if (!isScalar(n) || typeof n.value !== 'bigint' || n.value < BigInt(min) || n.value > BigInt(max)) this.fail(n, `${what} must be an integer in ${min}..${max}`);
    return Number(n.value);
  }

  /** A name or a list of names, each one of `valid` (undefined: any identifier). */
  private names(n: Node | null, what: string, valid?: readonly string[]): string[] {
    this.plain(n);
    const items = isSeq(n) ? n.items as Node[] : [n];
    if (isSeq(n) && (items.length === 0 || items.length > MAX_LIST)) this.fail(n, `${what}: a list of 1..${MAX_LIST} names`);
    return items.map((x) => {
      const s = this.str(x, what, 64);
      // (a listed name may hold '-': invariant names such as dev-idle)
      if (valid ? !valid.includes(s) : !/^[A-Za-z_][A-Za-z0-9_-]*$/.test(s)) this.fail(x, `${what}: '${s}' is not ${valid ? `one of ${list(valid)}` : 'a name'}`);
      return s;
    });
  }

  /** One name of `valid`. */
  private one(n: Node | null, what: string, valid: readonly string[]): string {
    const s = this.str(n, what, 64);
    if (!valid.includes(s)) this.fail(n, `${what}: '${s}' is not one of ${list(valid)}`);
    return s;
  }

  // ---------------------------------------------------------------- sections
  private machine(n: Node | null): MachineSection {
    const m = this.map(n, 'machine', ['ramMiB', 'tablePoolMiB', 'deviceMemmapMiB', 'model', 'special', 'devmap', 'whatIf']);
    const out: MachineSection = {};
    if (m.has('ramMiB')) out.ramMiB = this.smallInt(m.get('ramMiB')!.value, 'machine.ramMiB', 1, 1 << 20);
    if (m.has('tablePoolMiB')) out.tablePoolMiB = this.smallInt(m.get('tablePoolMiB')!.value, 'machine.tablePoolMiB', 1, 4096);
    if (m.has('deviceMemmapMiB')) out.deviceMemmapMiB = this.smallInt(m.get('deviceMemmapMiB')!.value, 'machine.deviceMemmapMiB', 0, 3072);
    if (m.has('model')) out.model = this.one(m.get('model')!.value, 'machine.model', ['legacy', 'unified']);
    if (m.has('special')) out.special = this.bool(m.get('special')!.value, 'machine.special');
    if (m.has('devmap')) out.devmap = this.bool(m.get('devmap')!.value, 'machine.devmap');
    if (m.has('whatIf')) out.whatIf = this.one(m.get('whatIf')!.value, 'machine.whatIf', WHAT_IFS);
    return out;
  }

  private cond(n: Node | null, what: string, nested = false): Cond {
    const keys = ['arch', 'variant', 'kernel', 'model', 'special', 'devmap', 'zoneDevice', 'thpPud', 'leaf', ...(nested ? [] : ['not'])];
    const m = this.map(n, what, keys);
    if (m.size === 0) this.fail(n, `${what}: an empty condition (keys: ${list(keys)})`);
    const c: Cond = { pos: this.pos(n) };
    for (const [k, { value }] of m) {
      switch (k) {
        case 'arch': c.arch = this.names(value, `${what}.arch`, ARCH_NAMES); break;
        case 'variant': c.variant = this.names(value, `${what}.variant`, VARIANT_NAMES); break;
        case 'kernel': c.kernel = this.names(value, `${what}.kernel`, KERNEL_NAMES); break;
        case 'model': c.model = this.names(value, `${what}.model`, ['legacy', 'unified']); break;
        case 'leaf': c.leaf = this.names(value, `${what}.leaf`, LEVEL_KERNEL_NAMES); break;
        case 'special': c.special = this.bool(value, `${what}.special`); break;
        case 'devmap': c.devmap = this.bool(value, `${what}.devmap`); break;
        case 'zoneDevice': c.zoneDevice = this.bool(value, `${what}.zoneDevice`); break;
        case 'thpPud': c.thpPud = this.bool(value, `${what}.thpPud`); break;
        case 'not': c.not = this.cond(value, `${what}.not`, true); break;
      }
    }
    return c;
  }

  private valuesSection(n: Node | null): Scenario['values'] {
    this.plain(n);
    if (!isMap(n)) this.fail(n, 'values must be a mapping of names to expressions (base: 0x40000000)');
    const out: Scenario['values'] = [];
    const names = n.items.map((p) => {
      const k = p.key as Node | null;
      this.plain(k);
      if (!isScalar(k) || typeof k.value !== 'string') return this.fail(k ?? n, 'values: keys must be plain names');
      return k.value;
    });
    if (names.length > MAX_LIST) this.fail(n, `more than ${MAX_LIST} values`);
    n.items.forEach((p, i) => {
      const name = names[i];
      const k = p.key as Node;
      if (!NAME_RE.test(name)) this.fail(k, `values: '${name.slice(0, 64)}' is not a name (letters, digits, _)`);
      if (BUILTINS.has(name)) this.fail(k, `values: '${name}' is a builtin (${list([...BUILTINS])})`);
      if (this.values.has(name) || this.results.has(name)) this.fail(k, `values: '${name}' is already defined`);
      const expr = this.expr(p.value as Node | null, `values.${name}`);
      out.push({ name, expr, pos: this.pos(k) });
      this.values.add(name);
    });
    return out;
  }

  // ---------------------------------------------------------------- expressions
  /** An integer or an expression string; names must be defined before this point. */
  private expr(n: Node | null, what: string, range?: [bigint, bigint]): Expr {
    this.plain(n);
    if (!isScalar(n)) this.fail(n, `${what} must be a number or an expression (base + 2M)`);
    let e: Expr;
    if (typeof n.value === 'bigint') {
      e = { src: String(n.value), terms: [{ kind: 'num', sign: n.value < 0n ? -1n : 1n, value: n.value < 0n ? -n.value : n.value, col: 0 }] };
      if (n.value >= U64 || n.value <= -U64) this.fail(n, `${what}: ${n.source ?? n.value} does not fit in 64 bits`);
    } else if (typeof n.value === 'string') {
      try {
        e = parseExpr(n.value);
      } catch (x) {
        if (!(x instanceof ExprError)) throw x;
        const p = this.pos(n);
        const quoted = n.type === 'QUOTE_DOUBLE' || n.type === 'QUOTE_SINGLE' ? 1 : 0;
        this.at({ line: p.line, col: p.col + quoted + x.col }, `${what}: ${x.message}`);
      }
    } else {
      this.fail(n, `${what} must be an integer or an expression, not ${typeof n.value === 'number' ? `the non-integer ${n.source ?? n.value}` : String(n.value)}`);
    }
    for (const t of exprNames(e)) {
      const where = () => { const p = this.pos(n); return { line: p.line, col: p.col + t.col + (n.type === 'QUOTE_DOUBLE' || n.type === 'QUOTE_SINGLE' ? 1 : 0) }; };
      if (t.field !== undefined) {
        const r = this.results.get(t.name);
        if (!r) this.at(where(), `${what}: '${t.name}' is not a named result of an earlier step (as: ${t.name})`);
        const ft = r.op.fields[t.field];
        if (ft !== 'int') {
          const ints = Object.entries(r.op.fields).filter(([, v]) => v === 'int').map(([k]) => k);
          this.at(where(), `${what}: '${t.name}' has no number '${t.field}' (${ints.length ? `fields: ${list(ints)}` : 'it has no number fields'})`);
        }
      } else if (!this.values.has(t.name) && !BUILTINS.has(t.name)) {
        const hint = this.results.has(t.name) ? ` (it is a step result: write ${t.name}.field)` : '';
        this.at(where(), `${what}: unknown name '${t.name}'${hint} (values: ${list([...this.values]) || 'none'}; builtins: ${list([...BUILTINS])})`);
      }
    }
    if (range && exprNames(e).length === 0) {
      const v = evalExpr(e, () => 0n);
      if (v < range[0] || v > range[1]) this.fail(n, `${what}: ${e.src} is outside ${range[0]}..${range[1]}`);
    }
    return e;
  }

  // ---------------------------------------------------------------- steps
  private step(n: Node, index: number): Step {
    this.plain(n);
    if (!isMap(n)) this.fail(n, `step ${index}: a mapping with one operation (${list(Object.keys(OPS))})`);
    const extra = ['as', 'expect', 'requires', 'note'];
    const opKeys: Pair[] = [];
    for (const p of n.items) {
      const k = p.key as Node | null;
      this.plain(k);
      if (!isScalar(k) || typeof k.value !== 'string') this.fail(k ?? n, `step ${index}: keys must be plain names`);
      if (!extra.includes(k.value)) opKeys.push(p as Pair);
    }
    if (opKeys.length !== 1) {
      this.fail(opKeys[1] ?? n, opKeys.length ? `step ${index}: one operation per step (found ${opKeys.map((p) => String((p.key as { value: unknown }).value)).join(', ')})`
        : `step ${index}: no operation (operations: ${list(Object.keys(OPS))})`);
    }
    const opName = String((opKeys[0].key as { value: unknown }).value);
    if (!Object.hasOwn(OPS, opName)) this.fail(opKeys[0], `step ${index}: unknown operation '${opName.slice(0, 64)}' (operations: ${list(Object.keys(OPS))})`);
    const op = OPS[opName];
    const m = this.map(n, `step ${index} (${opName})`, [opName, ...extra]);
    const step: Step = { index, pos: this.pos(opKeys[0]), opName, op, args: {}, expect: [], uses: [] };
    if (m.has('requires')) step.requires = this.cond(m.get('requires')!.value, `step ${index} requires`);
    this.args(step, m.get(opName)!.value);
    if (m.has('expect')) step.expect = this.expect(m.get('expect')!.value, op, `step ${index} (${opName})`);
    if (m.has('note')) this.str(m.get('note')!.value, 'note');
    if (m.has('as')) {
      const a = m.get('as')!;
      const name = this.str(a.value, 'as', 64);
      if (!NAME_RE.test(name)) this.fail(a.value, `as: '${name}' is not a name`);
      if (this.results.has(name) || this.values.has(name) || BUILTINS.has(name)) this.fail(a.value, `as: '${name}' is already defined`);
      this.results.set(name, { op, kind: op.kind });
      step.as = name;
    }
    return step;
  }

  private args(step: Step, n: Node | null): void {
    const op = step.op;
    const what = `${step.opName}`;
    const specs: Record<string, { type: ArgType; required?: boolean }> = { ...op.args, ...(op.mm ? { mm: { type: { t: 'ref', kind: 'mm' } } } : {}) };
    this.plain(n);
    let entries: [string, Node | null, Node | null][];
    if (n === null || (isScalar(n) && n.value === null)) entries = [];
    else if (isMap(n)) entries = [...this.map(n, `${what} arguments`, Object.keys(specs))].map(([k, v]) => [k, v.key, v.value]);
    else if (op.primary) entries = [[op.primary, n, n]];
    else return this.fail(n, `${what} takes ${Object.keys(specs).length ? `a mapping of arguments (${list(Object.keys(specs))})` : 'no arguments'}`);
    for (const [k, keyNode, v] of entries) step.args[k] = this.arg(specs[k].type, v ?? keyNode, `${what} ${k}`, step, v === null);
    for (const [k, s] of Object.entries(specs)) if (s.required && !(k in step.args)) this.fail(n, `${what}: '${k}' is missing`);
  }

  private arg(t: ArgType, n: Node | null, what: string, step: Step, empty: boolean): ArgValue {
    if (empty) this.fail(n, `${what}: no value`);
    const pos = this.pos(n);
    switch (t.t) {
      case 'addr': case 'int': {
        const expr = this.expr(n, what, t.t === 'addr' ? [0n, U64 - 1n] : [BigInt(t.min), BigInt(t.max)]);
        for (const x of exprNames(expr)) if (x.field !== undefined) step.uses.push(x.name);
        return { kind: 'expr', expr, pos };
      }
      case 'bool': return { kind: 'lit', value: this.bool(n, what), pos };
      case 'enum': return { kind: 'lit', value: this.one(n, what, t.values), pos };
      case 'level': return { kind: 'lit', value: this.one(n, what, [...levelNames()]), pos };
      case 'names': {
        this.plain(n);
        if (!isSeq(n)) this.fail(n, `${what}: a list of names ([DIRTY, WRITE])`);
        return { kind: 'lit', value: n.items.length ? this.names(n, what) : [], pos };
      }
      case 'order': {
        this.plain(n);
        if (isScalar(n) && typeof n.value === 'string' && /^[a-z]/.test(n.value)) return { kind: 'level-order', level: this.one(n, what, LEVEL_KERNEL_NAMES), pos };
        return { kind: 'expr', expr: this.expr(n, what, [0n, 63n]), pos };
      }
      case 'ref': {
        const name = this.str(n, what, 64);
        const r = this.results.get(name);
        if (!r) this.fail(n, `${what}: '${name}' is not a named result of an earlier step${t.kind === 'mm' ? ` (the first address space is '${DEFAULT_MM}'; createMm makes more)` : ''}`);
        if (r.kind !== t.kind) this.fail(n, `${what}: '${name}' is a ${r.kind === 'value' ? 'result' : r.kind} result, not a ${t.kind} result`);
        step.uses.push(name);
        return { kind: 'ref', name, pos };
      }
    }
  }

  private expect(n: Node | null, op: OpSpec, what = 'expect'): ExpectEntry[] {
    this.plain(n);
    const items = isSeq(n) ? n.items as (Node | null)[] : [n];
    if (isSeq(n) && (items.length === 0 || items.length > MAX_LIST)) this.fail(n, `${what} expect: a list of 1..${MAX_LIST} entries`);
    return items.map((x) => this.expectEntry(x, op, what));
  }

  private expectEntry(n: Node | null, op: OpSpec, what: string): ExpectEntry {
    const fields: Record<string, FieldType | 'error'> = { error: 'error', ...op.fields };
    const m = this.map(n, `${what} expect`, [...Object.keys(fields), 'when', 'note']);
    const e: ExpectEntry = { pos: this.pos(n), fields: [] };
    for (const [k, { key, value }] of m) {
      if (k === 'when') { e.when = this.cond(value, `${what} expect.when`); continue; }
      if (k === 'note') { this.str(value, `${what} expect.note`); continue; }
      e.fields.push({ field: k, pos: this.pos(key), value: this.expectValue(fields[k], value, `${what} expect.${k}`) });
    }
    if (!e.fields.length) this.fail(n, `${what} expect: nothing expected (fields: ${list(['error', ...Object.keys(op.fields)])})`);
    return e;
  }

  private expectValue(t: FieldType | 'error', n: Node | null, what: string): ExpectValue {
    if (t === 'error') {
      const v = this.one(n, what, [...ERRNOS, 'none']);
      return { t: 'error', errno: v === 'none' ? null : v };
    }
    if (t === 'int') {
      if (isMap(n)) {
        const m = this.map(n, what, ['not'], ['not']);
        return { t: 'int', expr: this.expr(m.get('not')!.value, `${what}.not`), not: true };
      }
      return { t: 'int', expr: this.expr(n, what), not: false };
    }
    if (t === 'bool') return { t: 'bool', v: this.bool(n, what) };
    if (t === 'level') return { t: 'level', v: this.one(n, what, [...levelNames()]) };
    if (t === 'names') {
      this.plain(n);
      if (!isSeq(n)) this.fail(n, `${what}: a list of names ([] for none)`);
      return { t: 'names', v: n.items.length ? this.names(n, what) : [] };
    }
    if (t === 'flags') {
      const m = this.map(n, what, FLAG_KEYS);
      const v: Record<string, boolean> = {};
      for (const [k, { value }] of m) v[k] = this.bool(value, `${what}.${k}`);
      return { t: 'flags', v };
    }
    return { t: 'str', v: this.one(n, what, t.enum) };
  }
}
