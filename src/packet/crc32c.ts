// CRC32c (Castagnoli, reflected polynomial 0x82F63B78), the checksum of SCTP
// (RFC 9260 appendix A). Slicing-by-8: eight 256-entry tables let the loop
// take 8 bytes per step, which matters because a set action on SCTP ports
// recomputes the CRC over the whole packet.

const T = new Int32Array(8 * 256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  T[n] = c;
}
for (let n = 0; n < 256; n++) {
  let c = T[n];
  for (let k = 1; k < 8; k++) {
    c = T[c & 0xff] ^ (c >>> 8);
    T[k * 256 + n] = c;
  }
}

/** Feeds bytes into a running CRC register (start with ~0 and invert at the end, or use crc32c()). */
export function crc32cUpdate(crc: number, b: Uint8Array, off: number, len: number): number {
  let c = crc | 0;
  let i = off;
  const end = off + len;
  for (; end - i >= 8; i += 8) {
    c ^= b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);
    c =
      T[1792 + (c & 0xff)] ^
      T[1536 + ((c >>> 8) & 0xff)] ^
      T[1280 + ((c >>> 16) & 0xff)] ^
      T[1024 + (c >>> 24)] ^
      T[768 + b[i + 4]] ^
      T[512 + b[i + 5]] ^
      T[256 + b[i + 6]] ^
      T[b[i + 7]];
  }
  for (; i < end; i++) c = T[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return c;
}

/** Feeds `n` zero bytes (a checksum field counted as zero without writing the frame). */
export function crc32cZeros(crc: number, n: number): number {
  let c = crc | 0;
  for (let i = 0; i < n; i++) c = T[c & 0xff] ^ (c >>> 8);
  return c;
}

/** CRC32c of b[off..off+len) as an unsigned 32-bit value. */
export function crc32c(b: Uint8Array, off = 0, len = b.length - off): number {
  return ~crc32cUpdate(-1, b, off, len) >>> 0;
}
