// ICMPv6 and neighbour discovery as the kernel's parse_icmpv6() reads them.
// ND options are read to the end of the frame (Ethernet padding included, as
// the kernel does not trim to the IPv6 payload length); a zero-length or
// overlong option ends the walk keeping what was found; a second source or
// target link-layer address option voids target and addresses.
import { ICMPV6_HLEN, ND_MSG_LEN, NDISC_NEIGHBOUR_ADVERTISEMENT, NDISC_NEIGHBOUR_SOLICITATION, ND_OPT_SOURCE_LL_ADDR, ND_OPT_TARGET_LL_ADDR } from './constants.js';
import { Layer, type ParsedPacket } from './result.js';

export function parseIcmpv6(p: ParsedPacket): void {
  const b = p.buf;
  const off = p.l4;
  if (p.len - off < ICMPV6_HLEN) {
    p.truncated = Layer.ICMPV6;
    return;
  }
  p.layers |= Layer.ICMPV6;
  p.l4HdrLen = ICMPV6_HLEN;
  const type = b[off];
  const code = b[off + 1];
  p.tpSrc = type;
  p.tpDst = code;
  if (code !== 0 || (type !== NDISC_NEIGHBOUR_SOLICITATION && type !== NDISC_NEIGHBOUR_ADVERTISEMENT)) return;
  let left = p.len - off;
  if (left < ND_MSG_LEN) {
    p.truncated = Layer.ND;
    return;
  }
  p.layers |= Layer.ND;
  p.l4HdrLen = ND_MSG_LEN;
  p.ndTarget = off + 8;
  left -= ND_MSG_LEN;
  let opt = off + ND_MSG_LEN;
  while (left >= 8) {
    const optLen = b[opt + 1] << 3;
    if (optLen === 0) {
      p.malformed = Layer.ND;
      return;
    }
    if (optLen > left) {
      p.truncated = Layer.ND;
      return;
    }
    if (optLen === 8) {
      const t = b[opt];
      if (t === ND_OPT_SOURCE_LL_ADDR) {
        // Only a nonzero address counts as "already seen".
        if (p.ndSll >= 0 && !isZeroMac(b, p.ndSll)) return voidNd(p);
        p.ndSll = opt + 2;
      } else if (t === ND_OPT_TARGET_LL_ADDR) {
        if (p.ndTll >= 0 && !isZeroMac(b, p.ndTll)) return voidNd(p);
        p.ndTll = opt + 2;
      }
    }
    left -= optLen;
    opt += optLen;
  }
}

function voidNd(p: ParsedPacket): void {
  p.malformed = Layer.ND;
  p.layers &= ~Layer.ND;
  p.ndTarget = -1;
  p.ndSll = -1;
  p.ndTll = -1;
}

function isZeroMac(b: Uint8Array, off: number): boolean {
  return (b[off] | b[off + 1] | b[off + 2] | b[off + 3] | b[off + 4] | b[off + 5]) === 0;
}

/**
 * Writes a neighbour solicitation (135) or advertisement (136) body after the
 * 4-byte ICMPv6 header: flags word, target, then an optional link-layer
 * address option (source for NS, target for NA). Checksum left zero.
 */
export function writeNd(
  b: Uint8Array,
  off: number,
  type: number,
  flags: number,
  target: Uint8Array,
  sll: Uint8Array | undefined,
  tll: Uint8Array | undefined,
): number {
  b[off] = type;
  b[off + 1] = 0;
  b[off + 2] = 0;
  b[off + 3] = 0;
  b[off + 4] = flags;
  b[off + 5] = 0;
  b[off + 6] = 0;
  b[off + 7] = 0;
  b.set(target.subarray(0, 16), off + 8);
  let at = off + ND_MSG_LEN;
  if (sll) at = writeLlOption(b, at, ND_OPT_SOURCE_LL_ADDR, sll);
  if (tll) at = writeLlOption(b, at, ND_OPT_TARGET_LL_ADDR, tll);
  return at;
}

export function writeLlOption(b: Uint8Array, off: number, type: number, mac: Uint8Array): number {
  b[off] = type;
  b[off + 1] = 1;
  b.set(mac.subarray(0, 6), off + 2);
  return off + 8;
}
