// The operation table of the scenario language: every step is one entry of
// OPS, which says what arguments it takes (and their types, checked when the
// file is parsed), what outcome fields it reports (which `expect` may state and
// later expressions may read as `result.field`), the kernel function it stands
// for, and how it runs on a machine through pgtemu's public API. New operations
// (memremap_pages, fsdax / devdax mappings, truncate, a pgmap kill ...) are new
// entries here; the parser, the runner, the matrix and the diff take them as
// they are.
import {
  encodeLeafEntry, encodeTableEntry, PgtemuError, PGMAP_TYPES, type Machine, type Mm, type GupResult, type WalkResult, type Pgmap, type PgmapType,
  type DaxFile, type DaxWait,
} from '../index.js';
import { kernelPrefixes } from '../cli/helpers.js';
import { gupVerdict } from '../cli/pte.js';
import { hex } from '../host/errors.js';

/** What a named result (`as:`) holds, and what a ref argument accepts. */
export type ResultKind = 'mm' | 'gup' | 'pgmap' | 'file' | 'wait' | 'value';

export type ArgType =
  | { t: 'addr' }                                   // an expression: a 64-bit value
  | { t: 'int'; min: number; max: number }          // an expression: an integer in [min, max]
  | { t: 'bool' }
  | { t: 'enum'; values: readonly string[] }
  | { t: 'order' }                                  // a folio order, or the level name whose leaf size it is (pmd, pud)
  | { t: 'level' }                                  // a level: the kernel's name by depth (pte, pmd, pud, ...) or the arch's
  | { t: 'ref'; kind: ResultKind }                  // a named result of that kind
  | { t: 'names' };                                 // a list of identifiers (bit names)

export interface ArgSpec { type: ArgType; doc: string; required?: boolean }

/** An outcome field's type, for `expect`. */
export type FieldType = 'int' | 'bool' | 'level' | 'flags' | 'names' | { enum: readonly string[] };

/** A value an operation observed. */
export type Value = bigint | boolean | string | string[] | Record<string, boolean>;

/** What one step did: its fields, the handle `as:` names, or a refusal. */
export interface Observation {
  fields: Record<string, Value>;
  /** an Mm or a GupResult, for ref arguments of later steps */
  handle?: unknown;
  /** refused with an errno (a PgtemuError, or a gup return of -errno) */
  refused?: { errno: string; message: string };
}

/** Resolved arguments of one step. */
export type Args = Record<string, bigint | number | boolean | string | string[] | unknown>;

/** What an operation sees of the run: the machine and the scenario's address spaces. */
export interface OpContext {
  readonly m: Machine;
  /** the address space an `mm:` argument names, or the scenario's first one */
  mm(a: Args): Mm;
  /** the level index a level name means on this machine (or an EINVAL refusal) */
  level(name: string): number;
  /** where this run's raw tables (rawEntry) live: one slot per level at the top of the table pool */
  rawTable(level: number): bigint;
}

export interface OpSpec {
  /** the kernel function (or user call) the step stands for */
  kernel: string;
  args: Record<string, ArgSpec>;
  /** the argument a scalar value (`walk: base`) gives */
  primary?: string;
  /** the operation acts on an address space: it takes `mm:` (default: the scenario's first) */
  mm?: boolean;
  /** what `as:` names: its handle (mm, gup) or just its fields (value) */
  kind: ResultKind;
  fields: Record<string, FieldType>;
  run(c: OpContext, a: Args): Observation;
  /** the outcome in a few words, for the table of differences (never addresses or pfns; counts in the machine's units) */
  summary(o: Observation, u: Units): string;
}

/**
 * Counts and orders as the machine's geometry names them, so that the table
 * of differences shows what differs, not page sizes: 512 on x86-64 and 32 on
 * ppc64 with 64K pages are both 'PMD_PAGES'.
 */
export interface Units { count(n: Value | undefined): string; order(n: Value | undefined): string }

