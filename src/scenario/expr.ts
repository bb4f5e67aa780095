// The scenario language's address expressions: names, integers, + / -, and
// an integer factor before a term.
//
//   base + 2M          PMD_SIZE + PMD_SIZE - 4K          pin.pfn          va + 4 * PMD_SIZE
//
// A term is a decimal integer (with an optional K, M or G suffix: 2^10, 2^20,
// 2^30), a 0x hex integer, a name (a `values:` entry or a builtin such as
// PMD_SIZE), or `result.field` (a field of a named step result), optionally
// preceded by a literal integer and `*`. Nothing else: no calls, no products
// of names, no parentheses, and the text is never handed to eval. Values are bigints; a result must lie in [0, 2^64) where it is used.
export type Term =
  | { kind: 'num'; sign: 1n | -1n; value: bigint; col: number; factor?: bigint }
  | { kind: 'name'; sign: 1n | -1n; name: string; field?: string; col: number; factor?: bigint };

/** A parsed expression: its source and its terms (summed with their signs). */
export interface Expr { src: string; terms: Term[] }

export const MAX_EXPR_CHARS = 256;
const MAX_TERMS = 32;
const SUFFIX: Record<string, bigint> = { K: 1n << 10n, M: 1n << 20n, G: 1n << 30n };
export const U64 = 1n << 64n;
export const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** An error at a column of the expression (0-based), for the parser to place. */
export class ExprError extends Error {
  constructor(message: string, readonly col: number) { super(message); }
}

/** Parse `src` into terms; throws ExprError naming the column of what is wrong. */
export function parseExpr(src: string): Expr {
  if (src.length > MAX_EXPR_CHARS) throw new ExprError(`expression is longer than ${MAX_EXPR_CHARS} characters`, 0);
  const terms: Term[] = [];
  let i = 0;
  const skip = () => { while (i < src.length && (src[i] === ' ' || src[i] === '\t')) i++; };
  skip();
  let sign: 1n | -1n = 1n;
  if (src[i] === '-' || src[i] === '+') { sign = src[i] === '-' ? -1n : 1n; i++; skip(); }
  let factor: bigint | undefined;
  for (;;) {
    const col = i;
    const rest = src.slice(i);
    let m: RegExpMatchArray | null;
    // a literal factor: `4 * PMD_SIZE`
    if (factor === undefined && (m = rest.match(/^(0[xX][0-9a-fA-F_]+|[0-9][0-9_]*)[ \t]*\*[ \t]*/))) {
      const f = BigInt(m[1].replace(/_/g, ''));
      if (f >= U64) throw new ExprError(`${m[1]} does not fit in 64 bits`, col);
      factor = f;
      i += m[0].length;
      continue;
    }
    if ((m = rest.match(/^0[xX][0-9a-fA-F_]+/))) {
      const digits = m[0].slice(2).replace(/_/g, '');
      if (!digits) throw new ExprError(`'${m[0]}' is not a hex number`, col);
      const value = BigInt('0x' + digits);
      if (value >= U64) throw new ExprError(`${m[0]} does not fit in 64 bits`, col);
      terms.push({ kind: 'num', sign, value, col, factor });
      i += m[0].length;
    } else if ((m = rest.match(/^[0-9][0-9_]*([KMG])?/))) {
      const value = BigInt(m[0].replace(/[_KMG]/g, '')) * (m[1] ? SUFFIX[m[1]] : 1n);
      if (value >= U64) throw new ExprError(`${m[0]} does not fit in 64 bits`, col);
      terms.push({ kind: 'num', sign, value, col, factor });
      i += m[0].length;
    } else if ((m = rest.match(/^([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?/))) {
      terms.push({ kind: 'name', sign, name: m[1], field: m[2], col, factor });
      i += m[0].length;
    } else {
      throw new ExprError(i >= src.length ? 'expression ends where a number or name should be'
        : `unexpected '${src[i]}' where a number or name should be (expressions are names, integers with K/M/G, + and -, and an integer factor: 4 * PMD_SIZE)`, col);
    }
    factor = undefined;
    if (terms.length > MAX_TERMS) throw new ExprError(`more than ${MAX_TERMS} terms`, col);
    if (/^[A-Za-z0-9_.]/.test(src[i] ?? '')) throw new ExprError(`unexpected '${src[i]}' after '${src.slice(col, i)}'`, i);
    skip();
    if (i >= src.length) break;
    if (src[i] !== '+' && src[i] !== '-') {
      throw new ExprError(src[i] === '*' ? `unexpected '*': a factor is a literal integer before a term (4 * PMD_SIZE), not after it` : `unexpected '${src[i]}': only + and - join terms`, i);
    }
    sign = src[i] === '-' ? -1n : 1n;
    i++;
    skip();
  }
  return { src, terms };
}

/** The names an expression refers to. */
export const exprNames = (e: Expr) => e.terms.filter((t): t is Extract<Term, { kind: 'name' }> => t.kind === 'name');

/** Sum the terms; `lookup` gives a name's value (or throws). */
export function evalExpr(e: Expr, lookup: (name: string, field: string | undefined) => bigint): bigint {
  let v = 0n;
  for (const t of e.terms) v += t.sign * (t.factor ?? 1n) * (t.kind === 'num' ? t.value : lookup(t.name, t.field));
  return v;
}
