// Bob Jenkins' lookup3 hash over 32-bit words, as the kernel's jhash2()
// (include/linux/jhash.h). NAT picks an address from a range with it
// (find_best_ips_proto), so the fallback must hash alike to pick the same.

const rol = (x: number, k: number): number => (x << k) | (x >>> (32 - k));

/** jhash2(k, k.length, initval), unsigned. */
export function jhash2(k: ArrayLike<number>, initval: number): number {
  let length = k.length;
  let a = (0xdeadbeef + (length << 2) + initval) | 0;
  let b = a;
  let c = a;
  let i = 0;
  while (length > 3) {
    a = (a + k[i]) | 0;
    b = (b + k[i + 1]) | 0;
    c = (c + k[i + 2]) | 0;
    // __jhash_mix
    a = (a - c) | 0; a ^= rol(c, 4); c = (c + b) | 0;
    b = (b - a) | 0; b ^= rol(a, 6); a = (a + c) | 0;
    c = (c - b) | 0; c ^= rol(b, 8); b = (b + a) | 0;
    a = (a - c) | 0; a ^= rol(c, 16); c = (c + b) | 0;
    b = (b - a) | 0; b ^= rol(a, 19); a = (a + c) | 0;
    c = (c - b) | 0; c ^= rol(b, 4); b = (b + a) | 0;
    length -= 3;
    i += 3;
  }
  if (length === 0) return c >>> 0;
  if (length === 3) c = (c + k[i + 2]) | 0;
  if (length >= 2) b = (b + k[i + 1]) | 0;
  a = (a + k[i]) | 0;
  // __jhash_final
  c ^= b; c = (c - rol(b, 14)) | 0;
  a ^= c; a = (a - rol(c, 11)) | 0;
  b ^= a; b = (b - rol(a, 25)) | 0;
  c ^= b; c = (c - rol(b, 16)) | 0;
  a ^= c; a = (a - rol(c, 4)) | 0;
  b ^= a; b = (b - rol(a, 14)) | 0;
  c ^= b; c = (c - rol(b, 24)) | 0;
  return c >>> 0;
}

/** reciprocal_scale(): val scaled into [0, range) by a multiply, not a division. */
export function reciprocalScale(val: number, range: number): number {
  // The 64-bit product's high word, exactly: a double holds 53 bits, so the
  // range goes in as two 16-bit halves.
  const v = val >>> 0;
  const r = range >>> 0;
  const hiPart = v * (r >>> 16);
  const loPart = v * (r & 0xffff);
  const carry = (hiPart % 0x10000) * 0x10000 + loPart;
  return Math.floor(hiPart / 0x10000) + Math.floor(carry / 0x100000000);
}
