// TCP, UDP, SCTP and ICMP headers, each needing its full fixed size in the
// frame (TCP: its whole data offset) before the kernel keys on it; a short
// one leaves ports and flags zero.
import { be16, putBe16, putBe32 } from './bytes.js';
import { ICMP_HLEN, SCTP_HLEN, TCP_HLEN, UDP_HLEN } from './constants.js';
import { Layer, type ParsedPacket } from './result.js';

export function parseTcp(p: ParsedPacket): void {
  const b = p.buf;
  const off = p.l4;
  const avail = p.len - off;
  if (avail < TCP_HLEN) {
    p.truncated = Layer.TCP;
    return;
  }
  const doff = (b[off + 12] >>> 4) << 2;
  if (doff < TCP_HLEN) {
    p.malformed = Layer.TCP;
    return;
  }
  if (avail < doff) {
    p.truncated = Layer.TCP;
    return;
  }
  p.layers |= Layer.TCP;
  p.l4HdrLen = doff;
  p.tpSrc = be16(b, off);
  p.tpDst = be16(b, off + 2);
  p.tcpFlags = be16(b, off + 12) & 0x0fff;
}

export function parseUdp(p: ParsedPacket): void {
  const off = p.l4;
  if (p.len - off < UDP_HLEN) {
    p.truncated = Layer.UDP;
    return;
  }
  p.layers |= Layer.UDP;
  p.l4HdrLen = UDP_HLEN;
  p.tpSrc = be16(p.buf, off);
  p.tpDst = be16(p.buf, off + 2);
}

export function parseSctp(p: ParsedPacket): void {
  const off = p.l4;
  if (p.len - off < SCTP_HLEN) {
    p.truncated = Layer.SCTP;
    return;
  }
  p.layers |= Layer.SCTP;
  p.l4HdrLen = SCTP_HLEN;
  p.tpSrc = be16(p.buf, off);
  p.tpDst = be16(p.buf, off + 2);
}

/** ICMP type and code go where the ports go, as in the kernel's key. */
export function parseIcmp(p: ParsedPacket): void {
  const off = p.l4;
  if (p.len - off < ICMP_HLEN) {
    p.truncated = Layer.ICMP;
    return;
  }
  p.layers |= Layer.ICMP;
  p.l4HdrLen = ICMP_HLEN;
  p.tpSrc = p.buf[off];
  p.tpDst = p.buf[off + 1];
}

/**
 * Writes a TCP header with a zero checksum; `hdrLen` includes options (written
 * by the caller after the 20 fixed bytes); `flags` is the low 12 bits of the
 * data-offset word.
 */
export function writeTcpHeader(
  b: Uint8Array,
  off: number,
  src: number,
  dst: number,
  seq: number,
  ack: number,
  hdrLen: number,
  flags: number,
  window: number,
  urgent: number,
): number {
  putBe16(b, off, src);
  putBe16(b, off + 2, dst);
  putBe32(b, off + 4, seq);
  putBe32(b, off + 8, ack);
  putBe16(b, off + 12, (((hdrLen >>> 2) & 15) << 12) | (flags & 0x0fff));
  putBe16(b, off + 14, window);
  putBe16(b, off + 16, 0);
  putBe16(b, off + 18, urgent);
  return off + TCP_HLEN;
}

/** Writes a UDP header with a zero checksum; `len` covers header and data. */
export function writeUdpHeader(b: Uint8Array, off: number, src: number, dst: number, len: number): number {
  putBe16(b, off, src);
  putBe16(b, off + 2, dst);
  putBe16(b, off + 4, len);
  putBe16(b, off + 6, 0);
  return off + UDP_HLEN;
}

/** Writes an SCTP common header with a zero checksum. */
export function writeSctpHeader(b: Uint8Array, off: number, src: number, dst: number, vtag: number): number {
  putBe16(b, off, src);
  putBe16(b, off + 2, dst);
  putBe32(b, off + 4, vtag);
  putBe32(b, off + 8, 0);
  return off + SCTP_HLEN;
}

/** Writes an ICMP or ICMPv6 header (type, code, zero checksum, 4 bytes of `rest` such as id and sequence). */
export function writeIcmpHeader(b: Uint8Array, off: number, type: number, code: number, rest: number): number {
  b[off] = type;
  b[off + 1] = code;
  putBe16(b, off + 2, 0);
  putBe32(b, off + 4, rest);
  return off + ICMP_HLEN;
}
