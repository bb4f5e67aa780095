// FS-DAX on the host: files over an fsdax pgmap (Machine.createDaxFile), and
// the filesystem's side of breaking layouts: truncate and evict wait, as
// xfs_break_dax_layouts / ext4_break_layouts and dax_break_layout_final do,
// for each busy page to reach its era's idle count (assembly/dax.ts does the
// rest).

import { pgmapHandle, type Pgmap } from './pgmap.js';
import {
  DAX_EXTENT_SHARED, DAX_EXTENT_WORDS, DAX_FILES_MAX, DAXF_LIVE, DAXF_EVICTED, DAX_SHIFT, DAX_PMD, E_NOSPC, E_BUSY,
} from './consts.gen.js';
import { PgtemuError, hex } from './errors.js';
import { describe, options, optionSpec, u64Arg } from './validate.js';
import type { Machine } from './machine.js';

/** One extent of a file: file bytes [offset, offset + length) at pgmap bytes pgmapOffset.. */
export interface DaxExtentOptions {
  /** bytes into the file (page aligned) */
  offset: bigint | number;
  /** bytes (page aligned) */
  length: bigint | number;
  /** bytes into the pgmap where it lies (page aligned) */
  pgmapOffset: bigint | number;
  /** a reflinked extent (IOMAP_F_SHARED): its pages may back other extents too */
  shared?: boolean;
}

export interface DaxFileOptions {
  /** the fsdax pgmap (Machine.memremapPages, type 'fsdax') the file's blocks lie in */
  pgmap?: Pgmap;
  /**
   * instead of a pgmap, with CONFIG_FS_DAX_LIMITED (s390's dcssblk, to
   * v6.14): the physical address of a DAX device with no struct pages (above
   * RAM, outside every pgmap); the file lies there from its start
   */
  start?: bigint | number;
  /** bytes (page aligned): i_size; every page is allocated (no holes) */
  size: bigint | number;
  /** where the file lies: one extent at this pgmap offset (default 0), or `extents` */
  pgmapOffset?: bigint | number;
  /** the extent map, covering [0, size) exactly once */
  extents?: DaxExtentOptions[];
}
const FILE_OPTIONS = optionSpec({ pgmap: 'object', start: 'bigint|number', size: 'bigint|number', pgmapOffset: 'bigint|number', extents: 'object' });
const EXTENT_OPTIONS = optionSpec({ offset: 'bigint|number', length: 'bigint|number', pgmapOffset: 'bigint|number', shared: 'boolean' });

/** What a finished truncate or evict did. */
export interface DaxBreakResult {
  /** DAX entries deleted (disassociated and erased) */
  deleted: number;
  /** of them, disassociated while a page was still referenced (dax_disassociate_entry's WARN_ON_ONCE) */
  warned: number;
}

/** A DAX page-cache entry (fs/dax.c): the pfn it starts at, and a PMD entry's flag. */
export interface DaxEntry { pfn: bigint; pmd: boolean }

interface FileSlot { machine: Machine; ptr: number; gen: number; pageShift: bigint }
const files = new WeakMap<DaxFile, FileSlot>();

