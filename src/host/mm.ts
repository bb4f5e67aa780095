// An address space (struct mm_struct) of a machine: its VMAs (mmap,
// munmap), its faults and populate, zap, gup-fast and the migration of a page
// to device memory. Every operation is one core call on the machine's context.

import {
  FOLL_PIN, FOLL_GET, FOLL_WRITE, FOLL_LONGTERM, FOLL_FAST_ONLY, FOLL_NOFAULT, FOLL_PCI_P2PDMA, E_BADTABLE, VM_READ, VM_WRITE, VM_SHARED,
  KIND_ANON, KIND_HUGETLB, KIND_PFNMAP, KIND_DEVDAX, KIND_FSDAX, KIND_P2PDMA, MMF_HAS_PINNED, GUP_OUT_RUNS,
} from './consts.gen.js';
import type { GupBuffer, GupResult } from './gupresult.js';
import { daxFileHandle, type DaxFile } from './daxfs.js';
import { devdaxMmapArgs, p2pmemMmapArgs, Pgmap } from './pgmap.js';
import { PgtemuError, hex } from './errors.js';
import { describe, mmapArgs, options, optionSpec, populateOrUnmap, toBig, u64Arg, userRange, type VmaKind } from './validate.js';
import type { Machine } from './machine.js';

export interface MmapOptions {
  start: bigint | number;
  length: bigint | number;
  kind?: VmaKind;
  /** folio order of faults: 0, the pmd order (THP / 2 MiB) or the pud order (hugetlb 1 GiB) */
  hugeOrder?: number;
  read?: boolean;
  write?: boolean;
  shared?: boolean;
  /** pfnmap: first pfn mapped */
  pfn?: bigint | number;
  /** devdax: the device-DAX pgmap (Machine.memremapPages, type 'devdax') the mapping maps; faults at its folioOrder */
  pgmap?: Pgmap;
  /** devdax: bytes into the device where the mapping starts (default 0), a multiple of its align; fsdax: bytes into the file (vm_pgoff), page aligned */
  offset?: bigint | number;
  /** fsdax: the file (Machine.createDaxFile); faults PMD-sized where they can, base pages with hugeOrder 0; shared unless shared: false (a private mapping copies on write) */
  file?: DaxFile;
  /** fault everything in now (MAP_POPULATE) */
  populate?: boolean;
}

export interface MmCounters {
  /** MM_ANONPAGES */
  rssAnon: bigint;
  /** MM_FILEPAGES */
  rssFile: bigint;
  /** mm->hugetlb_usage (hugetlb_count_add / _sub), in base pages: hugetlb is not in the RSS counters */
  hugetlbPages: bigint;
  /** mm->pgtables_bytes */
  pgtablesBytes: bigint;
  /** MMF_HAS_PINNED */
  hasPinned: boolean;
}

export interface GupOptions {
  /** FOLL_PIN (pin_user_pages_fast) rather than FOLL_GET (get_user_pages_fast) */
  pin?: boolean;
  write?: boolean;
  /** FOLL_LONGTERM: only with pin (is_valid_gup_args refuses it otherwise: ret -EINVAL) */
  longterm?: boolean;
  /** FOLL_FAST_ONLY: no slow path */
  fastOnly?: boolean;
  /** FOLL_NOFAULT: the slow path never faults */
  noFault?: boolean;
  /** FOLL_PCI_P2PDMA: the caller can take P2PDMA pages (without it gup refuses them: -EREMOTEIO); not with longterm */
  pciP2pdma?: boolean;
  /**
   * Report pages as runs of one folio (GupResult.runs): a huge leaf's pages
   * come back as one (first pfn, pages) record, and go back with one
   * gup_put_folio per run. `pfns` is then built from the runs when read.
   */
  runs?: boolean;
  /**
   * Fill this GupBuffer (Machine.gupBuffer) and return it rather than a new
   * GupResult: nothing is allocated or copied per call; its pfns view the
   * core's output array in place.
   */
  into?: GupBuffer;
}

