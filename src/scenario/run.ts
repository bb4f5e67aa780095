// One scenario on one (arch, variant, kernel): a fresh machine, the steps in
// order, what each did (taken fast / slow, refused with an errno, counts, a
// walk, violations) and whether each expectation held.
import { Machine, PgtemuError, resolve, type Mm } from '../index.js';
import { kernelPrefixes } from '../cli/helpers.js';
import { hex } from '../host/errors.js';
import { evalExpr, U64 } from './expr.js';
import { DEFAULT_MM, type ArgValue, type Cond, type Expectation, type Scenario, type Step } from './parse.js';
import type { Args, Observation, OpContext, Units, Value } from './ops.js';

export interface Cell { arch: string; variant: string; kernel: string }

/** What a cell's machine is, for `requires` and `when`. */
export interface CellFacts extends Cell { model: string; special: boolean; devmap: boolean; leaves: Set<string>; zoneDevice: boolean; thpPud: boolean }

export interface ExpectResult {
  field: string; line: number; col: number;
  expected: string; observed: string; held: boolean;
}

export interface StepResult {
  index: number; line: number; col: number; op: string;
  /** ok; refused (an errno); skipped (requires, or reads a skipped result); not-run (an earlier step failed); error (the scenario could not run it) */
  outcome: 'ok' | 'refused' | 'skipped' | 'not-run' | 'error';
  errno?: string;
  message?: string;
  fields?: Record<string, Value>;
  /** the outcome in a few words: what the diff compares across cells */
  summary: string;
  expectations: ExpectResult[];
}

export interface CellResult extends Cell {
  model?: string; special?: boolean; devmap?: boolean;
  /** pass: every expectation held; fail: one did not (or a step failed unexpectedly); skipped: `requires` does not hold */
  status: 'pass' | 'fail' | 'skipped';
  reason?: string;
  steps: StepResult[];
  failed: number;
}

/** Raw tables (rawEntry) go at the top of the table pool, one slot per level; the allocator hands out its bottom first. */
const RAW_SLOT = 128n * 1024n;

/**
 * Claim pool memory for one raw table per level, from the top of the pool
 * down, past what live tables use (writePhys refuses those with EBUSY).
 */
function claimRaw(m: Machine): bigint {
  const n = BigInt(m.desc.levels.length) * RAW_SLOT;
  const zero = new Uint8Array(Number(n));
  for (let base = BigInt(m.stats().poolBytes) - n; base >= 0n; base -= n) {
    try {
      m.writePhys(base, zero);
      return base;
    } catch (e) {
      if (!(e instanceof PgtemuError) || e.code !== 'EBUSY') throw e;
    }
  }
  throw new PgtemuError('ENOTABLE', `rawEntry: no ${n >> 10n} KiB of the table pool is free of live tables`);
}

/** Whether a condition holds on a cell's machine. */
export function holds(c: Cond, f: CellFacts): boolean {
  const ok = (!c.arch || c.arch.includes(f.arch)) && (!c.variant || c.variant.includes(f.variant))
    && (!c.kernel || c.kernel.includes(f.kernel)) && (!c.model || c.model.includes(f.model))
    && (c.special === undefined || c.special === f.special) && (c.devmap === undefined || c.devmap === f.devmap)
    && (c.zoneDevice === undefined || c.zoneDevice === f.zoneDevice) && (c.thpPud === undefined || c.thpPud === f.thpPud)
    && (!c.leaf || c.leaf.every((l) => f.leaves.has(l)));
  return ok && (!c.not || !holds(c.not, f));
}

/** A condition in words (a skip reason). */
export function describeCond(c: Cond): string {
  const parts: string[] = [];
  for (const k of ['arch', 'variant', 'kernel', 'model', 'leaf'] as const) if (c[k]) parts.push(`${k} ${c[k]!.join('|')}`);
  for (const k of ['special', 'devmap'] as const) if (c[k] !== undefined) parts.push(`${c[k] ? '' : 'no '}${k} bit`);
  if (c.zoneDevice !== undefined) parts.push(`${c.zoneDevice ? '' : 'no '}ZONE_DEVICE`);
  if (c.thpPud !== undefined) parts.push(`${c.thpPud ? '' : 'no '}THP-PUD`);
  if (c.not) parts.push(`not (${describeCond(c.not)})`);
  return parts.join(', ');
}

