// ZONE_DEVICE on the host: Machine.memremapPages and the Pgmap handle
// (assembly/pgmap.ts does the work; README.md's ZONE_DEVICE section).

import {
  MEMORY_DEVICE_PRIVATE, MEMORY_DEVICE_COHERENT, MEMORY_DEVICE_FS_DAX, MEMORY_DEVICE_GENERIC, MEMORY_DEVICE_PCI_P2PDMA,
  PGMAP_FREE, PGMAP_LIVE, PGMAP_DYING, PGMAP_DRAINED, PGMAP_DESTROYED, PGMAP_REF_DEAD,
  PREF_GET, PREF_TRYGET, PREF_TRYGET_LIVE, PREF_PUT, PREF_READ, DEDUP_BLOCK, E_NOSPC, E_BUSY,
} from './consts.gen.js';
import { PgtemuError, hex } from './errors.js';
import { describe, options, optionSpec, u64Arg } from './validate.js';
import type { Machine } from './machine.js';
import type { FieldName } from './core.js';

/** enum memory_type, by the names pgtemu uses for it. */
export type PgmapType = 'fsdax' | 'devdax' | 'device-private' | 'device-coherent' | 'p2pdma';
const TYPES: Readonly<Record<PgmapType, { code: number; kernel: string }>> = {
  fsdax: { code: MEMORY_DEVICE_FS_DAX, kernel: 'MEMORY_DEVICE_FS_DAX' },
  devdax: { code: MEMORY_DEVICE_GENERIC, kernel: 'MEMORY_DEVICE_GENERIC' },
  'device-private': { code: MEMORY_DEVICE_PRIVATE, kernel: 'MEMORY_DEVICE_PRIVATE' },
  'device-coherent': { code: MEMORY_DEVICE_COHERENT, kernel: 'MEMORY_DEVICE_COHERENT' },
  p2pdma: { code: MEMORY_DEVICE_PCI_P2PDMA, kernel: 'MEMORY_DEVICE_PCI_P2PDMA' },
};
export const PGMAP_TYPES = Object.keys(TYPES) as PgmapType[];

export interface MemremapOptions {
  type: PgmapType;
  /** physical address of the range (range.start): above RAM, section aligned */
  start: bigint | number;
  /** bytes: a whole number of sections, and of folios */
  size: bigint | number;
  /** vmemmap_shift: the order of its compound folios (device-DAX's align); default 0 */
  folioOrder?: number;
}
const MEMREMAP_OPTIONS = optionSpec({ type: 'string', start: 'bigint|number', size: 'bigint|number', folioOrder: 'number' });

export type PgmapState = 'live' | 'dying' | 'drained' | 'destroyed';
const STATES: Readonly<Record<number, PgmapState>> = {
  [PGMAP_LIVE]: 'live', [PGMAP_DYING]: 'dying', [PGMAP_DRAINED]: 'drained', [PGMAP_DESTROYED]: 'destroyed',
};

export interface PgmapStats {
  state: PgmapState;
  /** the percpu_ref's count */
  ref: bigint;
  /** percpu_ref_kill has run (__PERCPU_REF_DEAD) */
  dead: boolean;
  /** ops->page_free calls */
  pageFree: bigint;
  /** setup references (pfn_len) not yet put by memunmap_pages */
  bulkRefs: bigint;
  /** pages the driver holds (devPageInit, not yet devPagePut) */
  driverPages: bigint;
  /** destroyed: pages still referenced when pageunmap_range removed them */
  inUseAtDestroy: bigint;
}

export interface UnmapResult {
  /** pages still referenced when their struct pages were removed (a kernel bug: invariant 2) */
  inUse: bigint;
  /** the first of them */
  firstInUsePfn?: bigint;
}

/** Which machine made each handle, and whether it has been unmapped. */
interface PgmapSlot { machine: Machine; ptr: number; gen: number; unmapping: boolean; final?: PgmapStats; result?: UnmapResult }
const slots = new WeakMap<Pgmap, PgmapSlot>();
const byMachine = new WeakMap<Machine, Set<Pgmap>>();

