// pgtemu pte: decode an entry (bits by kernel name, pfn, helpers, what gup-fast
// does with it) or build one from bit names; list a level's bit names.
import { Command } from 'commander';
import {
  decodeEntry, decodeLeafPa, decodeSwapEntry, decodeTablePa, encodeDevicePrivateEntry, encodeLeafEntry, encodeSwapEntryChecked,
  entryBitNames, gupFastAccepts, hardwareVerdict, maskOf, matchPred,
  type Descriptor, type LevelDescriptor, type SwapEntryInfo,
} from '../host/archdesc.js';
import { resolve } from '../host/presets.js';
import { PgtemuError } from '../host/errors.js';
import { archOption, checkVariant, hex, jsonOption, kernelOption, parseValue, variantOption, type Io } from './common.js';
import { kernelHelpers, kernelPrefixes } from './helpers.js';

export function pickLevel(d: Descriptor, level: string | undefined): number {
  if (level === undefined) return d.levels.length - 1;
  const byName = d.levels.findIndex((l) => l.name === level);
  if (byName >= 0) return byName;
  if (/^\d+$/.test(level) && Number(level) < d.levels.length) return Number(level);
  throw new PgtemuError('EINVAL', `--level '${level}' is not a level of ${d.arch}/${d.variant} (${d.levels.map((l) => l.name).join(', ')})`);
}

/** The bit names a level's helpers read, with their bit numbers (lowest first). */
export function levelBits(d: Descriptor, l: LevelDescriptor): { name: string; bit: number }[] {
  const names = new Set([...l.bitNames, ...l.tableBitNames]);
  return Object.entries(d.bits).filter(([n, b]) => names.has(n) && b >= 0)
    .map(([name, bit]) => ({ name, bit })).sort((a, b) => a.bit - b.bit || a.name.localeCompare(b.name));
}

/** Bit names set in an entry, outside its address field. */
function setBits(d: Descriptor, l: LevelDescriptor, e: bigint, leaf: boolean, table: boolean): string[] {
  if (table) {
    // a table entry: the address, the level's table bits by name, and any fixed value
    // the level ORs in (ppc64 NLS, loongarch's direct-map window) as a number
    const named = l.tableBitNames.map((n) => [n, d.bits[n]] as const).filter(([, b]) => ((e >> BigInt(b)) & 1n) === 1n);
    const namedMask = named.reduce((m, [, b]) => m | (1n << BigInt(b)), 0n);
    const rest = e & l.tableTemplate & ~namedMask & ~l.tableAddr.mask;
    return [...named.map(([n]) => n), ...(rest ? [`0x${rest.toString(16)}`] : [])];
  }
  const field = leaf || l.isLast ? l.leafAddr.mask : l.tableAddr.mask;
  const byBit = new Map<number, string[]>();
  // names this level's helpers use first (s390 names its segment bits apart from its pte bits)
  const own = new Set(l.bitNames);
  const names = Object.entries(d.bits).filter(([n]) => own.has(n));
  const ownBits = new Set(names.map(([, b]) => b));
  for (const [name, bit] of [...names, ...Object.entries(d.bits).filter(([n, b]) => !own.has(n) && !ownBits.has(b))]) {
    if (bit < 0 || ((1n << BigInt(bit)) & field) !== 0n) continue;
    if (((e >> BigInt(bit)) & 1n) === 1n) byBit.set(bit, [...(byBit.get(bit) ?? []), name]);
  }
  return [...byBit.entries()].sort((a, b) => a[0] - b[0]).map(([, n]) => n.join('/'));
}

