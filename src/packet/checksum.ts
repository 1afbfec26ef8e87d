// Checksums: the Internet checksum (RFC 1071) and its incremental update
// (RFC 1624), the IPv4 header checksum, TCP/UDP/ICMP/ICMPv6 checksums with
// the IPv4 and IPv6 pseudo-headers, and SCTP's CRC32c.
//
// Sums are plain JS numbers of 16-bit big-endian words, folded only at the
// end: a frame's worth of words cannot lose precision, and the loop does no
// carry handling. Checksum fields are skipped, never zeroed, so computing a
// checksum does not write the frame.
import { be16, putBe16 } from './bytes.js';
import { crc32cUpdate, crc32cZeros } from './crc32c.js';
import {
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
} from './constants.js';

/** Adds the big-endian 16-bit words of b[off..off+len) to `acc` (an odd last byte is padded with a zero byte); not folded. */
export function onesSum(b: Uint8Array, off: number, len: number, acc = 0): number {
  let sum = acc;
  let i = off;
  const even = off + (len & ~1);
  for (; even - i >= 8; i += 8) {
    sum += ((b[i] << 8) | b[i + 1]) + ((b[i + 2] << 8) | b[i + 3]) + ((b[i + 4] << 8) | b[i + 5]) + ((b[i + 6] << 8) | b[i + 7]);
  }
  for (; i < even; i += 2) sum += (b[i] << 8) | b[i + 1];
  if (len & 1) sum += b[i] << 8;
  return sum;
}