const MMAP_OPTIONS = optionSpec({
  start: 'bigint|number', length: 'bigint|number', kind: 'string', hugeOrder: 'number', read: 'boolean', write: 'boolean',
  shared: 'boolean', pfn: 'bigint|number', populate: 'boolean', pgmap: 'object', offset: 'bigint|number', file: 'object',
});
const GUP_OPTIONS = optionSpec(
  { pin: 'boolean', write: 'boolean', longterm: 'boolean', fastOnly: 'boolean', noFault: 'boolean', pciP2pdma: 'boolean' },
  { runs: 'boolean', into: 'object' },
);
const FAULT_OPTIONS = optionSpec({ write: 'boolean' });
const MIGRATE_OPTIONS = optionSpec({ pgmap: 'object', pfn: 'bigint|number' });

const big = toBig;

export class Mm {
  private dead = false;
  constructor(readonly machine: Machine, readonly ptr: number, readonly rootPa: bigint) {}

  /** @internal */ live(op: string): void {
    if (this.dead) throw new PgtemuError('EINVAL', `${op}: this address space was destroyed`);
  }

  private range(op: string, start: bigint | number, length: bigint | number): [bigint, bigint] {
    this.live(op);
    return userRange(this.machine.desc, op, start, length);
  }

  /** mmap: a VMA over [start, start + length); faults fill it later (or now, with populate). */
  mmap(o: MmapOptions): void {
    this.live('mmap');
    options(o, 'mmap', MMAP_OPTIONS, true);
    const m = this.machine;
    const [s, len] = this.range('mmap', o.start, o.length);
    const a = mmapArgs(m.desc, m.leafOrders, o, s, len);
    const { kind, read, write, shared } = a;
    let { order, pfn } = a;
    let pgmap = 0, gen = 0;
    if (kind === 'devdax') ({ ptr: pgmap, gen, pfn, order } = devdaxMmapArgs(m, o.pgmap, o.offset, o.shared, s, len));
    if (kind === 'p2pdma') ({ ptr: pgmap, gen, pfn } = p2pmemMmapArgs(m, o.pgmap, o.offset, o.shared, s, len));
    if (kind === 'fsdax') {
      ({ ptr: pgmap, gen } = daxFileHandle(m, o.file, 'mmap'));
      const off = o.offset === undefined ? 0n : u64Arg(o.offset, 'mmap: offset');
      const page = 1n << BigInt(m.desc.pageShift);
      if (off % page !== 0n) throw new PgtemuError('EINVAL', `mmap: offset ${hex(off)} is not a multiple of the page size`, { op: 'mmap' });
      if (off >> BigInt(m.desc.pageShift) >= 1n << 32n) throw new PgtemuError('EINVAL', `mmap: offset ${hex(off)} is past any file pgtemu holds`, { op: 'mmap' });
      pfn = off >> BigInt(m.desc.pageShift);               // vm_pgoff (a mapping past i_size faults SIGBUS, as in the kernel)
    }
    const kinds: Record<VmaKind, number> = { anon: KIND_ANON, hugetlb: KIND_HUGETLB, pfnmap: KIND_PFNMAP, devdax: KIND_DEVDAX, fsdax: KIND_FSDAX, p2pdma: KIND_P2PDMA };
    const flags = (read ? VM_READ : 0) | (write ? VM_WRITE : 0) | (shared ? VM_SHARED : 0);
    const st = m.call('mmap', { mm: this.ptr, start: s, len, flags, kind: kinds[kind], order, pfn, pgmap, gen }, 'mmap', s).status;
    if (st < 0) m.fail(st, 'mmap', `[${hex(s)}, ${hex(s + len)})`, s);
    // __mm_populate skips VM_PFNMAP VMAs (remap_pfn_range built them at mmap time); p2pmem inserted its pages at mmap
    if (o.populate && kind !== 'pfnmap' && kind !== 'p2pdma') populateOrUnmap(this, () => m.lastOp(), s, len, o.write ?? true);
  }

  /**
   * munmap: entries, the VMAs and the tables of [start, start + length) that
   * no other VMA can use (free_pgtables: a table goes only if its span lies
   * between the neighbouring VMAs).
   */
  munmap(start: bigint | number, length: bigint | number): void {
    this.unmap(start, length, 0);
  }

  /** @internal munmap, also freeing the empty tables operation `gen` (a failed populate) built. */
  unmap(start: bigint | number, length: bigint | number, gen: number): void {
    const m = this.machine;
    const [s, len] = this.range('munmap', start, length);
    const st = m.call('munmap', { mm: this.ptr, start: s, len, gen }, 'munmap', s).status;
    if (st < 0) m.fail(st, 'munmap', `[${hex(s)}, ${hex(s + len)})`, s);
  }