/** What gup-fast (mm/gup.c) does with this entry at this level. */
export function gupVerdict(d: Descriptor, l: LevelDescriptor, e: bigint, write: boolean): string {
  const f = decodeEntry(l, e);
  if ((e & l.noneMask) === l.empty) return 'none: gup-fast stops; the slow path faults';
  if (!f.present) {
    const sw = decodeSwapEntry(d, d.levels.indexOf(l), e);
    if (sw?.devicePrivate) return 'device-private: not present, gup-fast stops; the slow path faults (do_swap_page: pgmap->ops->migrate_to_ram)';
    if (l.gupFastNoneOnly) return 'not present to pgd_present, but gup_fast_pgd_range asks pgd_none only: gup-fast descends as into a table (in pgtemu, while the entry names the table it linked)';
    return 'not present: gup-fast stops; the slow path faults (swap, migration)';
  }
  if (f.table) return 'table: the walk continues at the next level';
  // gup_fast_pmd_range .. _p4d_range ask present and leaf, never pXd_bad (assembly/gup_fast.ts)
  if (!f.leaf) return 'bad: pXd_bad to the walkers, but gup-fast never asks it: it descends as into a table (in pgtemu, while the entry names the table it linked)';
  if (f.protnone) return 'protnone: gup-fast stops (NUMA hinting fault in the slow path)';
  const p = (n: 'access' | 'write') => matchPred(l.preds[n], e);
  if (!p('access')) return 'not user-accessible: pXd_access_permitted fails, gup-fast stops';
  if (write && !p('write')) return 'read-only: FOLL_WRITE stops gup-fast (the slow path breaks COW)';
  if (d.hasDevmap && f.devmap) return 'devmap: gup-fast takes a pgmap reference (get_dev_pagemap) before the page; FOLL_LONGTERM bails';
  if (f.special) return 'special: gup-fast bails (vm_normal_page has no page: pfnmap or zero page)';
  if (!gupFastAccepts(l, e, write)) return 'gup-fast stops';
  // no struct page can exist at or above MAX_PHYSMEM_BITS (no memory section covers it)
  const pa = decodeLeafPa(l, e);
  if (pa >= 1n << BigInt(d.maxPhysBits)) {
    // v6.12 mm/gup.c: gup_fast_pte_range has VM_BUG_ON(!pfn_valid(pte_pfn(pte))) before pte_page;
    // gup_fast_pmd_leaf / _pud_leaf take pmd_page / pud_page with no check
    return `no struct page: ${hex(pa)} is at or above MAX_PHYSMEM_BITS (${d.maxPhysBits}); the kernel's gup-fast takes ${l.isLast ? 'pte_page() unchecked but for VM_BUG_ON(!pfn_valid) with DEBUG_VM' : 'the leaf\'s page unchecked'}, pgtemu's stops`;
  }
  return l.isLast ? 'grab: try_grab_folio_fast on the page' : `grab: one try_grab_folio_fast for the subpages of this ${l.name} leaf`;
}

export function describeEntry(d: Descriptor, li: number, e: bigint, write: boolean) {
  const l = d.levels[li];
  const f = decodeEntry(l, e);
  const leaf = f.leaf;
  const pa = leaf ? decodeLeafPa(l, e) : f.table ? decodeTablePa(l, e) : undefined;
  // x86 stores the pfn of a non-present entry inverted (L1TF: pte_pfn undoes it,
  // arch/x86/include/asm/pgtable-invert.h); the entry's raw address bits are not the pfn
  const inverted = e !== 0n && matchPred(l.preds.invert, e);
  const prefix = kernelPrefixes(d)[li];
  const swap = decodeSwapEntry(d, li, e);
  return {
    arch: d.arch, variant: d.variant, kernel: d.kernel, level: l.name, kernelLevel: prefix, value: hex(e),
    kind: (e & l.noneMask) === l.empty ? 'none' : !f.present ? 'not-present' : leaf ? 'leaf' : f.table ? 'table' : 'bad',
    // a table entry: its table bits and any fixed value; a swap entry: the bits outside its
    // type and offset fields; otherwise each set bit by the name that applies at this level
    // and in this state (arm64 NG, not PRESENT_INVALID, on a valid page)
    bits: f.table ? setBits(d, l, e, leaf, f.table) : swap ? swapBits(d, e, swap) : entryBitNames(d, li, e),
    swap: swap && swapView(d, swap),
    pa: pa === undefined ? undefined : hex(pa),
    pfn: leaf && pa !== undefined ? hex(pa >> BigInt(d.pageShift)) : undefined,
    pfnInverted: inverted,
    size: leaf ? hex(1n << BigInt(l.shift)) : undefined,
    flags: f,
    helpers: kernelHelpers(d, li, f),
    gupFast: gupVerdict(d, l, e, write),
    ...hardwareView(d, li, e, f),
  };
}