function factsOf(cell: Cell, sc: Scenario): CellFacts {
  const choice = {
    arch: cell.arch, variant: cell.variant, kernel: cell.kernel, model: sc.machine.model as 'legacy' | undefined, special: sc.machine.special, devmap: sc.machine.devmap,
    whatIf: sc.machine.whatIf as 'devmap-less-zone-device' | undefined,
  };
  let r;
  try { r = resolve(choice); } catch { r = resolve({ arch: cell.arch, variant: cell.variant, kernel: cell.kernel }); }
  const names = kernelPrefixes(r.desc);
  return {
    ...cell, model: r.model, special: r.desc.hasSpecial, devmap: r.desc.hasDevmap, leaves: new Set(r.desc.levels.flatMap((l, i) => (l.leafOk ? [names[i]] : []))),
    zoneDevice: r.era.zoneDevice, thpPud: r.desc.kconfig.thpPud,
  };
}

class SkipStep extends Error {}
class ScenarioFault extends Error {}

const show = (v: Value | undefined): string => {
  if (v === undefined) return 'nothing';
  if (typeof v === 'bigint') return v > 0xffffn ? hex(v) : String(v);
  if (Array.isArray(v)) return `[${v.join(', ')}]`;
  if (typeof v === 'object') return `{ ${Object.entries(v).filter(([, b]) => b).map(([k]) => k).join(' ')} }`;
  return String(v);
};