/** Kernel names of the levels, top first (pgd .. pte; fewer levels fold the upper ones). */
export const LEVEL_KERNEL_NAMES = ['pgd', 'p4d', 'pud', 'pmd', 'pte'] as const;
export const ERRNOS = ['EINVAL', 'EFAULT', 'ENOMEM', 'ENOTABLE', 'EEXIST', 'ENOSPC', 'ESPLIT', 'ERANGE', 'EBADTABLE', 'EBUSY', 'EOPNOTSUPP', 'ESIGBUS', 'EREMOTEIO', 'ELAYOUT', 'EUNKNOWN', 'ETRAP'] as const;
const WALK_STATUS = ['ok', 'none', 'not-present', 'bad', 'bad-table', 'bad-va'] as const;
/** What gup-fast's per-entry checks do with an entry (src/cli/pte.ts gupVerdict, in the kernel's order). */
export const GUP_VERDICTS = ['none', 'not-present', 'table', 'bad', 'protnone', 'no-access', 'read-only', 'devmap', 'special', 'stops', 'no-page', 'grab'] as const;
const TEMPLATES = ['ro', 'rw', 'specialRo', 'specialRw', 'devmapRo', 'devmapRw', 'protNone'] as const;

const PGMAP_STATES = ['live', 'dying', 'drained', 'destroyed'] as const;
const WAIT_FIELDS = { state: { enum: ['waiting', 'done'] }, waits: 'int', deleted: 'int', warned: 'int', refcount: 'int' } as const satisfies Record<string, FieldType>;
function waitFields(w: DaxWait): Record<string, Value> {
  const f: Record<string, Value> = { state: w.state, waits: BigInt(w.waits) };
  if (w.result) { f.deleted = BigInt(w.result.deleted); f.warned = BigInt(w.result.warned); }
  if (w.pfn !== undefined) { f.pfn = w.pfn; f.refcount = BigInt(w.machineRefcount()); }
  return f;
}
/** A step that breaks a file's layouts and may wait (truncate, evict): its handle is the DaxWait. */
function daxWaitOp(kernel: string, args: Record<string, ArgSpec>, start: (f: DaxFile, a: Args) => DaxWait): OpSpec {
  return {
    kernel, kind: 'wait', primary: 'file',
    args: { file: { type: { t: 'ref', kind: 'file' }, doc: 'a daxFile result', required: true }, ...args },
    fields: WAIT_FIELDS,
    run(c, a) {
      const w = start(a.file as DaxFile, a);
      return ok(waitFields(w), w);
    },
    summary: waitSummary,
  };
}
const waitSummary = (o: Observation, u: Units): string => o.fields.state === 'done'
  ? `done${o.fields.warned ? `, ${u.count(o.fields.warned)} WARN (busy page disassociated)` : ''}`
  : `waiting (refcount ${u.count(o.fields.refcount)})`;
const stateFields = (pg: Pgmap): Record<string, Value> => {
  const st = pg.stats();
  return { state: st.state, ref: st.ref };
};
const pgmapFields = (pg: Pgmap): Record<string, Value> => ({ startPfn: pg.startPfn, endPfn: pg.endPfn, ...stateFields(pg) });

const addr = (doc: string, required = true): ArgSpec => ({ type: { t: 'addr' }, doc, required });
const bool = (doc: string): ArgSpec => ({ type: { t: 'bool' }, doc });

const ok = (fields: Record<string, Value> = {}, handle?: unknown): Observation => ({ fields, handle });
const big = (v: unknown) => v as bigint;
/** The flags a summary shows: what gup-fast and the fault paths read (user and young vary by arch and say little here). */
const SUMMARY_FLAGS = ['write', 'dirty', 'special', 'devmap', 'protnone'] as const;
const flagList = (f: Record<string, boolean>) => SUMMARY_FLAGS.filter((k) => f[k]);

/** A walk's outcome fields (walk and rawEntry). */
const WALK_FIELDS = {
  status: { enum: WALK_STATUS }, level: 'level', size: 'int', pfn: 'int', pa: 'int', flags: 'flags',
  linux: { enum: WALK_STATUS }, hardware: { enum: WALK_STATUS }, differs: 'bool',
} as const satisfies Record<string, FieldType>;