/** A swap entry's bits outside its type and offset fields: the fixed bits by name, the swp flags, and anything else. */
function swapBits(d: Descriptor, e: bigint, sw: SwapEntryInfo): string[] {
  const s = d.swap;
  const named = Object.entries(d.bits).filter(([, b]) => b >= 0 && ((s.set >> BigInt(b)) & 1n) === 1n && ((e >> BigInt(b)) & 1n) === 1n);
  const seen = new Set<number>();
  const out: string[] = [];
  for (const [n, b] of named) if (!seen.has(b)) { seen.add(b); out.push(n); }
  if (sw.exclusive) out.push('SWP_EXCLUSIVE');
  if (sw.softDirty) out.push('SWP_SOFT_DIRTY');
  if (sw.uffdWp) out.push('SWP_UFFD_WP');
  if (sw.stray) out.push(hex(sw.stray));
  return out;
}

/** The swap entry for printing (kernel names, hex numbers). */
function swapView(d: Descriptor, sw: SwapEntryInfo) {
  const s = d.swap;
  const field = (f: { shift: number; bits: number; inverted: boolean }) => `bits ${f.shift}..${f.shift + f.bits - 1}${f.inverted ? ', stored inverted' : ''}`;
  return {
    type: sw.type,
    typeName: sw.typeName ?? `swap area ${sw.type}`,
    offset: hex(sw.offset),
    devicePrivate: sw.devicePrivate && { pfn: hex(sw.devicePrivate.pfn), writable: sw.devicePrivate.writable },
    exclusive: sw.exclusive, softDirty: sw.softDirty, uffdWp: sw.uffdWp,
    offsetHigh: sw.offsetHigh ? hex(sw.offsetHigh) : undefined,
    stray: sw.stray ? hex(sw.stray) : undefined,
    helpers: sw.helpers,
    layout: `type ${field(s.type)}, offset ${field(s.offset)} (${s.cite}); `
      + (s.deviceWrite < 0 ? 'no SWP_DEVICE types (CONFIG_DEVICE_PRIVATE needs ZONE_DEVICE)' : `SWP_DEVICE_WRITE ${s.deviceWrite}, SWP_DEVICE_READ ${s.deviceRead}`)
      + `, MAX_SWAPFILES ${s.maxSwapfiles} (${s.typesCite})`,
  };
}

/**
 * What the MMU makes of the entry (the variant's hardware description, never
 * the kernel preset), and whether that differs from what the kernel's
 * helpers say: PROT_NONE, for one, is present to Linux and a fault to the MMU.
 */
function hardwareView(d: Descriptor, li: number, e: bigint, f: ReturnType<typeof decodeEntry>) {
  const l = d.levels[li];
  const h = hardwareVerdict(d, li, e);
  const linuxKind = (e & l.noneMask) === l.empty ? 'none' : !f.present ? 'invalid' : f.leaf ? 'leaf' : f.table ? 'table' : 'bad';
  const linuxPa = f.leaf ? decodeLeafPa(l, e) : f.table ? decodeTablePa(l, e) : undefined;
  const differs = linuxKind !== h.kind || (h.pa !== undefined && linuxPa !== undefined && h.pa !== linuxPa);
  const say = (kind: string, pa?: bigint, size?: bigint): string => {
    switch (kind) {
      case 'leaf': return `leaf (${size !== undefined ? `${size >> 10n} KiB` : ''}) at ${hex(pa ?? 0n)}`;
      case 'table': return `table at ${hex(pa ?? 0n)}`;
      case 'invalid': return 'invalid — a translation fault';
      case 'bad': return 'malformed — a reserved-bit / specification fault';
      default: return 'empty';
    }
  };
  return {
    hardware: { kind: h.kind, pa: h.pa === undefined ? undefined : hex(h.pa), size: h.size === undefined ? undefined : hex(h.size), cite: h.cite, text: say(h.kind, h.pa, h.size) },
    differs,
    /** one line for a person when the views differ */
    // (the same kind at two addresses: an address field read differently, as arm64's
    // PTE_ADDR_LOW reaches bit 49 where the MMU's output address stops at 47)
    differsNote: !differs ? undefined : linuxKind === h.kind
      ? `a ${linuxKind === 'leaf' ? 'present leaf' : linuxKind} at ${hex(linuxPa ?? 0n)} to Linux, at ${hex(h.pa ?? 0n)} to the MMU`
      : `${linuxKind === 'invalid' ? 'not present' : linuxKind === 'leaf' ? 'a present leaf' : `${linuxKind}`} to Linux, ${h.kind === 'invalid' ? 'a fault' : say(h.kind, h.pa, h.size)} to the MMU`,
  };
}

