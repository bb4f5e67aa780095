// What a struct page snapshot means, as the kernel reports it: flag names,
// page_type, and the mapcounts of include/linux/mm.h (v6.12), for
// Machine.page().

/** The PG_* and PGTY_* numbers the explanation needs. */
export interface PageConstants { pg: Readonly<Record<string, number>>; pgty: Readonly<Record<'buddy' | 'table' | 'hugetlb', number>> }

export interface PageExplained {
  flagNames: string[];
  pageType?: 'buddy' | 'table' | 'hugetlb' | 'other';
  mapcountRaw: number;
  pageMapcount: number;
  folioMapcount: number;
}

/**
 * `flags` and the raw `_mapcount` of a page, and `largeMapcount` (the raw
 * _large_mapcount of its folio's head, or undefined for a small folio).
 */
export function explainPage(flags: bigint, mapcountRaw: number, largeMapcount: number | undefined, c: PageConstants): PageExplained {
  // page_type_has_type(int): a value below (int)(PGTY_mapcount_underflow << 24) is a type, not a count
  const typed = mapcountRaw < -0x0100_0000;
  const t = mapcountRaw >>> 24;
  const pageType = !typed ? undefined : t === c.pgty.buddy ? 'buddy' as const : t === c.pgty.table ? 'table' as const
    : t === c.pgty.hugetlb ? 'hugetlb' as const : 'other' as const;
  const pageMapcount = typed ? 0 : mapcountRaw + 1;
  return {
    flagNames: Object.entries(c.pg).filter(([, b]) => ((flags >> BigInt(b)) & 1n) === 1n).map(([n]) => n),
    pageType,
    mapcountRaw,
    pageMapcount,
    // folio_mapcount(): _mapcount + 1 of a small folio (0 for a typed page), _large_mapcount + 1 of a large one
    folioMapcount: largeMapcount === undefined ? pageMapcount : largeMapcount + 1,
  };
}