/** Run one scenario on one cell. Never throws for anything the scenario does; a pgtemu bug still throws. */
export function runScenario(sc: Scenario, cell: Cell): CellResult {
  const facts = factsOf(cell, sc);
  const res: CellResult = { ...cell, model: facts.model, special: facts.special, devmap: facts.devmap, status: 'pass', steps: [], failed: 0 };
  if (sc.requires && !holds(sc.requires, facts)) {
    return { ...res, status: 'skipped', reason: `requires ${describeCond(sc.requires)}` };
  }
  let m: Machine;
  try {
    m = Machine.createSync({
    arch: cell.arch, variant: cell.variant, kernel: cell.kernel, ramMiB: sc.machine.ramMiB ?? 64, tablePoolMiB: sc.machine.tablePoolMiB ?? 8,
    ...(sc.machine.deviceMemmapMiB !== undefined ? { deviceMemmapMiB: sc.machine.deviceMemmapMiB } : {}),
    ...(sc.machine.model ? { model: sc.machine.model as 'legacy' } : {}),
    ...(sc.machine.special !== undefined ? { special: sc.machine.special } : {}),
    ...(sc.machine.devmap !== undefined ? { devmap: sc.machine.devmap } : {}),
    ...(sc.machine.whatIf !== undefined ? { whatIf: sc.machine.whatIf as 'devmap-less-zone-device' } : {}),
    });
  } catch (e) {
    if (!(e instanceof PgtemuError)) throw e;
    return { ...res, status: 'fail', failed: 1, reason: `${sc.file}: machine: ${e.message}` };
  }
  const d = m.desc;
  const names = kernelPrefixes(d);
  // builtins, then the file's values in order
  const env = new Map<string, bigint>([['PAGE_SIZE', 1n << BigInt(d.pageShift)], ['PAGE_SHIFT', BigInt(d.pageShift)], ['SECTION_SIZE', 1n << BigInt(d.sectionSizeBits)], ['SECTION_PAGES', 1n << BigInt(d.sectionSizeBits - d.pageShift)]]);
  d.levels.forEach((l, i) => {
    env.set(`${names[i].toUpperCase()}_SIZE`, 1n << BigInt(l.shift));
    env.set(`${names[i].toUpperCase()}_PAGES`, 1n << BigInt(l.shift - d.pageShift));
    env.set(`${names[i].toUpperCase()}_ORDER`, BigInt(l.shift - d.pageShift));
  });
  // counts and orders by the level whose leaf they are (the largest first), for summaries
  const big = d.levels.map((l, i) => ({ name: names[i].toUpperCase(), order: BigInt(l.shift - d.pageShift) })).filter((x) => x.order > 0n);
  const units: Units = {
    count(n) {
      if (typeof n !== 'bigint') return String(n);
      for (const x of big) {
        const pages = 1n << x.order;
        if (n === pages) return `${x.name}_PAGES`;
        if (n === pages + 1n) return `${x.name}_PAGES+1`;
      }
      return String(n);
    },
    order: (n) => big.find((x) => x.order === n)?.name.concat('_ORDER') ?? String(n),
  };
  const handles = new Map<string, unknown>([[DEFAULT_MM, m.createMm()]]);
  const results = new Map<string, Record<string, Value> | null>([[DEFAULT_MM, {}]]);   // null: skipped
  const lookup = (name: string, field: string | undefined): bigint => {
    if (field === undefined) {
      const v = env.get(name);
      if (v === undefined) throw new ScenarioFault(`${name} is not defined on ${d.arch}/${d.variant} (it has ${names.join(', ')})`);
      return v;
    }
    const r = results.get(name);
    if (r === null) throw new SkipStep(`reads ${name}, which was skipped`);
    const v = r?.[field];
    if (typeof v !== 'bigint') throw new ScenarioFault(`${name}.${field} has no value here (that step reported none)`);
    return v;
  };
  for (const v of sc.values) {
    try { env.set(v.name, evalExpr(v.expr, lookup)); } catch (e) {
      return { ...res, status: 'fail', failed: 1, reason: `${sc.file}:${v.pos.line}:${v.pos.col}: values.${v.name}: ${(e as Error).message}` };
    }
  }
  const ctx: OpContext = {
    m,
    mm: (a) => (a.mm ?? handles.get(DEFAULT_MM)) as Mm,
    level(name) {
      const i = names.indexOf(name) >= 0 ? names.indexOf(name) : d.levels.findIndex((l) => l.name === name);
      if (i < 0) throw new PgtemuError('EINVAL', `${d.arch}/${d.variant} has no level '${name}' (levels: ${d.levels.map((l, j) => `${l.name}${l.name !== names[j] ? ` (${names[j]})` : ''}`).join(', ')})`);
      return i;
    },
    rawTable: (i) => (rawBase ??= claimRaw(m)) + BigInt(i) * RAW_SLOT,
  };
  let rawBase: bigint | undefined;

  let stopped: string | undefined;
  const refusedResults = new Set<string>();
  for (const step of sc.steps) {
    const r: StepResult = { index: step.index, line: step.pos.line, col: step.pos.col, op: step.opName, outcome: 'ok', summary: '', expectations: [] };
    res.steps.push(r);
    if (stopped) { r.outcome = 'not-run'; r.summary = 'not run'; if (step.as) results.set(step.as, null); continue; }
    if (step.requires && !holds(step.requires, facts)) {
      skip(r, `requires ${describeCond(step.requires)}`);
      continue;
    }
    const skipped = step.uses.find((u) => results.get(u) === null);
    if (skipped) { skip(r, `reads ${skipped}, which was ${refusedResults.has(skipped) ? 'refused' : 'skipped'}`); continue; }
    let obs: Observation | undefined;
    try {
      const args = resolveArgs(step, lookup, handles, ctx);
      try {
        obs = step.op.run(ctx, args);
      } catch (e) {
        if (!(e instanceof PgtemuError)) throw e;
        obs = { fields: {}, refused: { errno: e.code, message: e.message } };
      }
    } catch (e) {
      if (e instanceof SkipStep) { skip(r, e.message); continue; }
      if (!(e instanceof ScenarioFault)) throw e;
      r.outcome = 'error';
      r.message = `${sc.file}:${step.pos.line}:${step.pos.col}: ${e.message}`;
      r.summary = `error: ${e.message}`;
      res.failed++;
      stopped = r.message;
      continue;
    }
    r.fields = obs.fields;
    if (obs.refused) {
      r.outcome = 'refused';
      r.errno = obs.refused.errno;
      r.message = obs.refused.message;
      r.summary = `refused ${obs.refused.errno}`;
    } else {
      r.summary = step.op.summary(obs, units);
    }
    if (step.as) {
      // a refused step names nothing: the steps that read it are skipped
      if (obs.refused && obs.handle === undefined) refusedResults.add(step.as);
      results.set(step.as, obs.refused && obs.handle === undefined ? null : obs.fields);
      if (obs.handle !== undefined) handles.set(step.as, obs.handle);
    }
    // expectations: per field, the last entry whose `when` holds
    const eff = new Map<string, Expectation>();
    for (const e of step.expect) if (!e.when || holds(e.when, facts)) for (const x of e.fields) eff.set(x.field, x);
    const errX = eff.get('error');
    const wantErr = errX && errX.value.t === 'error' ? errX.value.errno : null;
    if (errX || obs.refused) {
      const held = (obs.refused?.errno ?? null) === wantErr;
      r.expectations.push({
        field: 'error', line: (errX ?? step).pos.line, col: (errX ?? step).pos.col,
        expected: wantErr ?? 'success', observed: obs.refused ? `${obs.refused.errno} (${obs.refused.message})` : 'success', held,
      });
      if (!held && !errX) stopped = `step ${step.index} refused`;
    }
    if (!obs.refused) {
      for (const [field, x] of eff) {
        if (field === 'error') continue;
        r.expectations.push(compare(x, obs.fields, lookup, r));
      }
    }
    res.failed += r.expectations.filter((x) => !x.held).length;
  }
  if (res.failed) res.status = 'fail';
  return res;

  function skip(r: StepResult, why: string) {
    r.outcome = 'skipped';
    r.message = why;
    r.summary = 'skipped';
    const step = sc.steps[r.index - 1];
    if (step.as) results.set(step.as, null);
  }
}