/** createDaxFile's checks, then the core's. */
export function createDaxFile(m: Machine, o: DaxFileOptions): DaxFile {
  const op = 'createDaxFile';
  options(o, op, FILE_OPTIONS, true);
  if (o.pgmap === undefined) return createLimitedFile(m, o);
  const pg = o.pgmap as unknown;
  if (!pg || typeof pg !== 'object' || (pg as Pgmap).constructor?.name !== 'Pgmap') throw new PgtemuError('EINVAL', `${op}: pgmap must be a Pgmap from Machine.memremapPages (got ${describe(pg)})`, { op });
  if (o.start !== undefined) throw new PgtemuError('EINVAL', `${op}: start is for a file without a pgmap (FS_DAX_LIMITED); with a pgmap, say where with pgmapOffset`, { op });
  const pgmap = pg as Pgmap;
  if (pgmap.machine !== m) throw new PgtemuError('EINVAL', `${op}: that pgmap belongs to another machine`, { op });
  if (pgmap.type !== 'fsdax') throw new PgtemuError('EINVAL', `${op}: an FS-DAX file lies in an fsdax pgmap (a pmem namespace in fsdax mode), not a ${pgmap.type} one`, { op });
  if (pgmap.state() !== 'live') throw new PgtemuError('EINVAL', `${op}: the fsdax pgmap at ${hex(pgmap.start)} is ${pgmap.state()}`, { op });
  const ps = BigInt(m.desc.pageShift);
  const page = 1n << ps;
  const bytes = (v: unknown, what: string) => {
    const b = u64Arg(v as bigint, `${op}: ${what}`);
    if (b % page !== 0n) throw new PgtemuError('EINVAL', `${op}: ${what} ${hex(b)} is not a multiple of the page size (${hex(page)})`, { op });
    return b;
  };
  if (o.size === undefined) throw new PgtemuError('EINVAL', `${op}: 'size' is required`, { op });
  const size = bytes(o.size, 'size');
  if (size === 0n) throw new PgtemuError('EINVAL', `${op}: size 0: pgtemu's files have at least one page`, { op });
  if (o.extents !== undefined && o.pgmapOffset !== undefined) throw new PgtemuError('EINVAL', `${op}: give pgmapOffset or extents, not both`, { op });
  const list = o.extents ?? [{ offset: 0n, length: size, pgmapOffset: o.pgmapOffset ?? 0n }];
  if (!Array.isArray(list) || list.length === 0) throw new PgtemuError('EINVAL', `${op}: extents must be a non-empty array`, { op });
  if (list.length * DAX_EXTENT_WORDS > m.outArray.length) throw new PgtemuError('EINVAL', `${op}: ${list.length} extents are more than the machine takes (${Math.floor(m.outArray.length / DAX_EXTENT_WORDS)})`, { op });
  const words: bigint[] = [];
  const spans: [bigint, bigint][] = [];
  list.forEach((x, i) => {
    options(x, `${op}: extents[${i}]`, EXTENT_OPTIONS, true);
    const off = bytes(x.offset, `extents[${i}].offset`), len = bytes(x.length, `extents[${i}].length`), at = bytes(x.pgmapOffset, `extents[${i}].pgmapOffset`);
    if (len === 0n) throw new PgtemuError('EINVAL', `${op}: extents[${i}] is empty`, { op });
    if (off >= size || len > size - off) throw new PgtemuError('EINVAL', `${op}: extents[${i}] [${hex(off)}, ${hex(off + len)}) runs past the file's ${hex(size)} bytes`, { op });
    if (at >= pgmap.size || len > pgmap.size - at) throw new PgtemuError('EINVAL', `${op}: extents[${i}] at pgmap offset ${hex(at)} runs past the pgmap's ${hex(pgmap.size)} bytes`, { op });
    for (const [a, b] of spans) if (off < b && a < off + len) throw new PgtemuError('EINVAL', `${op}: extents[${i}] overlaps another extent of the file at [${hex(a)}, ${hex(b)})`, { op });
    spans.push([off, off + len]);
    words.push(off >> ps, len >> ps, (pgmap.startPfn + (at >> ps)) | (x.shared ? DAX_EXTENT_SHARED : 0n));
  });
  const covered = spans.reduce((t, [a, b]) => t + (b - a), 0n);
  if (covered !== size) throw new PgtemuError('EINVAL', `${op}: the extents cover ${hex(covered)} of the file's ${hex(size)} bytes: pgtemu's files have no holes`, { op });
  if (size >> ps >= 1n << 32n) throw new PgtemuError('EINVAL', `${op}: ${hex(size)} bytes is more pages than a file holds (2^32)`, { op });
  const h = pgmapHandle(pgmap);
  m.putOutList(words);
  const r = m.call('daxFileCreate', { pgmap: h.ptr, gen: h.gen, nrPages: Number(size >> ps), nrExtents: list.length }, op);
  if (r.status < 0) {
    if (r.status === E_NOSPC) throw new PgtemuError('ENOSPC', `${op}: no room for a file of ${size >> ps} pages: ${DAX_FILES_NOTE}`, { op });
    m.fail(r.status, op, `a file of ${hex(size)} bytes`);
  }
  const f = new DaxFile(size);
  files.set(f, { machine: m, ptr: r.file, gen: r.gen, pageShift: ps });
  return f;
}
/**
 * CONFIG_FS_DAX_LIMITED (s390, to v6.14; fs/Kconfig): a DAX block device with
 * no struct pages (dcssblk). Its file maps pfns by pte_mkspecial entries, is
 * never associated with pages, and gup cannot take them (follow_pfn_pte:
 * -EEXIST; FOLL_LONGTERM: -EOPNOTSUPP).
 */
