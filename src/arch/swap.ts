// The swap types the generic mm reserves at the top of the 5-bit type space
// (include/linux/swap.h), by kernel era. Data only; src/host/archdesc.ts turns
// it into the type numbers of one kernel and arch.
//
// MAX_SWAPFILES = (1 << MAX_SWAPFILES_SHIFT) - SWP_DEVICE_NUM - SWP_MIGRATION_NUM
//                 - SWP_HWPOISON_NUM - SWP_PTE_MARKER_NUM [- SWP_SWAPIN_ERROR_NUM]
// and the reserved types follow it in this order: SWP_HWPOISON (MEMORY_FAILURE),
// SWP_MIGRATION_READ, _READ_EXCLUSIVE, _WRITE (MIGRATION), SWP_DEVICE_WRITE,
// SWP_DEVICE_READ, the device-exclusive types (DEVICE_PRIVATE), SWP_PTE_MARKER,
// [SWP_SWAPIN_ERROR]. SWP_DEVICE_WRITE = MAX_SWAPFILES + SWP_HWPOISON_NUM +
// SWP_MIGRATION_NUM = 32 - SWP_DEVICE_NUM - SWP_PTE_MARKER_NUM [- SWP_SWAPIN_ERROR_NUM]:
// CONFIG_MIGRATION and CONFIG_MEMORY_FAILURE move the types below it, not it.
//
// pgtemu assumes CONFIG_DEVICE_PRIVATE=y wherever it can be set: it depends on
// ZONE_DEVICE, which until v6.16 depends on ARCH_HAS_PTE_DEVMAP (mm/Kconfig), so on
// s390 before v6.17 and riscv / loongarch before v6.11 (the machine's
// era.zoneDevice false) SWP_DEVICE_NUM is 0, MAX_SWAPFILES that much higher, and
// there are no device-private entries (make_*_device_private_entry would return
// swp_entry(0, 0)). For naming the other types: CONFIG_MIGRATION=y, and
// CONFIG_MEMORY_FAILURE=y where the arch selects ARCH_SUPPORTS_MEMORY_FAILURE
// (history.memoryFailure: x86_64, arm64, ppc64; not s390, riscv, loongarch, where
// SWP_HWPOISON_NUM is 0 and MAX_SWAPFILES one higher).

export interface SwapTypeEra {
  readonly from?: string;
  readonly until?: string;
  /** SWP_DEVICE_NUM with CONFIG_DEVICE_PRIVATE */
  readonly deviceNum: number;
  /** the device-exclusive types, in order after SWP_DEVICE_READ */
  readonly deviceExclusive: readonly string[];
  /** SWP_PTE_MARKER_NUM: 1, or 'uffd-wp': 1 only with CONFIG_PTE_MARKER (selected by
   *  PTE_MARKER_UFFD_WP, default y on arches with HAVE_ARCH_USERFAULTFD_WP) */
  readonly pteMarker: 1 | 'uffd-wp';
  /** SWP_SWAPIN_ERROR_NUM */
  readonly swapinError: 0 | 1;
  readonly cite: string;
}

export const SWAP_TYPE_ERAS: readonly SwapTypeEra[] = [
  {
    // v6.1 (Debian 6.1.192) include/linux/swap.h and mm/Kconfig (config PTE_MARKER,
    // PTE_MARKER_UFFD_WP). v6.0 assumed the same (SWP_SWAPIN_ERROR and CONFIG_PTE_MARKER
    // both came in v5.19): UNVERIFIED from a v6.0 tree.
    until: 'v6.1',
    deviceNum: 4,
    deviceExclusive: ['SWP_DEVICE_EXCLUSIVE_WRITE', 'SWP_DEVICE_EXCLUSIVE_READ'],
    pteMarker: 'uffd-wp',
    swapinError: 1,
    cite: 'v6.1 include/linux/swap.h, mm/Kconfig',
  },
  {
    // Peter Xu, "mm: Always compile in pte markers" and "mm: Use pte markers for swap
    // errors" (posted 2022-10-30, merged for v6.2: the tag is UNVERIFIED from a v6.2
    // tree); v6.12 include/linux/swap.h has SWP_PTE_MARKER_NUM 1 and no SWP_SWAPIN_ERROR.
    from: 'v6.2',
    until: 'v6.14',
    deviceNum: 4,
    deviceExclusive: ['SWP_DEVICE_EXCLUSIVE_WRITE', 'SWP_DEVICE_EXCLUSIVE_READ'],
    pteMarker: 1,
    swapinError: 0,
    cite: 'v6.12 include/linux/swap.h',
  },
  {
    // David Hildenbrand, "mm: use single SWP_DEVICE_EXCLUSIVE entry type" (v2 06/17,
    // 2025-02-10): SWP_DEVICE_NUM 3. It is in "[GIT PULL] MM updates for 6.15-rc1"
    // (Andrew Morton, 2025-03-30, mm-stable-2025-03-30-16-52; the same pull carries
    // "fs/dax: Fix ZONE_DEVICE page reference counts"), so v6.15; the values are
    // read from v7.2 include/linux/swap.h (SWP_DEVICE_NUM 3, one SWP_DEVICE_EXCLUSIVE).
    from: 'v6.15',
    deviceNum: 3,
    deviceExclusive: ['SWP_DEVICE_EXCLUSIVE'],
    pteMarker: 1,
    swapinError: 0,
    cite: 'v7.2 include/linux/swap.h; in the MM pull for 6.15-rc1',
  },
];
