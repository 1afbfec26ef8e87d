// MPLS label stacks. The kernel walks the whole stack to the bottom-of-stack
// entry and keys the first MPLS_LABEL_DEPTH entries; what follows the stack is
// not parsed (its type is not on the wire).
import { putBe32 } from './bytes.js';
import { MPLS_HLEN, MPLS_LS_LABEL_SHIFT, MPLS_LS_S, MPLS_LS_TC_SHIFT } from './constants.js';
import { Layer, type ParsedPacket } from './result.js';

export function parseMpls(p: ParsedPacket): void {
  const b = p.buf;
  let off = p.l3;
  for (;;) {
    if (p.len - off < MPLS_HLEN) {
      // The kernel keeps the entries it read but marks no label as present.
      p.truncated = Layer.MPLS;
      return;
    }
    p.mplsCount++;
    off += MPLS_HLEN;
    if (b[off - 2] & 1) {
      p.layers |= Layer.MPLS;
      p.mplsEnd = off;
      return;
    }
  }
}

export function mplsLse(label: number, tc: number, bos: boolean, ttl: number): number {
  return (((label & 0xfffff) << MPLS_LS_LABEL_SHIFT) | ((tc & 7) << MPLS_LS_TC_SHIFT) | (bos ? MPLS_LS_S : 0) | (ttl & 0xff)) >>> 0;
}

export function lseLabel(lse: number): number {
  return lse >>> MPLS_LS_LABEL_SHIFT;
}
export function lseTc(lse: number): number {
  return (lse >>> MPLS_LS_TC_SHIFT) & 7;
}
export function lseBos(lse: number): boolean {
  return (lse & MPLS_LS_S) !== 0;
}
export function lseTtl(lse: number): number {
  return lse & 0xff;
}

export function writeMplsLse(b: Uint8Array, off: number, lse: number): number {
  putBe32(b, off, lse);
  return off + MPLS_HLEN;
}