function createLimitedFile(m: Machine, o: DaxFileOptions): DaxFile {
  const op = 'createDaxFile';
  if (!m.era.fsDaxLimited) {
    const why = m.desc.arch === 's390' && m.era.devmapCode && m.model === 'unified'
      ? 's390 has no FS-DAX provider in this kernel ("dcssblk: Mark DAX broken, remove FS_DAX_LIMITED support", v6.15), and no ZONE_DEVICE without a devmap bit'
      : 'a file without a pgmap needs CONFIG_FS_DAX_LIMITED (s390\'s dcssblk, until v6.14); elsewhere give pgmap: an fsdax pgmap';
    throw new PgtemuError('EINVAL', `${op}: ${why}`, { op });
  }
  if (o.start === undefined) throw new PgtemuError('EINVAL', `${op}: a FS_DAX_LIMITED file needs start: the physical address of its DAX device`, { op });
  if (o.extents !== undefined || o.pgmapOffset !== undefined) throw new PgtemuError('EINVAL', `${op}: a FS_DAX_LIMITED file lies at start, one extent (no pgmapOffset or extents)`, { op });
  const ps = BigInt(m.desc.pageShift);
  const page = 1n << ps;
  const start = u64Arg(o.start, `${op}: start`);
  if (o.size === undefined) throw new PgtemuError('EINVAL', `${op}: 'size' is required`, { op });
  const size = u64Arg(o.size, `${op}: size`);
  if (start % page !== 0n || size % page !== 0n || size === 0n) throw new PgtemuError('EINVAL', `${op}: start ${hex(start)} and size ${hex(size)} must be whole pages, size not 0`, { op });
  if (size >> ps >= 1n << 32n) throw new PgtemuError('EINVAL', `${op}: ${hex(size)} bytes is more pages than a file holds (2^32)`, { op });
  m.putOutList([0n, size >> ps, start >> ps]);
  const r = m.call('daxFileCreate', { pgmap: 0, gen: 0, nrPages: Number(size >> ps), nrExtents: 1 }, op);
  if (r.status === E_NOSPC) throw new PgtemuError('ENOSPC', `${op}: no room for a file of ${size >> ps} pages: ${DAX_FILES_NOTE}`, { op });
  if (r.status < 0) throw new PgtemuError('EINVAL', `${op}: [${hex(start)}, ${hex(start + size)}) must lie above RAM, inside the physical address space, and where no pgmap has struct pages (a dcssblk segment has none)`, { op });
  const f = new DaxFile(size);
  files.set(f, { machine: m, ptr: r.file, gen: r.gen, pageShift: ps });
  return f;
}

const DAX_FILES_NOTE = `a machine holds ${DAX_FILES_MAX} files, their entries in Machine.create option daxFilesMiB (8 bytes a page)`;


