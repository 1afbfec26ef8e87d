// Network Service Header (RFC 8300), as the kernel's parse_nsh() reads it for
// a flow key and nsh_push()/nsh_pop() write and remove it. The first 16 bits
// hold version (2), flags (2: O and U), TTL (6) and the length in 4-byte
// words (6); then the MD type, the next protocol and the service path
// (SPI << 8 | SI). MD type 1 has exactly four context words after that.
import { be16, be32 } from './bytes.js';
import {
  ETH_P_IP,
  ETH_P_IPV6,
  ETH_P_MPLS_UC,
  ETH_P_NSH,
  ETH_P_TEB,
  NSH_BASE_HDR_LEN,
  NSH_M_TYPE1,
  NSH_M_TYPE1_LEN,
  NSH_M_TYPE2,
  TUN_P_ETHERNET,
  TUN_P_IPV4,
  TUN_P_IPV6,
  TUN_P_MPLS_UC,
  TUN_P_NSH,
} from './constants.js';
import { Layer, type ParsedPacket } from './result.js';

export const nshVersion = (b: Uint8Array, off: number): number => b[off] >>> 6;
export const nshFlags = (b: Uint8Array, off: number): number => (b[off] >>> 4) & 3;
export const nshTtl = (b: Uint8Array, off: number): number => (be16(b, off) >>> 6) & 0x3f;
/** The header's length in bytes, from its length field. */
export const nshLength = (b: Uint8Array, off: number): number => (b[off + 1] & 0x3f) << 2;
export const nshMdType = (b: Uint8Array, off: number): number => b[off + 2];
export const nshNextProto = (b: Uint8Array, off: number): number => b[off + 3];
export const nshPath = (b: Uint8Array, off: number): number => be32(b, off + 4);

/**
 * parse_nsh(): the header at p.l3. The kernel fails key extraction (and so
 * drops the packet) for a header cut short, a version other than 0, an MD
 * type other than 1 or 2, or MD type 1 with a length other than 24: those
 * mark the layer malformed; a good one sets Layer.NSH.
 */
export function parseNsh(p: ParsedPacket): void {
  const b = p.buf;
  const off = p.l3;
  if (p.len - off < NSH_BASE_HDR_LEN) {
    p.malformed = Layer.NSH;
    return;
  }
  const length = nshLength(b, off);
  const mdtype = nshMdType(b, off);
  const ok =
    nshVersion(b, off) === 0 &&
    p.len - off >= length &&
    ((mdtype === NSH_M_TYPE1 && length === NSH_M_TYPE1_LEN) || mdtype === NSH_M_TYPE2);
  if (ok) p.layers |= Layer.NSH;
  else p.malformed = Layer.NSH;
}

/** tun_p_to_eth_p(): the EtherType of an NSH next protocol, 0 for one the kernel does not know. */
export function nshInnerType(np: number): number {
  switch (np) {
    case TUN_P_IPV4:
      return ETH_P_IP;
    case TUN_P_IPV6:
      return ETH_P_IPV6;
    case TUN_P_ETHERNET:
      return ETH_P_TEB;
    case TUN_P_NSH:
      return ETH_P_NSH;
    case TUN_P_MPLS_UC:
      return ETH_P_MPLS_UC;
  }
  return 0;
}

/** tun_p_from_eth_p(): the next protocol for an EtherType, 0 for one NSH cannot carry. */
export function nshNextProtoOf(ethType: number): number {
  switch (ethType) {
    case ETH_P_IP:
      return TUN_P_IPV4;
    case ETH_P_IPV6:
      return TUN_P_IPV6;
    case ETH_P_TEB:
      return TUN_P_ETHERNET;
    case ETH_P_NSH:
      return TUN_P_NSH;
    case ETH_P_MPLS_UC:
      return TUN_P_MPLS_UC;
  }
  return 0;
}

/** What push_nsh puts in front of the packet: nsh_hdr_from_nlattr()'s fields. */
export interface NshHeader {
  flags: number;
  ttl: number;
  mdtype: number;
  /** SPI << 8 | SI. */
  path: number;
  /** The metadata after the base header: MD1's 16 context bytes or MD2's TLVs, as given. */
  md: Uint8Array;
}

/**
 * nsh_push(): `pkt` with the header in front, its next protocol `np` (the
 * caller's: Ethernet for a frame with its header, else from its EtherType)
 * and version 0. The length field holds base plus metadata in 4-byte words,
 * in its 6 bits, and what goes on the packet is that many bytes: metadata
 * that is not a multiple of 4 bytes loses its tail, as in the kernel.
 */
export function pushNsh(pkt: Uint8Array, h: NshHeader, np: number): Uint8Array {
  const words = ((NSH_BASE_HDR_LEN + h.md.length) >>> 2) & 0x3f;
  const len = words << 2;
  const hdr = new Uint8Array(NSH_BASE_HDR_LEN + h.md.length);
  const word = ((h.flags & 3) << 12) | ((h.ttl & 0x3f) << 6) | words;
  hdr[0] = word >>> 8;
  hdr[1] = word & 0xff;
  hdr[2] = h.mdtype;
  hdr[4] = h.path >>> 24;
  hdr[5] = (h.path >>> 16) & 0xff;
  hdr[6] = (h.path >>> 8) & 0xff;
  hdr[7] = h.path & 0xff;
  hdr.set(h.md, NSH_BASE_HDR_LEN);
  const out = new Uint8Array(len + pkt.length);
  out.set(hdr.subarray(0, len));
  out.set(pkt, len);
  if (out.length > 3) out[3] = np;
  return out;
}

/**
 * nsh_pop(): the packet after the header at its start, and its EtherType;
 * undefined where the kernel fails the action (and drops the packet): a
 * length under the base header's, a header longer than the packet, or a
 * next protocol it does not know.
 */
export function popNsh(pkt: Uint8Array): { inner: Uint8Array; ethType: number } | undefined {
  if (pkt.length < NSH_BASE_HDR_LEN) return undefined;
  const length = nshLength(pkt, 0);
  if (length < NSH_BASE_HDR_LEN || length > pkt.length) return undefined;
  const ethType = nshInnerType(nshNextProto(pkt, 0));
  if (!ethType) return undefined;
  return { inner: pkt.slice(length), ethType };
}