/** vmemmap_can_optimize as the core decides it (assembly/pgmap.ts), for the budget message. */
function vmemmapOptimised(m: Machine, type: PgmapType, order: number): boolean {
  return m.desc.kconfig.daxVmemmapOpt && type === 'devdax' && order > 0 &&
    ((2 ** order * m.layout.size.Page) >> m.desc.pageShift) > 2;   // VMEMMAP_RESERVE_NR
}

const SECTION_NAME = 'memory section (SECTION_SIZE_BITS)';

/** memremap_pages (mm/memremap.c): see Machine.memremapPages. */
export function memremapPages(m: Machine, opts: MemremapOptions): Pgmap {
  const op = 'memremapPages';
  options(opts, op, MEMREMAP_OPTIONS, true);
  const type = opts.type;
  if (typeof type !== 'string' || !Object.hasOwn(TYPES, type)) {
    throw new PgtemuError('EINVAL', `${op}: type ${describe(type)} is not a pgmap type (${PGMAP_TYPES.join(', ')})`, { op });
  }
  if (opts.start === undefined || opts.size === undefined) throw new PgtemuError('EINVAL', `${op}: 'start' and 'size' are required`, { op });
  const start = u64Arg(opts.start, `${op}: start`);
  const size = u64Arg(opts.size, `${op}: size`);
  const d = m.desc;
  const ps = BigInt(d.pageShift);
  const order = opts.folioOrder ?? 0;
  const orders = [0, ...m.leafOrders.filter((o) => o > 0).sort((a, b) => a - b)];
  if (!Number.isInteger(order) || !orders.includes(order)) {
    throw new PgtemuError('EINVAL', `${op}: folioOrder ${describe(order)} is not a folio order device memory can have on ${d.arch}/${d.variant} (${orders.join(', ')}: a page, or a leaf of a page-table level)`, { op });
  }
  const era = m.era;
  const t = TYPES[type];
  if (!era.zoneDevice) throw new PgtemuError('EINVAL', `${op}: ${m.kernel} on ${d.arch}/${d.variant} has no ZONE_DEVICE: ${era.zoneDeviceWhyNot}`, { op });
  if (type === 'fsdax' && era.fsDaxLimited) {
    throw new PgtemuError('EINVAL', `${op}: File system DAX not supported: with CONFIG_FS_DAX_LIMITED (s390, until v6.14) memremap_pages refuses MEMORY_DEVICE_FS_DAX`, { op });
  }
  if (type !== 'devdax' && order !== 0) {
    throw new PgtemuError('EINVAL', `${op}: only device-DAX pgmaps have compound folios (drivers/dax/device.c sets vmemmap_shift; ${type === 'device-private' || type === 'device-coherent' ? `free_zone_device_folio: "we don't expect anonymous compound pages yet"` : 'its driver does not'}); folioOrder ${order} refused for ${type}`, { op });
  }
  if (size === 0n) throw new PgtemuError('EINVAL', `${op}: size 0: a pgmap covers at least one ${SECTION_NAME}`, { op });
  const secBytes = 1n << BigInt(d.sectionSizeBits);
  const folioBytes = 1n << (ps + BigInt(order));
  for (const [what, v] of [['start', start], ['size', size]] as const) {
    if (v % secBytes !== 0n) throw new PgtemuError('EINVAL', `${op}: ${what} ${hex(v)} is not a multiple of the ${SECTION_NAME}, ${hex(secBytes)} on ${d.arch}/${d.variant} (pgtemu's memmap is sparse by section)`, { op });
    if (v % folioBytes !== 0n) throw new PgtemuError('EINVAL', `${op}: ${what} ${hex(v)} is not a multiple of the folio size ${hex(folioBytes)} (folioOrder ${order})`, { op });
  }
  const maxPhys = 1n << BigInt(d.maxPhysBits);
  if (start >= maxPhys || size > maxPhys - start) {
    throw new PgtemuError('EINVAL', `${op}: [${hex(start)}, ${hex(start + size)}) reaches beyond MAX_PHYSMEM_BITS (${d.maxPhysBits}) on ${d.arch}/${d.variant} (mhp_range_allowed)`, { op });
  }
  const ramBytes = m.ramPfns << ps;
  if (start < ramBytes) {
    throw new PgtemuError('EINVAL', `${op}: [${hex(start)}, ${hex(start + size)}) overlaps System RAM [0, ${hex(ramBytes)}) (region_intersects: memremap_pages fails with -ENXIO)`, { op });
  }
  for (const other of byMachine.get(m) ?? []) {
    if (other.state() === 'destroyed') continue;
    if (start < other.start + other.size && other.start < start + size) {
      throw new PgtemuError('EEXIST', `${op}: [${hex(start)}, ${hex(start + size)}) overlaps the ${other.type} pgmap at [${hex(other.start)}, ${hex(other.start + other.size)}) ("Conflicting mapping in same section")`, { op });
    }
  }
  // the memmap this range needs, against what is left of the arena
  const pages = size >> ps;
  const dedup = vmemmapOptimised(m, type, order);
  const bytes = dedup ? (pages >> BigInt(order)) * BigInt(DEDUP_BLOCK) : pages * BigInt(m.layout.size.Page + 8);
  const left = BigInt(Number(m.rd(m.headerPtr, 'Header', 'memmapArenaEnd')) - Number(m.rd(m.headerPtr, 'Header', 'memmapArenaNext')));
  if (bytes > left) {
    throw new PgtemuError('ENOMEM', `${op}: ${hex(size)} bytes of device memory need ${mib(bytes)} of struct pages and checker counters (${dedup ? `${DEDUP_BLOCK} bytes per vmemmap-optimised folio` : `${m.layout.size.Page + 8} bytes per ${1 << d.pageShift}-byte page`}), and ${mib(left)} of the machine's memmap is left (Machine.create option deviceMemmapMiB; the shared memory is at most 4 GiB in all)${dedup ? '' : `. Only device-DAX folios whose struct pages span more than two pages are vmemmap-optimised (vmemmap_can_optimize, on x86_64, ppc64 and riscv)`}`, { op });
  }
  const o = m.call('memremapPages', { startPfn: start >> ps, nrPages: pages, type: t.code, order }, op, start);
  if (o.status < 0) {
    const why = o.status === E_NOSPC ? `all ${m.rd(m.headerPtr, 'Header', 'pgmapCap')} pgmap slots are in use (unmap one)` : undefined;
    if (why) throw new PgtemuError('ENOSPC', `${op}: ${why}`, { op });
    m.fail(o.status, op, `[${hex(start)}, ${hex(start + size)}) as ${type}`, start);
  }
  const pg = new Pgmap(type, start, size, order, ps, m.rd(o.pgmap, 'Pgmap', 'dedup') === 1);
  slots.set(pg, { machine: m, ptr: o.pgmap, gen: o.gen, unmapping: false });
  let set = byMachine.get(m);
  if (!set) byMachine.set(m, (set = new Set()));
  set.add(pg);
  return pg;
}

