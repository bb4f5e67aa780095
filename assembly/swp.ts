// The swap-entry helpers of arch.ts as one operation, so that the host can
// encode and read back swap entries through the core (the host's own decoder,
// src/host/archdesc.ts, is checked against it).

import { lv, nLevels, mkSwpEntry, swpType, swpOffset, swpOffsetPfn, isSwapEntry, mkDevicePrivateEntry,
  isDevicePrivateEntry, isWritableDevicePrivateEntry, entryKind } from './arch';
import { SwpEntryIn, SwpEntryOut, argsIn, argsOut } from './abi';
import { OK, E_INVAL } from './layout';

export function swpEntry(ctx: usize): i32 {
  const a = argsIn<SwpEntryIn>(ctx);
  const o = argsOut<SwpEntryOut>(ctx);
  if (a.level >= nLevels()) return E_INVAL;
  const l = lv(a.level);
  const e = a.entry;
  o.made = mkSwpEntry(a.type, a.offset);
  o.devWrite = mkDevicePrivateEntry(a.pfn, true);
  o.devRead = mkDevicePrivateEntry(a.pfn, false);
  o.type = swpType(e);
  o.offset = swpOffset(e);
  o.pfn = swpOffsetPfn(e);
  o.isSwap = isSwapEntry(l, e) ? 1 : 0;
  o.kind = entryKind(l, e, a.level == nLevels() - 1);
  o.devPrivate = (isDevicePrivateEntry(e) ? 1 : 0) | (isWritableDevicePrivateEntry(e) ? 2 : 0);
  return OK;
}