/** A file's handle for the core (mmap). @internal */
export function daxFileHandle(m: Machine, f: unknown, op: string): { ptr: number; gen: number } {
  const s = f instanceof DaxFile ? files.get(f) : undefined;
  if (!s) throw new PgtemuError('EINVAL', `${op}: file must be a DaxFile from Machine.createDaxFile (got ${describe(f)})`, { op });
  if (s.machine !== m) throw new PgtemuError('EINVAL', `${op}: that file belongs to another machine`, { op });
  if ((m.rd(s.ptr, 'DaxFile', 'state')) !== DAXF_LIVE) throw new PgtemuError('EINVAL', `${op}: that file was evicted`, { op });
  return s;
}

/**
 * An FS-DAX file: an inode whose pages are pmem blocks, mapped by
 * mm.mmap({ kind: 'fsdax', file }). truncate() and evict() break its
 * layouts as the filesystem does: they return a DaxWait that is done at once
 * when no page is busy, or waits for the busy page to become idle.
 */
export class DaxFile {
  /** @internal */
  constructor(readonly initialSize: bigint) { Object.freeze(this); }

  private slot(op: string): FileSlot {
    const s = files.get(this);
    if (!s) throw new PgtemuError('EINVAL', `${op}: not a file made by Machine.createDaxFile`, { op });
    return s;
  }

  /** i_size in bytes */
  get size(): bigint { const s = this.slot('size'); return BigInt(s.machine.rd(s.ptr, 'DaxFile', 'nrPages')) << s.pageShift; }
  /** 'live', or 'evicted' once evict() finished */
  get state(): 'live' | 'evicted' { const s = this.slot('state'); return (s.machine.rd(s.ptr, 'DaxFile', 'state')) === DAXF_EVICTED ? 'evicted' : 'live'; }
  /** disassociations of a still-referenced page so far (WARN_ON_ONCE in dax_disassociate_entry) */
  get warnings(): number { const s = this.slot('warnings'); return s.machine.rd(s.ptr, 'DaxFile', 'warned'); }

  /** The DAX entry at file byte offset `at` (a page's), or undefined. */
  entry(at: bigint | number): DaxEntry | undefined {
    const s = this.slot('entry');
    const off = u64Arg(at, 'entry: offset');
    const idx = off >> s.pageShift;
    const cap = BigInt(s.machine.rd(s.ptr, 'DaxFile', 'cap'));
    if (idx >= cap) throw new PgtemuError('EINVAL', `entry: offset ${hex(off)} is past the file's ${hex(cap << s.pageShift)} bytes`);
    const base = s.machine.rd(s.ptr, 'DaxFile', 'entries');
    const e = s.machine.readU64(base + Number(idx) * 8);
    if (e === 0n) return undefined;
    return { pfn: e >> BigInt(DAX_SHIFT), pmd: (e & DAX_PMD) !== 0n };
  }

  /**
   * truncate(2) on a DAX file (xfs_setattr_size / ext4_setattr): break the
   * layouts (wait until no page is busy), then truncate_setsize. Returns the
   * wait: done at once if no page was busy.
   */
  truncate(size: bigint | number): DaxWait {
    const s = this.slot('truncate');
    const b = u64Arg(size, 'truncate: size');
    const page = 1n << s.pageShift;
    if (b % page !== 0n) throw new PgtemuError('EINVAL', `truncate: size ${hex(b)} is not a multiple of the page size`, { op: 'truncate' });
    const cap = BigInt(s.machine.rd(s.ptr, 'DaxFile', 'cap')) << s.pageShift;
    if (b > cap) throw new PgtemuError('EINVAL', `truncate: size ${hex(b)} is past the blocks the file has (${hex(cap)}): pgtemu's files do not grow`, { op: 'truncate' });
    this.live(s, 'truncate');
    return new DaxWait(s, 'truncate', b >> s.pageShift, true);
  }

  /**
   * evict_inode, as unmount does for every inode: unified kernels wait for
   * every page to be idle first (dax_break_layout_final); legacy ones delete
   * the entries at once (truncate_inode_pages_final; a busy page WARNs). The
   * file must not be mapped any more.
   */
  evict(): DaxWait {
    const s = this.slot('evict');
    this.live(s, 'evict');
    return new DaxWait(s, 'evict', 0n, s.machine.model === 'unified');
  }