const mib = (b: bigint) => `${(Number(b) / 2 ** 20).toFixed(b < 1n << 30n ? 1 : 0)} MiB`;

/**
 * A dev_pagemap: one range of device memory with struct pages
 * (Machine.memremapPages). Its pages are PG_reserved, their refcount the
 * era's idle count, and they name the pgmap (page->pgmap, or their folio's
 * for compound pgmaps). `unmap()` is memunmap_pages.
 */
export class Pgmap {
  /** @internal */
  constructor(
    readonly type: PgmapType,
    /** physical address */
    readonly start: bigint,
    /** bytes */
    readonly size: bigint,
    /** vmemmap_shift */
    readonly folioOrder: number,
    pageShift: bigint,
    /**
     * vmemmap-optimised (vmemmap_can_optimize): its folios keep a head, page[1]
     * and one tail struct page all other tails share, as the kernel's shared
     * vmemmap page makes them.
     */
    readonly vmemmapOptimized: boolean,
  ) {
    this.startPfn = start >> pageShift;
    this.endPfn = (start + size) >> pageShift;
    Object.freeze(this);
  }
  readonly startPfn: bigint;
  /** exclusive */
  readonly endPfn: bigint;

  private slot(op: string, allowDestroyed = false): PgmapSlot {
    const s = slots.get(this);
    if (!s) throw new PgtemuError('EINVAL', `${op}: not a pgmap made by Machine.memremapPages`, { op });
    if (!allowDestroyed && this.stateOf(s) === 'destroyed') {
      throw new PgtemuError('EINVAL', `${op}: the ${this.type} pgmap at ${hex(this.start)} was unmapped (memunmap_pages); its struct pages are gone`, { op });
    }
    return s;
  }
  private stateOf(s: PgmapSlot): PgmapState {
    const st = s.machine.rd(s.ptr, 'Pgmap', 'state');
    const gen = s.machine.rd(s.ptr, 'Pgmap', 'gen');
    return st === PGMAP_FREE || gen !== s.gen ? 'destroyed' : STATES[st];
  }