/** Folds a sum to 16 bits with end-around carry. */
export function foldSum(sum: number): number {
  // Past 32 bits the shift operators would truncate; divide instead.
  while (sum > 0xffffffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/**
 * The Internet checksum of b[off..off+len) plus `acc` (e.g. a pseudo-header
 * sum). Over data that includes a correct checksum it is 0.
 */
export function internetChecksum(b: Uint8Array, off: number, len: number, acc = 0): number {
  return ~foldSum(onesSum(b, off, len, acc)) & 0xffff;
}

/** Sum of the data with the 16-bit checksum field at `off + csumAt` counted as zero (csumAt even). */
function sumSkipping(b: Uint8Array, off: number, len: number, csumAt: number, acc: number): number {
  return onesSum(b, off + csumAt + 2, len - csumAt - 2, onesSum(b, off, csumAt, acc));
}

// --- IPv4 header ----------------------------------------------------------

/** The checksum the IPv4 header at `l3` should carry (header length from its IHL). */
export function ipv4HeaderChecksum(b: Uint8Array, l3: number): number {
  return ~foldSum(sumSkipping(b, l3, (b[l3] & 15) << 2, 10, 0)) & 0xffff;
}

export function setIpv4HeaderChecksum(b: Uint8Array, l3: number): void {
  putBe16(b, l3 + 10, ipv4HeaderChecksum(b, l3));
}

export function ipv4HeaderChecksumOk(b: Uint8Array, l3: number): boolean {
  const hl = (b[l3] & 15) << 2;
  return hl >= 20 && internetChecksum(b, l3, hl) === 0;
}

// --- Pseudo-headers -------------------------------------------------------

/** IPv4 pseudo-header sum: source, destination, protocol, upper-layer length. */
export function pseudoSum4(b: Uint8Array, l3: number, proto: number, l4Len: number): number {
  return onesSum(b, l3 + 12, 8, proto + l4Len);
}

/**
 * IPv6 pseudo-header sum. With a routing header the destination that counts
 * is the final one (RFC 8200 8.1): pass its offset as `dstOff`.
 */
export function pseudoSum6(b: Uint8Array, l3: number, proto: number, l4Len: number, dstOff = l3 + 24): number {
  // The length is a 32-bit field: its high word matters for jumbograms only.
  return onesSum(b, dstOff, 16, onesSum(b, l3 + 8, 16, proto + (l4Len >>> 16) + (l4Len & 0xffff)));
}

// --- Transport checksums --------------------------------------------------

/** Offset of the checksum field inside a transport header, or -1 for protocols without one here. */
export function l4ChecksumOffset(proto: number): number {
  switch (proto) {
    case IPPROTO_TCP:
      return 16;
    case IPPROTO_UDP:
      return 6;
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6:
      return 2;
    case IPPROTO_SCTP:
      return 8;
    default:
      return -1;
  }
}

function isV6(b: Uint8Array, l3: number): boolean {
  return b[l3] >>> 4 === 6;
}

/**
 * The 16-bit checksum the TCP, UDP, ICMP or ICMPv6 message at b[l4..l4+l4Len)
 * should carry, with the pseudo-header of the IP header at `l3` (IPv4 or IPv6
 * by its version nibble; ICMP has none). A UDP checksum that computes to 0 is
 * sent as 0xffff, since 0 means "no checksum". Returns -1 for other protocols
 * and for a message too short to hold its checksum field.
 */
export function l4Checksum(b: Uint8Array, l3: number, l4: number, l4Len: number, proto: number, dstOff?: number): number {
  const at = l4ChecksumOffset(proto);
  if (at < 0 || proto === IPPROTO_SCTP || l4Len < at + 2) return -1;
  let acc = 0;
  if (proto !== IPPROTO_ICMP) acc = isV6(b, l3) ? pseudoSum6(b, l3, proto, l4Len, dstOff) : pseudoSum4(b, l3, proto, l4Len);
  const c = ~foldSum(sumSkipping(b, l4, l4Len, at, acc)) & 0xffff;
  return c === 0 && proto === IPPROTO_UDP ? 0xffff : c;
}

/** CRC32c of the SCTP packet at b[l4..l4+len) with its checksum field counted as zero. */
export function sctpChecksum(b: Uint8Array, l4: number, len: number): number {
  let c = crc32cUpdate(-1, b, l4, 8);
  c = crc32cZeros(c, 4);
  c = crc32cUpdate(c, b, l4 + 12, len - 12);
  return ~c >>> 0;
}

/** SCTP stores the CRC least significant byte first (RFC 9260 appendix A). */
export function readSctpChecksum(b: Uint8Array, l4: number): number {
  return (b[l4 + 8] | (b[l4 + 9] << 8) | (b[l4 + 10] << 16) | (b[l4 + 11] << 24)) >>> 0;
}

export function writeSctpChecksum(b: Uint8Array, l4: number, crc: number): void {
  b[l4 + 8] = crc;
  b[l4 + 9] = crc >>> 8;
  b[l4 + 10] = crc >>> 16;
  b[l4 + 11] = crc >>> 24;
}

/** Computes and stores the checksum of the transport message at l4 (TCP, UDP, ICMP, ICMPv6, SCTP); false for other protocols. */
export function setL4Checksum(b: Uint8Array, l3: number, l4: number, l4Len: number, proto: number, dstOff?: number): boolean {
  if (proto === IPPROTO_SCTP) {
    writeSctpChecksum(b, l4, sctpChecksum(b, l4, l4Len));
    return true;
  }
  const c = l4Checksum(b, l3, l4, l4Len, proto, dstOff);
  if (c < 0) return false;
  putBe16(b, l4 + l4ChecksumOffset(proto), c);
  return true;
}

/**
 * Checks the transport checksum as a receiver would. A zero UDP checksum over
 * IPv4 means none was sent and passes; over IPv6 it is invalid (RFC 8200 8.1).
 */
export function l4ChecksumOk(b: Uint8Array, l3: number, l4: number, l4Len: number, proto: number, dstOff?: number): boolean {
  if (proto === IPPROTO_SCTP) return l4Len >= 12 && readSctpChecksum(b, l4) === sctpChecksum(b, l4, l4Len);
  const at = l4ChecksumOffset(proto);
  if (at < 0 || l4Len < at + 2) return false;
  const stored = be16(b, l4 + at);
  if (proto === IPPROTO_UDP && stored === 0) return !isV6(b, l3);
  let acc = 0;
  if (proto !== IPPROTO_ICMP) acc = isV6(b, l3) ? pseudoSum6(b, l3, proto, l4Len, dstOff) : pseudoSum4(b, l3, proto, l4Len);
  return foldSum(onesSum(b, l4, l4Len, acc)) === 0xffff;
}

// --- Incremental update (RFC 1624) ----------------------------------------

/**
 * The checksum after one 16-bit word of the covered data changed from `from`
 * to `to`: HC' = ~(~HC + ~m + m'), RFC 1624 eqn. 3 (eqn. 2, HC - ~m - m',
 * can land on 0xffff where a full recomputation gives 0). A byte that is half
 * of a word (TTL, TOS) changes the word it shares: pass both words whole.
 */
export function csumReplace16(check: number, from: number, to: number): number {
  let s = (~check & 0xffff) + (~from & 0xffff) + (to & 0xffff);
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** As csumReplace16 for an aligned 32-bit field (an IPv4 address, a TCP sequence number). */
export function csumReplace32(check: number, from: number, to: number): number {
  let s = (~check & 0xffff) + (~from & 0xffff) + (~(from >>> 16) & 0xffff) + (to & 0xffff) + ((to >>> 16) & 0xffff);
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** As csumReplace16 for `len` bytes (even, word aligned in the covered data), e.g. a 16-byte IPv6 address. */
export function csumReplaceBytes(check: number, from: Uint8Array, fromOff: number, to: Uint8Array, toOff: number, len: number): number {
  let s = ~check & 0xffff;
  for (let i = 0; i < len; i += 2) {
    s += (~((from[fromOff + i] << 8) | from[fromOff + i + 1]) & 0xffff) + ((to[toOff + i] << 8) | to[toOff + i + 1]);
  }
  return ~foldSum(s) & 0xffff;
}

/**
 * UDP's rules for an updated checksum: 0 means the sender computed none, so it
 * stays 0; an update that lands on 0 is sent as 0xffff (the kernel's
 * CSUM_MANGLED_0). Apply to the result of a csumReplace* on a UDP checksum.
 */
export function udpCsumFixup(oldCheck: number, newCheck: number): number {
  if (oldCheck === 0) return 0;
  return newCheck === 0 ? 0xffff : newCheck;
}

/** Updates the checksum stored at b[csumOff] for a 16-bit word changed from→to; `udp` applies udpCsumFixup. */
export function adjustChecksum16(b: Uint8Array, csumOff: number, from: number, to: number, udp = false): void {
  const old = be16(b, csumOff);
  const c = csumReplace16(old, from, to);
  putBe16(b, csumOff, udp ? udpCsumFixup(old, c) : c);
}

/** As adjustChecksum16 for a 32-bit field. */
export function adjustChecksum32(b: Uint8Array, csumOff: number, from: number, to: number, udp = false): void {
  const old = be16(b, csumOff);
  const c = csumReplace32(old, from, to);
  putBe16(b, csumOff, udp ? udpCsumFixup(old, c) : c);
}

/** As adjustChecksum16 for `len` bytes changed from from[fromOff..] to to[toOff..]. */
export function adjustChecksumBytes(
  b: Uint8Array,
  csumOff: number,
  from: Uint8Array,
  fromOff: number,
  to: Uint8Array,
  toOff: number,
  len: number,
  udp = false,
): void {
  const old = be16(b, csumOff);
  const c = csumReplaceBytes(old, from, fromOff, to, toOff, len);
  putBe16(b, csumOff, udp ? udpCsumFixup(old, c) : c);
}