function walkFields(c: OpContext, w: WalkResult): Record<string, Value> {
  const names = kernelPrefixes(c.m.desc);
  const other = w.view === 'linux' ? w.hardware : w.linux;
  const f: Record<string, Value> = {
    status: w.status, level: names[w.level], levelName: w.levelName, entry: w.entry,
    flags: { ...w.flags } as unknown as Record<string, boolean>,
    linux: w.view === 'linux' ? w.status : other?.status ?? w.status,
    hardware: w.view === 'hardware' ? w.status : other?.status ?? w.status,
    differs: w.differs,
  };
  if (w.pa !== undefined) { f.pa = w.pa; f.pfn = w.pfn!; f.size = w.size!; }
  if (w.note) f.note = w.note;
  return f;
}

const walkSummary = (o: Observation): string => {
  const f = o.fields;
  const fl = flagList(f.flags as Record<string, boolean>);
  const views = f.linux === f.hardware ? '' : ` (linux ${f.linux}, hardware ${f.hardware})`;
  return `${f.status} at ${f.level}${fl.length ? ` [${fl.join(' ')}]` : ''}${views}`;
};

/** The page at an address (through a linux walk) or a pfn. */
function pageOf(c: OpContext, a: Args): bigint {
  if (a.pfn !== undefined) return big(a.pfn);
  if (a.at === undefined) throw new PgtemuError('EINVAL', 'give at: (an address) or pfn:');
  const w = c.m.walk(c.mm(a), big(a.at));
  if (w.status !== 'ok' || w.pfn === undefined) throw new PgtemuError('EFAULT', `${hex(big(a.at))} maps no page (the walk stops at ${w.levelName}: ${w.status})`);
  return w.pfn;
}