function resolveArgs(step: Step, lookup: (n: string, f?: string) => bigint, handles: Map<string, unknown>, ctx: OpContext): Args {
  const out: Args = {};
  const specs = step.op.args;
  for (const [k, v] of Object.entries(step.args) as [string, ArgValue][]) {
    const where = `${step.opName} ${k}`;
    switch (v.kind) {
      case 'lit': out[k] = v.value; break;
      case 'ref': out[k] = handles.get(v.name); break;
      case 'level-order': {
        const li = ctx.level(v.level);
        out[k] = ctx.m.desc.levels[li].shift - ctx.m.desc.pageShift;
        break;
      }
      case 'expr': {
        const t = specs[k].type;
        let x: bigint;
        try { x = evalExpr(v.expr, lookup); } catch (e) {
          if (e instanceof ScenarioFault) throw new ScenarioFault(`${where}: ${e.message}`);
          throw e;
        }
        if (t.t === 'int' && (x < BigInt(t.min) || x > BigInt(t.max))) throw new ScenarioFault(`${where}: ${v.expr.src} is ${x}, outside ${t.min}..${t.max}`);
        if (t.t === 'order' && (x < 0n || x > 63n)) throw new ScenarioFault(`${where}: ${v.expr.src} is ${x}, outside 0..63`);
        if (t.t === 'addr' && (x < 0n || x >= U64)) throw new ScenarioFault(`${where}: ${v.expr.src} is ${hex(x)}, not a 64-bit value`);
        out[k] = t.t === 'addr' ? x : Number(x);
        break;
      }
    }
  }
  return out;
}

function compare(x: Expectation, f: Record<string, Value>, lookup: (n: string, f?: string) => bigint, r: StepResult): ExpectResult {
  const base = { field: x.field, line: x.pos.line, col: x.pos.col };
  const v = x.value;
  const got = f[x.field];
  switch (v.t) {
    case 'int': {
      let want: bigint;
      try { want = evalExpr(v.expr, lookup as (n: string, f: string | undefined) => bigint); } catch (e) {
        if (!(e instanceof ScenarioFault || e instanceof SkipStep)) throw e;
        return { ...base, expected: v.expr.src, observed: `cannot evaluate: ${e.message}`, held: false };
      }
      const eq = typeof got === 'bigint' && got === want;
      return { ...base, expected: `${v.not ? 'not ' : ''}${show(want)}${v.expr.terms.some((t) => t.kind === 'name') ? ` (${v.expr.src})` : ''}`, observed: show(got), held: v.not ? !eq : eq };
    }
    case 'bool': case 'str': return { ...base, expected: String(v.v), observed: show(got), held: got === v.v };
    case 'level': return { ...base, expected: v.v, observed: `${show(got)}${f.levelName !== got ? ` (${show(f.levelName)})` : ''}`, held: got === v.v || f.levelName === v.v };
    case 'flags': {
      const fl = (got ?? {}) as Record<string, boolean>;
      const bad = Object.entries(v.v).filter(([k, b]) => !!fl[k] !== b);
      return {
        ...base, expected: Object.entries(v.v).map(([k, b]) => `${b ? '' : '!'}${k}`).join(' '),
        observed: Object.keys(v.v).map((k) => `${fl[k] ? '' : '!'}${k}`).join(' '), held: bad.length === 0,
      };
    }
    case 'names': {
      const g = [...new Set((got ?? []) as string[])].sort();
      const w = [...new Set(v.v)].sort();
      return { ...base, expected: `[${w.join(', ')}]`, observed: `[${g.join(', ')}]`, held: g.join() === w.join() };
    }
    case 'error': return { ...base, expected: String(v.errno), observed: r.errno ?? 'success', held: (r.errno ?? null) === v.errno };
  }
}
