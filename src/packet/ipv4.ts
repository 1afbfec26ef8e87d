// IPv4 as the kernel's check_iphdr() and key_extract_l3l4() read it: the
// header (with options) must be in the frame; the version nibble and the total
// length are not checked; a nonzero fragment offset makes a LATER fragment,
// whose transport header is not looked at.
import { be16, putBe16, putBe32 } from './bytes.js';
import { FRAG_FIRST, FRAG_LATER, FRAG_NONE, IP_OFFSET, IPV4_HLEN } from './constants.js';
import { Layer, type ParsedPacket } from './result.js';

/** Parses the IPv4 header at p.l3; true if a transport header should be parsed next. */
export function parseIpv4(p: ParsedPacket): boolean {
  const b = p.buf;
  const off = p.l3;
  const avail = p.len - off;
  if (avail < IPV4_HLEN) {
    p.truncated = Layer.IPV4;
    return false;
  }
  const ihl = (b[off] & 15) << 2;
  if (ihl < IPV4_HLEN) {
    p.malformed = Layer.IPV4;
    return false;
  }
  if (avail < ihl) {
    p.truncated = Layer.IPV4;
    return false;
  }
  p.layers |= Layer.IPV4;
  p.ipHdrLen = ihl;
  p.ipTos = b[off + 1];
  p.ipTotalLen = be16(b, off + 2);
  p.ipTtl = b[off + 8];
  p.ipProto = b[off + 9];
  const fragWord = be16(b, off + 6);
  p.ipFragOff = fragWord & IP_OFFSET;
  p.ipMoreFrags = (fragWord >>> 13) & 1;
  p.l4 = off + ihl;
  p.l4Proto = p.ipProto;
  if (p.ipFragOff !== 0) {
    p.ipFrag = FRAG_LATER;
    return false;
  }
  p.ipFrag = p.ipMoreFrags ? FRAG_FIRST : FRAG_NONE;
  return true;
}

/**
 * Writes a 20-byte IPv4 header without options and with a zero checksum
 * (options go after it; then setIpv4Checksum). `fragWord` is the flags and
 * offset word: (DF ? 0x4000 : 0) | (MF ? 0x2000 : 0) | offset in 8-byte units.
 */
export function writeIpv4Header(
  b: Uint8Array,
  off: number,
  hdrLen: number,
  tos: number,
  totalLen: number,
  id: number,
  fragWord: number,
  ttl: number,
  proto: number,
  src: number,
  dst: number,
): number {
  b[off] = 0x40 | ((hdrLen >>> 2) & 15);
  b[off + 1] = tos;
  putBe16(b, off + 2, totalLen);
  putBe16(b, off + 4, id);
  putBe16(b, off + 6, fragWord);
  b[off + 8] = ttl;
  b[off + 9] = proto;
  b[off + 10] = 0;
  b[off + 11] = 0;
  putBe32(b, off + 12, src);
  putBe32(b, off + 16, dst);
  return off + IPV4_HLEN;
}