  /** The machine that made it. */
  get machine(): Machine { return this.slot('machine', true).machine; }

  state(): PgmapState { return this.stateOf(this.slot('state', true)); }

  stats(): PgmapStats {
    const s = this.slot('stats', true);
    if (s.final) return { ...s.final };                                 // as memunmap_pages left it (the slot may be reused)
    const r = (f: FieldName<'Pgmap'>) => BigInt(s.machine.rd(s.ptr, 'Pgmap', f));
    const state = this.stateOf(s);
    const word = r('ref');
    const dead = BigInt(PGMAP_REF_DEAD);
    return {
      state, ref: word & ~dead, dead: (word & dead) !== 0n, pageFree: r('pageFree'), bulkRefs: r('bulkRefs'),
      driverPages: r('driverPages'), inUseAtDestroy: r('destroyedInUse'),
    };
  }

  private ref(op: string, code: number, n: number): boolean {
    const s = this.slot(op);
    if (!Number.isInteger(n) || n < 1 || n >= 2 ** 31) throw new PgtemuError('EINVAL', `${op}: n ${describe(n)} is not a count of references (1 .. 2^31 - 1)`, { op });
    const o = s.machine.call('pgmapRef', { pgmap: s.ptr, gen: s.gen, op: code, n }, op);
    if (o.status < 0) {
      const st = this.stateOf(s);
      throw new PgtemuError('EINVAL', code === PREF_PUT
        ? `${op}: the pgmap's percpu_ref holds ${(BigInt(s.machine.rd(s.ptr, 'Pgmap', 'ref')) & ~BigInt(PGMAP_REF_DEAD))}, fewer than ${n} (a put without its get)`
        : `${op}: the pgmap's percpu_ref is released (${st}): nothing may take a reference any more`, { op });
    }
    return o.ok === 1;
  }
  /** percpu_ref_get_many */
  get(n = 1): void { this.ref('get', PREF_GET, n); }
  /** percpu_ref_tryget_many: false once the count is zero */
  tryget(n = 1): boolean { return this.ref('tryget', PREF_TRYGET, n); }
  /** percpu_ref_tryget_live (get_dev_pagemap): false once killed */
  trygetLive(n = 1): boolean { return this.ref('trygetLive', PREF_TRYGET_LIVE, n); }
  /** percpu_ref_put_many (put_dev_pagemap) */
  put(n = 1): void { this.ref('put', PREF_PUT, n); }
  /** the count now */
  count(): bigint {
    this.ref('count', PREF_READ, 1);
    const s = this.slot('count');
    return BigInt(s.machine.rd(s.ptr, 'Pgmap', 'ref')) & ~BigInt(PGMAP_REF_DEAD);
  }

  private pfnArg(op: string, pfn: bigint | number): bigint {
    const p = u64Arg(pfn, `${op}: pfn`);
    if (p < this.startPfn || p >= this.endPfn) throw new PgtemuError('EINVAL', `${op}: pfn ${hex(p)} is outside this pgmap [${hex(this.startPfn)}, ${hex(this.endPfn)})`, { op });
    return p;
  }