export const OPS: Readonly<Record<string, OpSpec>> = {
  createMm: {
    kernel: 'mm_alloc: a new address space', args: {}, kind: 'mm', fields: {},
    run: (c) => ok({}, c.m.createMm()),
    summary: () => 'ok',
  },
  mmap: {
    kernel: 'mmap / do_mmap (remap_pfn_range for a pfnmap)', mm: true, kind: 'value',
    args: {
      start: addr('first address'), length: addr('bytes'),
      kind: { type: { t: 'enum', values: ['anon', 'hugetlb', 'pfnmap', 'devdax', 'fsdax', 'p2pdma'] }, doc: 'the VMA kind (default anon)' },
      hugeOrder: { type: { t: 'order' }, doc: 'folio order of faults: a number, or pmd / pud for that level\'s leaf' },
      read: bool('VM_READ (default true)'), write: bool('VM_WRITE (default true)'), shared: bool('VM_SHARED'),
      pfn: addr('pfnmap: the first pfn', false), populate: bool('MAP_POPULATE'),
      pgmap: { type: { t: 'ref', kind: 'pgmap' }, doc: 'devdax, p2pdma: the pgmap (a memremap result)' },
      offset: addr('devdax: bytes into the device; fsdax: bytes into the file (default 0)', false),
      file: { type: { t: 'ref', kind: 'file' }, doc: 'fsdax: the file (a daxFile result)' },
    },
    fields: {},
    run(c, a) {
      const o: Record<string, unknown> = { start: a.start, length: a.length };
      for (const k of ['kind', 'hugeOrder', 'read', 'write', 'shared', 'pfn', 'populate', 'pgmap', 'offset', 'file']) if (a[k] !== undefined) o[k] = a[k];
      c.mm(a).mmap(o as unknown as Parameters<Mm['mmap']>[0]);
      return ok();
    },
    summary: () => 'ok',
  },
  memremap: {
    kernel: 'memremap_pages (mm/memremap.c): a dev_pagemap and its struct pages', kind: 'pgmap',
    args: {
      type: { type: { t: 'enum', values: PGMAP_TYPES }, doc: 'the pgmap type', required: true },
      start: addr('physical address: above RAM, section aligned'), size: addr('bytes: whole sections'),
      folioOrder: { type: { t: 'order' }, doc: 'vmemmap_shift (device-DAX): a number, or pmd / pud' },
    },
    fields: { startPfn: 'int', endPfn: 'int', ref: 'int', state: { enum: PGMAP_STATES } },
    run(c, a) {
      const pg = c.m.memremapPages({ type: a.type as PgmapType, start: big(a.start), size: big(a.size), folioOrder: a.folioOrder as number | undefined });
      return ok(pgmapFields(pg), pg);
    },
    summary: (o) => `${o.fields.state}`,
  },
  memunmap: {
    kernel: 'memunmap_pages: percpu_ref_kill, put the setup references, wait for the count to drain, remove the struct pages', kind: 'value', primary: 'pgmap',
    args: { pgmap: { type: { t: 'ref', kind: 'pgmap' }, doc: 'a memremap result', required: true } },
    fields: { state: { enum: PGMAP_STATES }, ref: 'int', inUse: 'int' },
    run(c, a) {
      const pg = a.pgmap as Pgmap;
      pg.kill();
      const r = pg.settle();                         // finished now if drained, else by the put that drains it
      return ok({ ...stateFields(pg), inUse: r?.inUse ?? 0n });
    },
    summary: (o, u) => `${o.fields.state}${o.fields.inUse ? `, ${u.count(o.fields.inUse)} pages in use when removed` : ''}`,
  },
  pgmapRef: {
    kernel: 'percpu_ref on pgmap->ref: get_dev_pagemap\'s tryget_live, a driver\'s get / put', kind: 'value', primary: 'pgmap',
    args: {
      pgmap: { type: { t: 'ref', kind: 'pgmap' }, doc: 'a memremap result', required: true },
      op: { type: { t: 'enum', values: ['get', 'tryget', 'trygetLive', 'put'] }, doc: 'percpu_ref_get / _tryget / _tryget_live / _put', required: true },
    },
    fields: { ok: 'bool', state: { enum: PGMAP_STATES }, ref: 'int', inUse: 'int' },
    run(c, a) {
      const pg = a.pgmap as Pgmap;
      let got = true;
      switch (a.op) {
        case 'get': pg.get(); break;
        case 'tryget': got = pg.tryget(); break;
        case 'trygetLive': got = pg.trygetLive(); break;
        default: pg.put();
      }
      // a put that drains a dying pgmap lets memunmap_pages finish (its wait_for_completion returns)
      const r = pg.state() === 'drained' ? pg.settle() : undefined;
      return ok({ ok: got, ...stateFields(pg), inUse: r?.inUse ?? 0n });
    },
    summary: (o) => `${o.fields.ok ? 'ok' : 'failed'}, ${o.fields.state}`,
  },
  devPage: {
    kernel: 'a driver\'s device page: zone_device_page_init (init) / unlock_page + put_page (put)', kind: 'value', primary: 'pgmap',
    args: {
      pgmap: { type: { t: 'ref', kind: 'pgmap' }, doc: 'a device-private or device-coherent pgmap (a memremap result)', required: true },
      pfn: addr('the page'), op: { type: { t: 'enum', values: ['init', 'put'] }, doc: 'init (default) or put' },
    },
    fields: { refcount: 'int', freed: 'bool', state: { enum: PGMAP_STATES }, ref: 'int', inUse: 'int' },
    run(c, a) {
      const pg = a.pgmap as Pgmap;
      let refcount: number, freed = false;
      if (a.op === 'put') { freed = pg.pagePut(big(a.pfn)); refcount = c.m.page(big(a.pfn)).refcount; }
      else refcount = pg.pageInit(big(a.pfn));
      // the put that drains a dying pgmap lets memunmap_pages finish
      const r = pg.state() === 'drained' ? pg.settle() : undefined;
      return ok({ refcount: BigInt(refcount), freed, ...stateFields(pg), inUse: r?.inUse ?? 0n });
    },
    summary: (o, u) => `ref ${u.count(o.fields.refcount)}${o.fields.freed ? ', freed' : ''}, pgmap ${o.fields.state}`,
  },
  daxFile: {
    kernel: 'an FS-DAX file on a pmem namespace (xfs / ext4 with -o dax): its blocks in an fsdax pgmap', kind: 'file',
    args: {
      pgmap: { type: { t: 'ref', kind: 'pgmap' }, doc: 'the fsdax pgmap (a memremap result)' },
      start: addr('or, with FS_DAX_LIMITED (s390 dcssblk, to v6.14), the physical address of a DAX device with no struct pages', false),
      size: addr('bytes: i_size (page aligned)'), pgmapOffset: addr('bytes into the pgmap where it lies (default 0)', false),
    },
    fields: { size: 'int' },
    run(c, a) {
      const f = c.m.createDaxFile({
        ...(a.pgmap !== undefined ? { pgmap: a.pgmap as Pgmap } : {}), ...(a.start !== undefined ? { start: big(a.start) } : {}),
        size: big(a.size), ...(a.pgmapOffset !== undefined ? { pgmapOffset: big(a.pgmapOffset) } : {}),
      });
      return ok({ size: f.size }, f);
    },
    summary: () => 'ok',
  },
  truncate: daxWaitOp(
    'truncate(2) of a DAX file: break the layouts (dax_layout_busy_page_range, wait for the busy page), then truncate_setsize',
    { size: addr('the new size in bytes (default 0)', false) },
    (f, a) => f.truncate(a.size === undefined ? 0n : big(a.size)),
  ),
  evict: daxWaitOp(
    'evict_inode at unmount: dax_break_layout_final (v6.15 on: wait for every page to be idle) or truncate_inode_pages_final',
    {}, (f) => f.evict(),
  ),
  waiter: {
    kernel: 'the filesystem\'s ___wait_var_event on a busy DAX page, checked again (the kernel re-checks on every wake)',
    kind: 'value', primary: 'wait',
    args: { wait: { type: { t: 'ref', kind: 'wait' }, doc: 'a truncate or evict result', required: true } },
    fields: WAIT_FIELDS,
    run(c, a) {
      const w = a.wait as DaxWait;
      w.poll();
      return ok(waitFields(w));
    },
    summary: waitSummary,
  },
  munmap: {
    kernel: 'munmap: zap, then free_pgtables', mm: true, kind: 'value', args: { start: addr('first address'), length: addr('bytes') }, fields: {},
    run: (c, a) => { c.mm(a).munmap(big(a.start), big(a.length)); return ok(); },
    summary: () => 'ok',
  },
  zap: {
    kernel: 'zap_page_range_single (MADV_DONTNEED)', mm: true, kind: 'value', args: { start: addr('first address'), length: addr('bytes') }, fields: {},
    run: (c, a) => { c.mm(a).zap(big(a.start), big(a.length)); return ok(); },
    summary: () => 'ok',
  },
  fault: {
    kernel: 'handle_mm_fault', mm: true, kind: 'value', primary: 'at',
    args: { at: addr('the faulting address'), write: bool('FAULT_FLAG_WRITE') }, fields: {},
    run: (c, a) => { c.mm(a).fault(big(a.at), { write: !!a.write }); return ok(); },
    summary: () => 'ok',
  },
  populate: {
    kernel: 'MADV_POPULATE_READ / MADV_POPULATE_WRITE (faultin_page per leaf)', mm: true, kind: 'value',
    args: { start: addr('first address'), length: addr('bytes'), write: bool('MADV_POPULATE_WRITE') }, fields: { bytes: 'int' },
    run: (c, a) => ok({ bytes: c.mm(a).populate(big(a.start), big(a.length), { write: !!a.write }) }),
    summary: () => 'ok',
  },
  gupFast: {
    kernel: 'get_user_pages_fast / pin_user_pages_fast (mm/gup.c)', mm: true, kind: 'gup', primary: 'at',
    args: {
      at: addr('first address'), nr: { type: { t: 'int', min: 1, max: 1 << 20 }, doc: 'pages (default 1)' },
      pin: bool('FOLL_PIN (else FOLL_GET)'), write: bool('FOLL_WRITE'), longterm: bool('FOLL_LONGTERM'),
      fastOnly: bool('FOLL_FAST_ONLY'), noFault: bool('FOLL_NOFAULT'), pciP2pdma: bool('FOLL_PCI_P2PDMA'),
    },
    fields: { nr: 'int', fast: 'int', slow: 'int', pfn: 'int' },
    run(c, a) {
      const o: Record<string, boolean> = {};
      for (const k of ['pin', 'write', 'longterm', 'fastOnly', 'noFault', 'pciP2pdma']) if (a[k] !== undefined) o[k] = a[k] as boolean;
      const r: GupResult = c.mm(a).gupFast(big(a.at), (a.nr as number | undefined) ?? 1, o);
      const fields: Record<string, Value> = { nr: BigInt(r.nr), fast: BigInt(r.fast), slow: BigInt(r.nr - r.fast) };
      if (r.nr > 0) fields.pfn = r.pfns[0];
      return { fields, handle: r, refused: r.ret < 0 ? { errno: r.errno ?? 'EINVAL', message: `gup returned ${r.ret}` } : undefined };
    },
    summary: (o, u) => `${u.count(o.fields.nr)} taken: ${u.count(o.fields.fast)} fast, ${u.count(o.fields.slow)} slow`,
  },
  unpin: {
    kernel: 'unpin_user_pages (put_page for a FOLL_GET result)', kind: 'value', primary: 'pages',
    args: { pages: { type: { t: 'ref', kind: 'gup' }, doc: 'a gupFast result', required: true } }, fields: {},
    run: (c, a) => { c.m.unpin(a.pages as GupResult); return ok(); },
    summary: () => 'ok',
  },
  put: {
    kernel: 'put_page on each page of a FOLL_GET result', kind: 'value', primary: 'pages',
    args: { pages: { type: { t: 'ref', kind: 'gup' }, doc: 'a FOLL_GET gupFast result', required: true } }, fields: {},
    run: (c, a) => { c.m.put(a.pages as GupResult); return ok(); },
    summary: () => 'ok',
  },
  destroy: {
    kernel: 'exit_mmap', mm: true, kind: 'value', primary: 'mm', args: {}, fields: {},
    run: (c, a) => { c.mm(a).destroy(); return ok(); },
    summary: () => 'ok',
  },
  walk: {
    kernel: 'a page-table walk (pgd_offset .. pte_offset_map), as the kernel\'s helpers or the MMU read it', mm: true, kind: 'value', primary: 'at',
    args: { at: addr('the address'), view: { type: { t: 'enum', values: ['linux', 'hardware'] }, doc: 'whose reading (default linux)' } },
    fields: { ...WALK_FIELDS, reserved: 'bool', zeroPage: 'bool', device: 'bool', hugeZero: 'bool' },
    run(c, a) {
      const w = c.m.walk(c.mm(a), big(a.at), { view: (a.view as 'linux' | 'hardware' | undefined) ?? 'linux' });
      const f = walkFields(c, w);
      if (w.status === 'ok' && w.pfn !== undefined) {
        // the shared zero page is PG_reserved (as the table pool's frames are); a pfnmap's pfn may have no struct page
        let reserved = false;
        try { reserved = c.m.page(w.pfn).reserved; } catch { reserved = false; }
        const hz = c.m.stats().hugeZeroPfn;
        f.reserved = reserved;
        f.zeroPage = reserved && w.pfn === c.m.zeroPfn;
        f.device = reserved && c.m.isDevicePfn(w.pfn);
        // the huge zero folio is PMD-order (huge_zero_pfn .. + HPAGE_PMD_NR)
        f.hugeZero = hz !== undefined && w.pfn >= hz && w.pfn - hz < 1n << BigInt(c.m.leafOrders[c.m.desc.levels.length - 2]);
      }
      return ok(f);
    },
    summary: (o) => walkSummary(o) + (o.fields.hugeZero ? ' huge zero folio' : o.fields.zeroPage ? ' zero page' : o.fields.device ? ' device page' : o.fields.reserved ? ' PG_reserved' : ''),
  },
  page: {
    kernel: 'the struct page (folio_ref_count, page_mapcount, folio_maybe_dma_pinned\'s _pincount)', mm: true, kind: 'value',
    primary: 'at', args: { at: addr('an address whose page to read (a linux walk)', false), pfn: addr('or a pfn', false) },
    fields: { pfn: 'int', refcount: 'int', mapcount: 'int', folioMapcount: 'int', pincount: 'int', order: 'int', reserved: 'bool' },
    run(c, a) {
      const pfn = pageOf(c, a);
      const p = c.m.page(pfn);
      const h = p.tail ? c.m.page(p.head) : p;
      return ok({
        pfn, refcount: BigInt(h.refcount), mapcount: BigInt(p.pageMapcount), folioMapcount: BigInt(p.folioMapcount),
        pincount: BigInt(h.pincount), order: BigInt(h.order), reserved: p.reserved,
      });
    },
    summary: (o, u) => `ref ${u.count(o.fields.refcount)} map ${u.count(o.fields.mapcount)} pin ${u.count(o.fields.pincount)} order ${u.order(o.fields.order)}`,
  },
  check: {
    kernel: 'the invariant checker (DESIGN.md), and the machine\'s gup accounting', kind: 'value', args: {},
    fields: { violations: 'names', gupOutstanding: 'int', pinOutstanding: 'int', hugeZeroPfn: 'int', gupFastBails: 'int' },
    run(c) {
      const v = c.m.checkInvariants();
      const s = c.m.stats();
      const f: Record<string, Value> = {
        violations: v.map((x) => x.name), messages: v.map((x) => x.message),
        gupOutstanding: s.gupOutstanding, pinOutstanding: s.pinOutstanding, gupFastBails: s.gupFastBails,
      };
      if (s.hugeZeroPfn !== undefined) f.hugeZeroPfn = s.hugeZeroPfn;
      return ok(f);
    },
    summary: (o) => {
      const v = o.fields.violations as string[];
      return v.length ? `violations: ${[...new Set(v)].sort().join(', ')}` : 'no violations';
    },
  },
  counters: {
    kernel: 'the mm counters (MM_ANONPAGES, MM_FILEPAGES, hugetlb_usage, pgtables_bytes, MMF_HAS_PINNED)', mm: true, kind: 'value', args: {},
    fields: { rssAnon: 'int', rssFile: 'int', hugetlbPages: 'int', pgtablesBytes: 'int', hasPinned: 'bool' },
    run(c, a) {
      const k = c.mm(a).counters();
      return ok({ rssAnon: k.rssAnon, rssFile: k.rssFile, hugetlbPages: k.hugetlbPages, pgtablesBytes: k.pgtablesBytes, hasPinned: k.hasPinned });
    },
    summary: (o, u) => `anon ${u.count(o.fields.rssAnon)} file ${u.count(o.fields.rssFile)} hugetlb ${u.count(o.fields.hugetlbPages)}${o.fields.hasPinned ? ' pinned' : ''}`,
  },
  inject: {
    kernel: 'a count written as a kernel bug would', mm: true, kind: 'value',
    args: {
      at: addr('an address whose page to change', false), pfn: addr('or a pfn', false),
      field: { type: { t: 'enum', values: ['refcount', 'mapcount', 'pincount'] }, doc: 'the count', required: true },
      value: { type: { t: 'int', min: -(2 ** 31), max: 2 ** 31 - 1 }, doc: 'the value written', required: true },
    },
    fields: {},
    run: (c, a) => { c.m.inject(pageOf(c, a), a.field as 'refcount', a.value as number); return ok(); },
    summary: () => 'ok',
  },
  rawEntry: {
    kernel: 'set_pte_at / set_pmd_at of a crafted entry (pfn_pte(pfn, prot), pte_mkdevmap ...) in raw tables, then a walk',
    kind: 'value', primary: 'at',
    args: {
      at: addr('the virtual address whose entry to write'),
      level: { type: { t: 'level' }, doc: 'the level of the leaf (default pte)' },
      template: { type: { t: 'enum', values: TEMPLATES }, doc: 'the kernel\'s leaf: ro, rw, specialRo/Rw (pte_mkspecial), devmapRo/Rw (pte_mkdevmap), protNone (PAGE_NONE)', required: true },
      pa: addr('the physical address mapped (default 4 GiB, aligned for every leaf size)', false),
      set: { type: { t: 'names' }, doc: 'bit names to set on top' },
      clear: { type: { t: 'names' }, doc: 'bit names to clear' },
      write: bool('ask what a FOLL_WRITE gup-fast does'),
      view: { type: { t: 'enum', values: ['linux', 'hardware'] }, doc: 'whose walk to report (default linux)' },
    },
    fields: { ...WALK_FIELDS, gupFast: { enum: GUP_VERDICTS } },
    run(c, a) {
      const d = c.m.desc;
      const li = a.level === undefined ? d.levels.length - 1 : c.level(a.level as string);
      const l = d.levels[li];
      if (!l.leafOk) throw new PgtemuError('EINVAL', `rawEntry: ${l.name} entries of ${d.arch}/${d.variant} are never leaves`);
      const pa = a.pa === undefined ? 1n << 32n : big(a.pa);
      const mask = (names: unknown) => ((names as string[] | undefined) ?? []).reduce((m, n) => {
        const b = Object.hasOwn(d.bits, n) ? d.bits[n] : -1;
        if (b < 0) throw new PgtemuError('EINVAL', `rawEntry: ${d.arch}/${d.variant} (${c.m.kernel}) has no bit '${n}' (bits: ${Object.keys(d.bits).filter((k) => d.bits[k] >= 0).join(', ')})`);
        return m | (1n << BigInt(b));
      }, 0n);
      const t = a.template as typeof TEMPLATES[number];
      const e = (encodeLeafEntry(l, pa, t === 'protNone' ? l.prots.none : l.templates[t]) | mask(a.set)) & ~mask(a.clear);
      // the chain: a table entry at each level above, pointing at the next raw table
      const va = big(a.at);
      const put = (i: number, v: bigint) => {
        const x = d.levels[i];
        const idx = (va >> BigInt(x.shift)) & ((1n << BigInt(x.indexBits)) - 1n);
        c.m.writePhys(c.rawTable(i) + idx * 8n, c.m.entryBytes([v]));
      };
      for (let i = 0; i < li; i++) put(i, encodeTableEntryOf(c, i));
      put(li, e);
      const w = c.m.walkRaw(c.rawTable(0), va, { view: (a.view as 'linux' | 'hardware' | undefined) ?? 'linux' });
      const verdict = gupVerdict(d, l, e, !!a.write);
      const f = walkFields(c, w);
      f.entry = e;
      f.bits = c.m.bitNames(e, li);
      f.gupFast = gupVerdictKind(verdict);
      f.gupFastText = verdict;
      return ok(f);
    },
    summary: (o) => `${walkSummary(o)}; gup-fast: ${o.fields.gupFast}`,
  },
};

const encodeTableEntryOf = (c: OpContext, i: number) => encodeTableEntry(c.m.desc.levels[i], c.rawTable(i + 1));

/** gupVerdict's sentence as one word. */
export function gupVerdictKind(s: string): typeof GUP_VERDICTS[number] {
  const head = s.split(':')[0];
  const map: Record<string, typeof GUP_VERDICTS[number]> = {
    'none': 'none', 'not present': 'not-present', 'table': 'table', 'bad': 'bad', 'protnone': 'protnone',
    'not user-accessible': 'no-access', 'read-only': 'read-only', 'devmap': 'devmap', 'special': 'special',
    'gup-fast stops': 'stops', 'no struct page': 'no-page', 'grab': 'grab',
  };
  const k = map[head];
  if (!k) throw new Error(`rawEntry: unknown gup-fast verdict '${s}'`);
  return k;
}
