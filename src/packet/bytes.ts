// Big-endian field access by plain byte arithmetic: on the parse path this is
// cheaper than a DataView per frame, and frames arrive as Uint8Array views of
// shared batch buffers at any byte offset.

export function be16(b: Uint8Array, i: number): number {
  return (b[i] << 8) | b[i + 1];
}

/** An unsigned 32-bit value (a double above 2^31, so prefer be16 pairs on hot paths). */
export function be32(b: Uint8Array, i: number): number {
  return ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
}

export function putBe16(b: Uint8Array, i: number, v: number): void {
  b[i] = v >>> 8;
  b[i + 1] = v;
}

export function putBe32(b: Uint8Array, i: number, v: number): void {
  b[i] = v >>> 24;
  b[i + 1] = v >>> 16;
  b[i + 2] = v >>> 8;
  b[i + 3] = v;
}