  /**
   * The driver allocates page pfn (device-private/coherent):
   * zone_device_page_init from v6.1 (a pgmap reference, refcount 1, page
   * locked); in v6.0 get_page on the free page (1 -> 2, no pgmap reference).
   * Returns the page's refcount.
   */
  pageInit(pfn: bigint | number): number {
    const op = 'pageInit';
    const s = this.slot(op);
    const p = this.pfnArg(op, pfn);
    if (this.type !== 'device-private' && this.type !== 'device-coherent') {
      throw new PgtemuError('EINVAL', `${op}: zone_device_page_init is for device-private and device-coherent pages, not ${this.type}`, { op });
    }
    if (this.stateOf(s) !== 'live') {
      throw new PgtemuError('EINVAL', `${op}: the pgmap is ${this.stateOf(s)}: memunmap_pages has begun, and zone_device_page_init's percpu_ref_tryget_live fails ("Drivers shouldn't be allocating pages after calling memunmap_pages()")`, { op });
    }
    const o = s.machine.call('devPageInit', { pgmap: s.ptr, gen: s.gen, pfn: p }, op, p);
    if (o.status < 0) throw new PgtemuError(o.status === E_BUSY ? 'EBUSY' : 'EINVAL', `${op}: pfn ${hex(p)} is not a free page of this pgmap (the driver holds it, or something else references it)`, { op });
    return o.refcount;
  }

  /**
   * The driver lets page pfn go (unlock_page, put_page). Returns whether the
   * put freed it (ops->page_free ran: from v6.1 at refcount 0, then
   * put_dev_pagemap; in v6.0 at 1).
   */
  pagePut(pfn: bigint | number): boolean {
    const op = 'pagePut';
    const s = this.slot(op);
    const p = this.pfnArg(op, pfn);
    const o = s.machine.call('devPagePut', { pgmap: s.ptr, gen: s.gen, pfn: p }, op, p);
    if (o.status < 0) throw new PgtemuError('EINVAL', `${op}: pfn ${hex(p)} is not a page the driver holds (pageInit it first; ${this.type})`, { op });
    return o.freed === 1;
  }

  /**
   * memunmap_pages: percpu_ref_kill, put the setup references, wait until the
   * count drains to zero (wait_for_completion: here a Promise that settles
   * then, polling; pages holding references keep it waiting), then
   * pageunmap_range: the struct pages are poisoned and removed, and the pgmap
   * can no longer be found. Throws at once for a pgmap already unmapped.
   */
  unmap(): Promise<UnmapResult> { return this.slot('unmap', true).machine.memunmapPages(this); }

  /** @internal Machine.memunmapPages's work. */
  static unmapOn(m: Machine, pg: unknown): Promise<UnmapResult> {
    const s = Pgmap.begin(m, pg);
    const p = pg as Pgmap;
    return new Promise<UnmapResult>((resolve, reject) => {
      const poll = () => {
        try {
          const r = Pgmap.finish(m, p, s);
          if (r === undefined) { setTimeout(poll, 1); return; }
          resolve(r);
        } catch (e) {
          reject(e);
        }
      };
      poll();
    });
  }

  /**
   * memunmap_pages' first half, without waiting: percpu_ref_kill and the
   * setup references put. settle() finishes it once the count has drained
   * (unmap() does both, and waits).
   */
  kill(): void { Pgmap.begin(this.slot('kill', true).machine, this); }

  private static begin(m: Machine, pg: unknown): PgmapSlot {
    const op = 'memunmapPages';
    if (!(pg instanceof Pgmap)) throw new PgtemuError('EINVAL', `${op}: ${describe(pg)} is not a Pgmap`, { op });
    const s = slots.get(pg);
    if (!s) throw new PgtemuError('EINVAL', `${op}: not a pgmap made by Machine.memremapPages`, { op });
    if (s.machine !== m) throw new PgtemuError('EINVAL', `${op}: this pgmap belongs to another machine`, { op });
    if (s.unmapping || pg.stateOf(s) === 'destroyed') {
      throw new PgtemuError('EINVAL', `${op}: the ${pg.type} pgmap at ${hex(pg.start)} is already ${pg.stateOf(s) === 'destroyed' ? 'unmapped' : 'being unmapped'} (memunmap_pages twice)`, { op });
    }
    const b = m.call('memunmapBegin', { pgmap: s.ptr, gen: s.gen }, op, pg.start);
    if (b.status < 0) m.fail(b.status, op, `the pgmap at ${hex(pg.start)}`, pg.start);
    s.unmapping = true;
    return s;
  }