  /** zap_page_range (MADV_DONTNEED): entries go, tables and VMAs stay. */
  zap(start: bigint | number, length: bigint | number): void {
    const m = this.machine;
    const [s, len] = this.range('zap', start, length);
    const st = m.call('zap', { mm: this.ptr, start: s, len }, 'zap', s).status;
    if (st < 0) m.fail(st, 'zap', `[${hex(s)}, ${hex(s + len)})`, s);
  }

  /** handle_mm_fault for one address. Throws (EFAULT, ENOMEM, ENOTABLE) with nothing changed. */
  fault(addr: bigint | number, o?: { write?: boolean }): void {
    this.live('fault');
    o = options(o, 'fault', FAULT_OPTIONS);
    const m = this.machine;
    const va = m.checkUser(big(addr, 'fault: address'), 'address', 'fault');
    const st = m.call('fault', { mm: this.ptr, addr: va, write: o.write ? 1 : 0 }, 'fault', va).status;
    if (st < 0) m.fail(st, 'fault', `${o.write ? 'write' : 'read'} fault at ${hex(va)}`, va);
  }

  /** MADV_POPULATE_READ / _WRITE: one fault per leaf over the range. Returns bytes populated. */
  populate(start: bigint | number, length: bigint | number, o?: { write?: boolean }): bigint {
    o = options(o, 'populate', FAULT_OPTIONS);
    const m = this.machine;
    const [s, len] = this.range('populate', start, length);
    const r = m.call('populate', { mm: this.ptr, start: s, len, write: o.write ? 1 : 0 }, 'populate', s);
    const st = r.status, done = r.done;
    if (st < 0) {
      const at = r.at;
      m.fail(st, 'populate', `the fault at ${hex(at)}, after ${hex(done)} bytes of [${hex(s)}, ${hex(s + len)}) (the pages before stay populated)`, at);
    }
    return done;
  }

  /**
   * get_user_pages_fast / pin_user_pages_fast for nr pages from addr: the
   * lockless walk, then the slow path (faults under the mm lock) for the rest.
   */
  gupFast(addr: bigint | number, nr: number, o?: GupOptions): GupResult {
    this.live('gupFast');
    o = options(o, 'gupFast', GUP_OPTIONS);
    const m = this.machine;
    const va = big(addr, 'gupFast: address');
    const g0 = m.gupConsts;
    if (va < 0n || va >= g0.userTop) m.checkUser(va, 'address', 'gupFast');   // (throws, naming it)
    if (!Number.isInteger(nr) || nr <= 0 || nr > m.maxPagesPerCall) {
      throw new PgtemuError('EINVAL', `gupFast: nr ${nr} is not in 1..${m.maxPagesPerCall}`, { op: 'gupFast', address: va });
    }
    // gup_fast_fallback: start = va & PAGE_MASK, and start + (nr << PAGE_SHIFT) within user
    // space. The core rounds va down; the last va that passes is kept per nr (no BigInt made per call).
    if (nr !== g0.nr) { g0.nr = nr; g0.lastVa = g0.userTop - (BigInt(nr) << g0.pageShift) + ~g0.pageMask; }
    if (va > g0.lastVa) m.checkUser((va & g0.pageMask) + (BigInt(nr) << g0.pageShift) - 1n, 'end', 'gupFast');
    let flags = o.pin ? FOLL_PIN : FOLL_GET;
    if (o.write) flags |= FOLL_WRITE;
    if (o.longterm) flags |= FOLL_LONGTERM;
    if (o.fastOnly) flags |= FOLL_FAST_ONLY;
    if (o.noFault) flags |= FOLL_NOFAULT;
    if (o.pciP2pdma) flags |= FOLL_PCI_P2PDMA;
    const runs = !!o.runs;
    const into = o.into;
    if (into !== undefined) m.results.checkInto(into, va);
    const g = m.call('gup', { mm: this.ptr, start: va, nr, flags: runs ? flags | GUP_OUT_RUNS : flags }, 'gupFast', va);
    const ret = g.status;
    if (ret === E_BADTABLE) m.fail(ret, 'gupFast', `${nr} pages from ${hex(va)}`, va);
    const entries = ret > 0 ? g.entries : 0;
    return m.results.took(ret, g.fast, flags, !!o.pin, runs, entries, into);
  }

