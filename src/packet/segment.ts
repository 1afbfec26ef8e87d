// TCP segmentation of an oversized frame, as the kernel's GSO would do it on
// the way out of a device: a sender behind a veth with TSO hands the other end
// one TCP "super-segment" of up to 64 KiB (AF_PACKET sees it whole), which no
// Ethernet port can send. The fallback datapath cuts such frames into
// segments that fit the MTU, each a valid packet: IPv4 total length, id and
// header checksum, IPv6 payload length, TCP sequence number, flags (FIN and
// PSH on the last segment only, CWR on the first only) and checksum.
import { be16, be32, putBe16, putBe32 } from './bytes.js';
import { setIpv4HeaderChecksum, setL4Checksum } from './checksum.js';
import { ETH_P_IP, ETH_P_IPV6, IPPROTO_TCP, TCP_CWR, TCP_FIN, TCP_PSH } from './constants.js';
import { parsePacket } from './parse.js';
import { Layer, ParsedPacket } from './result.js';

const scratch = new ParsedPacket();

/**
 * The frame cut into TCP segments whose IP packets fit `mtu`, or undefined
 * when it is not a TCP frame that needs it (then it goes as it is).
 */
export function segmentTcp(frame: Uint8Array, mtu: number): Uint8Array[] | undefined {
  const p = parsePacket(frame, frame.length, scratch);
  if (frame.length - p.l3 <= mtu || !(p.layers & Layer.TCP) || p.ipProto !== IPPROTO_TCP) return undefined;
  const v4 = p.ethType === ETH_P_IP;
  if (!v4 && p.ethType !== ETH_P_IPV6) return undefined;
  const l3 = p.l3;
  const l4 = p.l4;
  const hdr = l4 + p.l4HdrLen;
  // Only what the IP header says is packet: anything past it is padding.
  const end = Math.min(frame.length, l3 + p.ipTotalLen);
  const mss = mtu - (hdr - l3);
  if (mss <= 0 || end <= hdr) return undefined;
  const seq0 = be32(frame, l4 + 4);
  const flags0 = be16(frame, l4 + 12);
  const id0 = v4 ? be16(frame, l3 + 4) : 0;
  const out: Uint8Array[] = [];
  for (let off = hdr, i = 0; off < end; off += mss, i++) {
    const len = Math.min(mss, end - off);
    const last = off + len >= end;
    const seg = new Uint8Array(hdr + len);
    seg.set(frame.subarray(0, hdr));
    seg.set(frame.subarray(off, off + len), hdr);
    if (v4) {
      putBe16(seg, l3 + 2, seg.length - l3);
      putBe16(seg, l3 + 4, (id0 + i) & 0xffff);
      setIpv4HeaderChecksum(seg, l3);
    } else {
      putBe16(seg, l3 + 4, seg.length - l3 - 40);
    }
    putBe32(seg, l4 + 4, (seq0 + (off - hdr)) >>> 0);
    let flags = flags0;
    if (!last) flags &= ~(TCP_FIN | TCP_PSH);
    if (i > 0) flags &= ~TCP_CWR;
    putBe16(seg, l4 + 12, flags);
    setL4Checksum(seg, l3, l4, seg.length - l4, IPPROTO_TCP);
    out.push(seg);
  }
  return out;
}