  /** pageunmap_range once the count has drained; undefined while it has not. Once finished, the same result again. */
  private static finish(m: Machine, pg: Pgmap, s: PgmapSlot): UnmapResult | undefined {
    const op = 'memunmapPages';
    if (s.result) return s.result;
    const st = m.rd(s.ptr, 'Pgmap', 'state');
    if (st !== PGMAP_DRAINED) return undefined;
    const f = m.call('memunmapFinish', { pgmap: s.ptr, gen: s.gen }, op, pg.start);
    if (f.status < 0) m.fail(f.status, op, `the pgmap at ${hex(pg.start)}`, pg.start);
    s.final = pg.stats();
    s.result = f.inUse > 0n ? { inUse: f.inUse, firstInUsePfn: f.firstPfn } : { inUse: 0n };
    return s.result;
  }

  /**
   * Completes a memunmap_pages that unmap() began, now, if the pgmap's count
   * has drained (what unmap()'s promise resolves to); undefined while it is
   * still dying. For callers that cannot wait for the promise (the scenario
   * runner); unmap() alone finishes the same way.
   */
  settle(): UnmapResult | undefined {
    const s = this.slot('settle', true);
    if (!s.unmapping) throw new PgtemuError('EINVAL', `settle: the ${this.type} pgmap at ${hex(this.start)} is not being unmapped (call kill() or unmap() first)`, { op: 'settle' });
    return Pgmap.finish(s.machine, this, s);
  }
}

/** The core's handle of a pgmap: its slot and generation. @internal */
export function pgmapHandle(pg: Pgmap): { ptr: number; gen: number } {
  const s = slots.get(pg);
  if (!s) throw new PgtemuError('EINVAL', 'not a pgmap made by Machine.memremapPages');
  return { ptr: s.ptr, gen: s.gen };
}

/**
 * A device-DAX mapping's arguments (dax_mmap -> check_vma, dax_align_valid),
 * checked with the kernel's reasons: a live device-DAX pgmap of this machine,
 * a shared mapping, start, length and offset aligned to the device's align
 * (its folio order), an align the arch can fault, and the range inside the
 * device. Returns the core's pgmap handle and the first pfn.
 */