/** pfn_pte(pfn, prot) at level `li`, refusing a pfn the entry cannot hold as given. */
function encode(d: Descriptor, li: number, names: string[], pa: bigint, what: string): bigint {
  const l = d.levels[li];
  if (!l.leafOk) throw new PgtemuError('EINVAL', `--encode: ${l.name} entries of ${d.arch}/${d.variant} are never leaves (leaf levels: ${d.levels.filter((x) => x.leafOk).map((x) => x.name).join(', ')})`);
  const size = 1n << BigInt(l.shift);
  if (pa & (size - 1n)) {
    const pages = size >> BigInt(d.pageShift);
    throw new PgtemuError('EINVAL', `${what} is not aligned to a ${l.name} leaf (${size >> 10n} KiB: the pfn must be a multiple of ${hex(pages)})`);
  }
  const bits = maskOf(d.bits, names, 'pte --encode');
  const e = encodeLeafEntry(l, pa, bits);
  if (decodeLeafPa(l, e) !== pa) {
    const maxPa = ((l.leafAddr.mask >> BigInt(l.leafAddr.shift)) << BigInt(l.leafAddr.paShift)) | (size - 1n);
    throw new PgtemuError('EINVAL', `${what} does not fit the ${l.name} pfn field (largest pfn ${hex(maxPa >> BigInt(d.pageShift))})`);
  }
  return e;
}

interface PteOpts {
  arch?: string; variant?: string; kernel?: string; level?: string; encode?: string; pfn?: string; pa?: string;
  write?: boolean; json?: boolean; bits?: boolean; devicePrivate?: string; writable?: boolean; swap?: string;
}

/** --device-private PFN [--writable] or --swap TYPE:OFFSET: a last-level swap entry. */
function encodeSwap(d: Descriptor, li: number, o: PteOpts): bigint {
  const l = d.levels[li];
  const opt = o.devicePrivate !== undefined ? '--device-private' : '--swap';
  if (!l.isLast) {
    throw new PgtemuError('EINVAL', `${opt}: swap entries are modelled at the last level only (${d.levels[d.levels.length - 1].name}), not ${l.name}`);
  }
  if (o.devicePrivate !== undefined) {
    const pfn = parseValue(o.devicePrivate, '--device-private');
    return encodeDevicePrivateEntry(d, pfn, !!o.writable, `--device-private ${o.devicePrivate}`);
  }
  const m = /^\s*([^:]+):([^:]+)\s*$/.exec(o.swap!);
  if (!m) throw new PgtemuError('EINVAL', `--swap '${o.swap}' is not TYPE:OFFSET (for example 3:0x100)`);
  const type = parseValue(m[1].trim(), '--swap type');
  const offset = parseValue(m[2].trim(), '--swap offset');
  if (type >= 1n << 32n) throw new PgtemuError('EINVAL', `--swap ${o.swap}: type ${m[1].trim()} is not a swap type (0..31, MAX_SWAPFILES_SHIFT 5)`);
  return encodeSwapEntryChecked(d, Number(type), offset, `--swap ${o.swap}`);
}