  /**
   * migrate_vma (mm/migrate_device.c) of the anon page at addr to the free
   * page `pfn` of a device-private or device-coherent pgmap, as a driver
   * (lib/test_hmm.c, nouveau) moves it: zone_device_page_init, the page takes
   * the anon mapping, and the pte becomes a device-private entry (a
   * swap-style, non-present pte) or, for coherent memory, a normal one. The
   * source page is freed. A CPU fault (or the gup slow path) moves a
   * device-private page back (ops->migrate_to_ram).
   */
  migrateToDevice(addr: bigint | number, o: { pgmap: Pgmap; pfn: bigint | number }): void {
    this.live('migrateToDevice');
    options(o, 'migrateToDevice', MIGRATE_OPTIONS, true);
    const a = u64Arg(addr, 'migrateToDevice: addr');
    if (o.pfn === undefined || o.pgmap === undefined) throw new PgtemuError('EINVAL', 'migrateToDevice: pgmap and pfn are required');
    const pg = o.pgmap as unknown;
    if (!(pg instanceof Pgmap)) throw new PgtemuError('EINVAL', `migrateToDevice: pgmap must be a Pgmap (got ${describe(pg)})`);
    if (pg.machine !== this.machine) throw new PgtemuError('EINVAL', 'migrateToDevice: that pgmap belongs to another machine');
    if (pg.type !== 'device-private' && pg.type !== 'device-coherent') throw new PgtemuError('EINVAL', `migrateToDevice: pages move to device-private or device-coherent memory, not ${pg.type}`);
    const pfn = u64Arg(o.pfn, 'migrateToDevice: pfn');
    if (pfn < pg.startPfn || pfn >= pg.endPfn) throw new PgtemuError('EINVAL', `migrateToDevice: pfn ${hex(pfn)} is outside the pgmap [${hex(pg.startPfn)}, ${hex(pg.endPfn)})`);
    if (pg.state() !== 'live') throw new PgtemuError('EINVAL', `migrateToDevice: the pgmap is ${pg.state()} (zone_device_page_init's percpu_ref_tryget_live fails)`);
    this.machine.migrate(this.ptr, pg, pfn, a);
  }

  /** The VMAs, in address order. */
  vmas(): { start: bigint; end: bigint; kind: VmaKind; order: number; flags: number }[] {
    this.live('vmas');
    const m = this.machine;
    const n = m.rd(this.ptr, 'Mm', 'nrVmas');
    const base = m.rd(this.ptr, 'Mm', 'vmas');
    const size = m.layout.size.Vma;
    const kinds: VmaKind[] = ['anon', 'hugetlb', 'pfnmap', 'devdax', 'fsdax', 'p2pdma'];
    return Array.from({ length: n }, (_, i) => ({
      start: m.rd(base + i * size, 'Vma', 'start'),
      end: m.rd(base + i * size, 'Vma', 'end'),
      kind: kinds[m.rd(base + i * size, 'Vma', 'kind')],
      order: m.rd(base + i * size, 'Vma', 'order'),
      flags: m.rd(base + i * size, 'Vma', 'flags'),
    }));
  }

  /** rss counters, hugetlb pages (mm->hugetlb_usage, base pages) and page-table bytes */
  counters(): MmCounters {
    this.live('counters');
    const m = this.machine;
    return {
      rssAnon: m.rd(this.ptr, 'Mm', 'rssAnon'),
      rssFile: m.rd(this.ptr, 'Mm', 'rssFile'),
      hugetlbPages: m.rd(this.ptr, 'Mm', 'hugetlbUsage'),
      pgtablesBytes: m.rd(this.ptr, 'Mm', 'pgtablesBytes'),
      hasPinned: ((m.rd(this.ptr, 'Mm', 'flags')) & MMF_HAS_PINNED) !== 0,
    };
  }

  /** exit_mmap: unmap everything and free every table. */
  destroy(): void {
    this.live('destroy');
    const m = this.machine;
    const st = m.call('mmDestroy', { mm: this.ptr }, 'destroy').status;
    if (st < 0) m.fail(st, 'destroy', 'address space');
    this.dead = true;
    m.forget(this);
  }
}
