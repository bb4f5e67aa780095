// The bench scripts' command lines (node:util parseArgs). Every refusal -- an
// unknown option, a value out of range, a --base that is not a built
// checkout -- is one line on stderr and exit 2, before any work starts.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

/** Prints `why` and exits 2. */
export function refuse(why) {
  console.error(why);
  process.exit(2);
}

/** The options given, or refuse with parseArgs's reason and the usage line. */
export function args(usage, options) {
  try {
    return parseArgs({ options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    return refuse(`${e.message}\nusage: ${usage}`);
  }
}

/** An integer option in [min, max] given in decimal digits, or `dflt` when absent. */
export function intOpt(v, name, dflt, min, max) {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!/^[0-9]+$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max) refuse(`--${name} ${v}: an integer in ${min}..${max}`);
  return n;
}

/** A checkout of pgtemu with dist/ built (the other side of a comparison), as an absolute path. */
export function builtCheckout(v, name) {
  const dir = path.resolve(v);
  for (const f of ['dist/index.js', 'dist/host/bench.js']) {
    if (!existsSync(path.join(dir, f))) refuse(`--${name} ${v}: not a built pgtemu checkout (no ${f}; run npm run build there)`);
  }
  return dir;
}