export function pteCommand(io: Io): Command {
  return new Command('pte')
    .summary('decode or build a page-table entry')
    .description('Decode an entry: its bits by kernel name, pfn and physical address, leaf or table, the kernel helpers '
      + 'that say true of it, and what gup-fast does with it. With --encode, build an entry from bit names. '
      + 'With --bits, list the bit names of a level.')
    .argument('[value]', 'the entry, decimal or 0x hex')
    .addOption(archOption().makeOptionMandatory())
    .addOption(variantOption())
    .addOption(kernelOption())
    .option('--level <level>', 'level name or index (default: the last, pte)')
    .option('--write', 'ask what a FOLL_WRITE gup-fast does')
    .option('--encode <names>', 'build an entry from bit names (comma separated)')
    .option('--pfn <pfn>', 'with --encode: the page frame number')
    .option('--pa <pa>', 'with --encode: the physical address (instead of --pfn)')
    .option('--bits', 'list the bit names of the level')
    .option('--device-private <pfn>', 'build a device-private swap entry for the pfn (make_readable_device_private_entry, swp_entry_to_pte)')
    .option('--writable', 'with --device-private: make_writable_device_private_entry (SWP_DEVICE_WRITE)')
    .option('--swap <type:offset>', 'build a swap entry of a swap type and offset (swp_entry_to_pte(swp_entry(type, offset)))')
    .addOption(jsonOption())
    .addHelpText('after', `
Examples:
  $ pgtemu pte --arch x86_64 0x8000000001c63067
  $ pgtemu pte --arch x86_64 --level pmd --encode PRESENT,RW,USER,ACCESSED,DIRTY,PSE --pfn 0x200
  $ pgtemu pte --arch arm64 --variant 4k-48 --bits --level pmd
  $ pgtemu pte --arch x86_64 --device-private 0x1234 --writable
  $ pgtemu pte --arch ppc64 0x400000001234001b`)
    .action((value: string | undefined, o: PteOpts) => pte(value, o, io));
}

