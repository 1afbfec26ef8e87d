// printf("%.Nf") as glibc prints a double: the exact binary value rounded to
// N decimals, ties to even. JavaScript's toFixed rounds ties away from zero
// (1.25.toFixed(1) is "1.3" where C prints "1.2"), which would make ovsnl's
// `show` differ from ovs-dpctl's on the odd value.

const F64 = new DataView(new ArrayBuffer(8));

/** x as an exact fraction mantissa * 2^exp (mantissa a BigInt). */
function exact(x: number): { m: bigint; e: number } {
  F64.setFloat64(0, x);
  const hi = F64.getUint32(0);
  const lo = F64.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e: number;
  if (biased === 0) {
    e = -1074;
  } else {
    m |= 1n << 52n;
    e = biased - 1075;
  }
  return { m, e };
}

export function cFixed(x: number, digits: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf';
  const neg = x < 0 || Object.is(x, -0);
  const { m, e } = exact(Math.abs(x));
  // value * 10^digits = m * 2^e * 10^d = num / den
  let num = m * 10n ** BigInt(digits);
  let den = 1n;
  if (e >= 0) num <<= BigInt(e);
  else den <<= BigInt(-e);
  let q = num / den;
  const r = num - q * den;
  const twice = r * 2n;
  if (twice > den || (twice === den && q % 2n === 1n)) q += 1n;
  let s = q.toString();
  if (digits > 0) {
    s = s.padStart(digits + 1, '0');
    s = `${s.slice(0, -digits)}.${s.slice(-digits)}`;
  }
  return neg ? `-${s}` : s;
}
