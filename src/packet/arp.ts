// ARP and RARP over Ethernet/IPv4, the only kind the kernel keys on.
import { be16, putBe16, putBe32 } from './bytes.js';
import { ARP_ETH_HLEN, ARPHRD_ETHER, ETH_P_IP } from './constants.js';
import { Layer, type ParsedPacket } from './result.js';

export function parseArp(p: ParsedPacket): void {
  const b = p.buf;
  const off = p.l3;
  if (p.len - off < ARP_ETH_HLEN) {
    p.truncated = Layer.ARP;
    return;
  }
  // Anything but Ethernet/IPv4 the kernel keys as all zeros.
  if (be16(b, off) !== ARPHRD_ETHER || be16(b, off + 2) !== ETH_P_IP || b[off + 4] !== 6 || b[off + 5] !== 4) {
    p.malformed = Layer.ARP;
    return;
  }
  p.layers |= Layer.ARP;
  p.arpOp = be16(b, off + 6);
}

/** Writes a 28-byte Ethernet/IPv4 ARP body; hardware/protocol fields may be overridden for malformed cases. */
export function writeArp(
  b: Uint8Array,
  off: number,
  op: number,
  sha: Uint8Array,
  spa: number,
  tha: Uint8Array,
  tpa: number,
  hrd = ARPHRD_ETHER,
  pro = ETH_P_IP,
  hln = 6,
  pln = 4,
): number {
  putBe16(b, off, hrd);
  putBe16(b, off + 2, pro);
  b[off + 4] = hln;
  b[off + 5] = pln;
  putBe16(b, off + 6, op);
  b.set(sha.subarray(0, 6), off + 8);
  putBe32(b, off + 14, spa);
  b.set(tha.subarray(0, 6), off + 18);
  putBe32(b, off + 24, tpa);
  return off + ARP_ETH_HLEN;
}