function pte(value: string | undefined, o: PteOpts, io: Io): void {
  checkVariant(o.arch, o.variant);
  const { desc: d } = resolve({ arch: o.arch!, variant: o.variant, kernel: o.kernel });
  const li = pickLevel(d, o.level);
  const l = d.levels[li];
  if (o.bits) {
    if (value !== undefined || o.encode !== undefined || o.pfn !== undefined || o.pa !== undefined
      || o.devicePrivate !== undefined || o.swap !== undefined || o.writable) {
      throw new PgtemuError('EINVAL', 'pte --bits lists names; it takes no VALUE, --encode, --pfn, --pa, --device-private, --writable or --swap');
    }
    const bits = levelBits(d, l);
    if (o.json) { io.out(JSON.stringify({ arch: d.arch, variant: d.variant, kernel: d.kernel, level: l.name, bits }, null, 2)); return; }
    io.out(`${d.arch}/${d.variant} ${d.kernel}, ${l.name} entry bits:`);
    for (const b of bits) io.out(`  ${String(b.bit).padStart(2)}  ${b.name}`);
    return;
  }
  let e: bigint;
  if (o.writable && o.devicePrivate === undefined) throw new PgtemuError('EINVAL', 'pte: --writable goes with --device-private PFN');
  if (o.devicePrivate !== undefined || o.swap !== undefined) {
    if (o.devicePrivate !== undefined && o.swap !== undefined) throw new PgtemuError('EINVAL', 'pte: give --device-private PFN or --swap TYPE:OFFSET, not both');
    const opt = o.devicePrivate !== undefined ? '--device-private' : '--swap';
    if (value !== undefined) throw new PgtemuError('EINVAL', `pte: give either a VALUE to decode or ${opt}, not both (stray '${value}')`);
    if (o.encode !== undefined || o.pfn !== undefined || o.pa !== undefined) {
      throw new PgtemuError('EINVAL', `pte ${opt} builds a swap entry; it takes no --encode, --pfn or --pa`);
    }
    e = encodeSwap(d, li, o);
  } else if (o.encode !== undefined) {
    if (value !== undefined) throw new PgtemuError('EINVAL', `pte: give either a VALUE to decode or --encode NAMES, not both (stray '${value}')`);
    if (o.pa !== undefined && o.pfn !== undefined) throw new PgtemuError('EINVAL', 'pte --encode: give --pfn or --pa, not both');
    const names = o.encode.split(/[,|]/).map((s) => s.trim()).filter(Boolean);
    let pa = 0n, what = 'pfn 0x0';
    if (o.pa !== undefined) {
      pa = parseValue(o.pa, '--pa');
      what = `--pa ${o.pa}`;
      if (pa & ((1n << BigInt(d.pageShift)) - 1n)) throw new PgtemuError('EINVAL', `--pa ${o.pa} is not page aligned (${1 << (d.pageShift - 10)} KiB pages)`);
    } else if (o.pfn !== undefined) {
      pa = parseValue(o.pfn, '--pfn') << BigInt(d.pageShift);
      what = `--pfn ${o.pfn}`;
    }
    e = encode(d, li, names, pa, what);
  } else {
    if (o.pa !== undefined || o.pfn !== undefined) throw new PgtemuError('EINVAL', 'pte: --pfn and --pa go with --encode');
    if (value === undefined) throw new PgtemuError('EINVAL', 'pte: give one entry VALUE (or --encode NAMES, or --bits)');
    e = parseValue(value, 'entry');
    if (e >= 1n << 64n) throw new PgtemuError('EINVAL', `entry ${value} does not fit in 64 bits`);
  }
  const r = describeEntry(d, li, e, !!o.write);
  if (o.json) { io.out(JSON.stringify(r, null, 2)); return; }
  // the crash utility's `pte` layout, then pgtemu's verdict
  const out = io.out;
  out(`${d.arch}/${d.variant} ${d.kernel}, ${l.name} entry${r.kernelLevel !== l.name ? ` (the kernel's ${r.kernelLevel}_* helpers read it)` : ''}`);
  out(`${'PTE'.padEnd(18)}  ${'PHYSICAL'.padEnd(14)}  FLAGS`);
  out(`${e.toString(16).padStart(16, '0').padEnd(18)}  ${(r.pa ?? '-').replace(/^0x/, '').padEnd(14)}  (${r.bits.join('|')})`);
  out('');
  out(`  kind:     ${r.kind}${r.size ? ` (${BigInt(r.size) >> 10n} KiB)` : ''}`);
  if (r.pfn) out(`  pfn:      ${r.pfn}${r.pfnInverted ? ' (stored inverted: x86 L1TF mitigation for non-present entries; pte_pfn undoes it)' : ''}`);
  // a swap entry: the flag helpers read bits of present entries only (the type and
  // offset fields overlap them); pte_present and pte_protnone are what the kernel asks
  const asked = r.swap ? r.helpers.filter((h) => /_(present|protnone)$/.test(h.name)) : r.helpers;
  const on = asked.filter((h) => h.value).map((h) => h.name);
  const off = asked.filter((h) => !h.value).map((h) => h.name);
  if (r.swap) {
    const sw = r.swap;
    out(`  swap:     type ${sw.type} (${sw.typeName}), offset ${sw.offset}`);
    if (sw.devicePrivate) out(`  device-private (${sw.devicePrivate.writable ? 'writable' : 'read-only'}): pfn ${sw.devicePrivate.pfn}`);
    const fl = [sw.exclusive && 'pte_swp_exclusive', sw.softDirty && 'pte_swp_soft_dirty', sw.uffdWp && 'pte_swp_uffd_wp'].filter(Boolean);
    if (fl.length) out(`  swp bits: ${fl.join(' ')}`);
    if (sw.offsetHigh) out(`  offset bits above SWP_PFN_BITS: ${sw.offsetHigh} (swp_offset_pfn drops them)`);
    if (sw.stray) out(`  stray:    ${sw.stray} (outside every swap field: the kernel never builds this)`);
    const son = sw.helpers.filter((h) => h.value).map((h) => h.name);
    out(`  swapops:  ${son.join(' ')}`);
    out(`  layout:   ${sw.layout}`);
  }
  out(`  helpers:  ${on.length ? on.join(' ') : '(none true)'}`);
  if (off.length) out(`  false:    ${off.join(' ')}`);
  out(`  gup-fast: ${r.gupFast}`);
  // the MMU's reading of the same entry, with the manual section it follows
  out(`  hardware: ${r.hardware.text}   (${r.hardware.cite})`);
  if (r.differsNote) out(`            ${r.differsNote}`);
}