  private live(s: FileSlot, op: string): void {
    if ((s.machine.rd(s.ptr, 'DaxFile', 'state')) !== DAXF_LIVE) throw new PgtemuError('EINVAL', `${op}: the file was evicted`, { op });
  }
}

const stillMapped = (op: string) =>
  new PgtemuError('EBUSY', `${op}: the file is still mapped (an inode is evicted once nothing maps it: munmap first)`, { op });

/**
 * A filesystem waiting for a busy DAX page (___wait_var_event on the page's
 * refcount): 'waiting' while the page at `pfn` is referenced beyond its
 * era's idle count (legacy refcount 1, unified 0), 'done' once the layouts
 * were broken and the truncate or eviction finished. poll() re-checks (the
 * kernel re-checks on every wake); `done` resolves when it finishes.
 */
export class DaxWait {
  state: 'waiting' | 'done' = 'waiting';
  /** the busy page waited for, while waiting */
  pfn?: bigint;
  /** the wake condition on it: 'refcount == 1' (legacy) or 'refcount == 0' (unified) */
  readonly condition: 'refcount == 1' | 'refcount == 0';
  /** how many busy pages it has waited for so far */
  waits = 0;
  result?: DaxBreakResult;
  private resolve!: (r: DaxBreakResult) => void;
  private reject!: (e: unknown) => void;
  readonly done: Promise<DaxBreakResult>;

  /** @internal */
  constructor(private readonly s: FileSlot, private readonly what: 'truncate' | 'evict', private readonly size: bigint, private readonly breaks: boolean) {
    this.condition = s.machine.model === 'unified' ? 'refcount == 0' : 'refcount == 1';
    this.done = new Promise((res, rej) => { this.resolve = res; this.reject = rej; });
    this.done.catch(() => undefined);
    this.poll();
  }

  /** The busy page's refcount now (while waiting). */
  machineRefcount(): number { return this.pfn === undefined ? 0 : this.s.machine.page(this.pfn).refcount; }

  /** Re-check the wait; true once done. */
  poll(): boolean {
    if (this.state === 'done') return true;
    const m = this.s.machine;
    try {
      if (this.pfn !== undefined) {
        const rc = m.page(this.pfn).refcount;
        if (rc !== (this.condition === 'refcount == 0' ? 0 : 1)) return false;   // still busy: wait on
        this.pfn = undefined;
      }
      if (this.breaks) {
        for (;;) {
          const b = m.call('daxBreak', { file: this.s.ptr, gen: this.s.gen, size: 0n, evict: this.what === 'evict' ? 1 : 0 }, this.what);
          if (b.status === E_BUSY) throw stillMapped(this.what);
          if (b.status < 0) m.fail(b.status, this.what, 'breaking the file\'s layouts');
          if (!b.busy) break;
          this.pfn = b.pfn;
          this.waits++;
          const rc = m.page(b.pfn).refcount;
          if (rc !== (this.condition === 'refcount == 0' ? 0 : 1)) return false;
          this.pfn = undefined;                       // idle already: scan again
        }
      }
      const r = this.what === 'truncate'
        ? m.call('daxTruncate', { file: this.s.ptr, gen: this.s.gen, size: this.size, evict: 0 }, 'truncate')
        : m.call('daxEvict', { file: this.s.ptr, gen: this.s.gen, size: 0n, evict: 1 }, 'evict');
      if (r.status < 0) {
        if (r.status === E_BUSY) throw stillMapped(this.what);
        m.fail(r.status, this.what, 'the file');
      }
      this.result = { deleted: r.deleted, warned: r.warned };
      this.state = 'done';
      this.resolve(this.result);
      return true;
    } catch (e) {
      this.reject(e);
      throw e;
    }
  }
}