export function devdaxMmapArgs(m: Machine, pg: unknown, offset: bigint | number | undefined, shared: boolean | undefined,
  s: bigint, len: bigint): { ptr: number; gen: number; pfn: bigint; order: number } {
  const op = 'mmap';
  if (!(pg instanceof Pgmap) || !slots.has(pg)) throw new PgtemuError('EINVAL', `${op}: a devdax mapping needs pgmap: a Pgmap from Machine.memremapPages (got ${describe(pg)})`, { op });
  const sl = slots.get(pg)!;
  if (sl.machine !== m) throw new PgtemuError('EINVAL', `${op}: that pgmap belongs to another machine`, { op });
  if (pg.type !== 'devdax') throw new PgtemuError('EINVAL', `${op}: a devdax mapping maps a device-DAX pgmap (type 'devdax'), not a ${pg.type} one`, { op });
  const st = pg.state();
  if (st !== 'live') throw new PgtemuError('EINVAL', `${op}: the device-DAX pgmap at ${hex(pg.start)} is ${st} (check_vma: dax_alive is false once memunmap_pages began)`, { op });
  if (shared === false) throw new PgtemuError('EINVAL', `${op}: device-DAX refuses a private mapping (check_vma: "attempted private mapping"; pass shared: true or leave it out)`, { op });
  const d = m.desc;
  const align = 1n << BigInt(d.pageShift + pg.folioOrder);
  const levels = d.levels.length;
  const level = m.leafOrders.indexOf(pg.folioOrder);
  if (level < levels - 3 || (level === levels - 3 && !d.kconfig.thpPud)) {
    throw new PgtemuError('EINVAL', `${op}: a device-DAX align of ${hex(align)} cannot be faulted on ${d.arch} ${d.kernel} (dax_align_valid: PAGE_SIZE, PMD_SIZE, or PUD_SIZE with CONFIG_HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD, which ${d.kernel} ${d.kconfig.thpPud ? 'selects' : 'does not select'} on ${d.arch})`, { op });
  }
  if (s % align !== 0n || len % align !== 0n) {
    throw new PgtemuError('EINVAL', `${op}: start ${hex(s)} and length ${hex(len)} must be multiples of the device's align ${hex(align)} (check_vma: "unaligned vma")`, { op, address: s });
  }
  const off = offset === undefined ? 0n : u64Arg(offset, `${op}: offset`);
  if (off % align !== 0n) throw new PgtemuError('EINVAL', `${op}: offset ${hex(off)} is not a multiple of the device's align ${hex(align)}`, { op });
  if (off >= pg.size || len > pg.size - off) {
    throw new PgtemuError('EINVAL', `${op}: offset ${hex(off)} + length ${hex(len)} runs past the device's ${hex(pg.size)} bytes (dax_pgoff_to_phys would fail: SIGBUS)`, { op });
  }
  return { ptr: sl.ptr, gen: sl.gen, pfn: pg.startPfn + (off >> BigInt(d.pageShift)), order: pg.folioOrder };
}

/**
 * A p2pmem mapping's arguments (p2pmem_alloc_mmap, drivers/pci/p2pdma.c): a
 * live P2PDMA pgmap of this machine, a shared mapping ("attempted private
 * mapping"), and the pages inside it (`offset`: where the provider's pool
 * hands them out; the kernel's gen_pool chooses, pgtemu lets you).
 */
export function p2pmemMmapArgs(m: Machine, pg: unknown, offset: bigint | number | undefined, shared: boolean | undefined,
  s: bigint, len: bigint): { ptr: number; gen: number; pfn: bigint } {
  const op = 'mmap';
  if (!(pg instanceof Pgmap) || !slots.has(pg)) throw new PgtemuError('EINVAL', `${op}: a p2pdma mapping needs pgmap: a Pgmap from Machine.memremapPages (got ${describe(pg)})`, { op });
  const sl = slots.get(pg)!;
  if (sl.machine !== m) throw new PgtemuError('EINVAL', `${op}: that pgmap belongs to another machine`, { op });
  if (pg.type !== 'p2pdma') throw new PgtemuError('EINVAL', `${op}: a p2pdma mapping maps a P2PDMA pgmap (type 'p2pdma'), not a ${pg.type} one`, { op });
  if (pg.state() !== 'live') throw new PgtemuError('EINVAL', `${op}: the P2PDMA pgmap at ${hex(pg.start)} is ${pg.state()} (percpu_ref_tryget_live fails: -ENODEV)`, { op });
  if (shared === false) throw new PgtemuError('EINVAL', `${op}: p2pmem refuses a private mapping (p2pmem_alloc_mmap: "attempted private mapping")`, { op });
  const ps = BigInt(m.desc.pageShift);
  const off = offset === undefined ? 0n : u64Arg(offset, `${op}: offset`);
  if (off % (1n << ps) !== 0n) throw new PgtemuError('EINVAL', `${op}: offset ${hex(off)} is not a multiple of the page size`, { op });
  if (off >= pg.size || len > pg.size - off) throw new PgtemuError('EINVAL', `${op}: offset ${hex(off)} + length ${hex(len)} runs past the pgmap's ${hex(pg.size)} bytes (gen_pool_alloc_owner: -ENOMEM)`, { op });
  return { ptr: sl.ptr, gen: sl.gen, pfn: pg.startPfn + (off >> ps) };
}
