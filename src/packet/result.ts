// The parse result: which headers a frame has, where each starts, and the
// values the flow key is made of. One object is meant to be reused for every
// packet of a batch (parsePacket(buf, len, out)), so every field is a small
// integer that is reassigned per packet: no per-packet allocation, and one
// hidden class for V8. Addresses are not copied out: their offsets are fixed
// relative to a header start, and the accessors below read them on demand.
import { be32 } from './bytes.js';
import { FRAG_NONE } from './constants.js';

/**
 * Layer bits for ParsedPacket.layers, .truncated and .malformed. A bit in
 * `layers` means the header was complete and its key fields are set.
 */
export const Layer = {
  ETH: 1 << 0,
  /** Outer 802.1Q / 802.1ad tag. */
  VLAN: 1 << 1,
  /** Inner (customer) tag of a double-tagged frame. */
  CVLAN: 1 << 2,
  /** 802.3 length frame (LLC): the type field is a length. */
  LLC: 1 << 3,
  /** LLC with a SNAP header (AA-AA, OUI 0) that was stepped over. */
  SNAP: 1 << 4,
  /** MPLS label stack complete (bottom of stack reached). */
  MPLS: 1 << 5,
  ARP: 1 << 6,
  IPV4: 1 << 7,
  IPV6: 1 << 8,
  /** IPv6 extension headers were walked to the upper-layer header. */
  IPV6_EXT: 1 << 9,
  TCP: 1 << 10,
  UDP: 1 << 11,
  SCTP: 1 << 12,
  ICMP: 1 << 13,
  ICMPV6: 1 << 14,
  /** Neighbour solicitation/advertisement: the target was read. */
  ND: 1 << 15,
  /** NSH base header, and MD type 1's context, read (parse_nsh). */
  NSH: 1 << 16,
} as const;

const LAYER_NAMES: [number, string][] = Object.entries(Layer).map(([k, v]) => [v, k.toLowerCase()]);

/** Layer bits as names, for messages and tests: 'eth,ipv4,udp'. */
export function layerNames(bits: number): string {
  let s = '';
  for (const [bit, name] of LAYER_NAMES) if (bits & bit) s += (s ? ',' : '') + name;
  return s;
}

const EMPTY = new Uint8Array(0);

export class ParsedPacket {
  /** The frame parsed (not copied) and its length. */
  buf: Uint8Array = EMPTY;
  len = 0;
  /** Layer bits of the headers that were complete. */
  layers = 0;
  /** Layer bit of the header the frame ended inside (0: none). The key stops there, as the kernel's does. */
  truncated = 0;
  /** Layer bit of a header whose contents the kernel rejects (IPv4 IHL < 5, TCP data offset < 5, non-Ethernet/IPv4 ARP, bad ND options). */
  malformed = 0;

  /** The EtherType after VLAN tags and LLC/SNAP; ETH_TYPE_NONE (0x05ff) for an 802.2 frame. */
  ethType = 0;
  vlanTpid = 0;
  /** The TCI as on the wire (the kernel's key adds VLAN_CFI_MASK to mark it present). */
  vlanTci = 0;
  cvlanTpid = 0;
  cvlanTci = 0;
  /** Offset of the network header: right after the L2 header (tags, LLC/SNAP). The MPLS stack starts here for MPLS. */
  l3 = -1;

  /** MPLS label stack entries read in full; the first three are what a key holds. */
  mplsCount = 0;
  /** Offset just past the label stack (the inner network header), or -1. */
  mplsEnd = -1;

  /** ARP opcode as on the wire (the kernel's key keeps it only if it fits 8 bits, else 0). */
  arpOp = 0;

  /** The key's nw_proto: IPv4 protocol, IPv6 upper-layer header, 44 for later IPv6 fragments, 59 where the IPv6 chain stopped short. */
  ipProto = 0;
  /** IPv4 TOS / IPv6 traffic class (DSCP and ECN). */
  ipTos = 0;
  /** IPv4 TTL / IPv6 hop limit. */
  ipTtl = 0;
  /** FRAG_NONE, FRAG_FIRST or FRAG_LATER as the kernel classifies the packet. */
  ipFrag = FRAG_NONE;
  /** Fragment offset in 8-byte units (IPv4 header or IPv6 fragment header). */
  ipFragOff = 0;
  /** The more-fragments bit. */
  ipMoreFrags = 0;
  /** IPv4 total length, or 40 + IPv6 payload length, as the header says (may differ from what the frame holds). */
  ipTotalLen = 0;
  /** IPv4 header length with options; IPv6 40 plus the extension headers walked. */
  ipHdrLen = 0;
  /** IPv6 flow label (20 bits). */
  ipv6Label = 0;
  /** OVS_KEY_ATTR_IPV6_EXTHDRS bits (IPV6_EXT_*). */
  ipv6Exthdrs = 0;
  /**
   * A setting, not a result (reset() keeps it): whether an IPv6 extension
   * chain whose last header does not fit in the frame keys protocol 59
   * (measured on the 6.1 module and on 6.12.117) or the upper layer past the
   * end, absent (6.12.107). See kernelCutsShortIpv6Chain().
   */
  ipv6ChainMustFit = true;
  /** Offset of the (last) IPv6 fragment header, or -1. */
  ipv6FragHdr = -1;

  /** Offset where the upper-layer data starts (also for later fragments), or -1 if unknown. */
  l4 = -1;
  /** Protocol of the data at l4 (for later IPv6 fragments the fragment header's next header). */
  l4Proto = 0;
  /** Length of the transport header (TCP data offset, 8 for UDP/ICMP, 12 for SCTP, 24 for ND); 0 if absent. */
  l4HdrLen = 0;
  /** Ports; ICMP/ICMPv6 type and code, as the key holds them. */
  tpSrc = 0;
  tpDst = 0;
  /** The low 12 bits of TCP's data-offset word. */
  tcpFlags = 0;

  /** Offsets of the ND target and of the source/target link-layer addresses, or -1. */
  ndTarget = -1;
  ndSll = -1;
  ndTll = -1;

  /** Makes the object describe nothing yet, over `buf[0..len)`. */
  reset(buf: Uint8Array, len: number): void {
    this.buf = buf;
    this.len = len;
    this.layers = 0;
    this.truncated = 0;
    this.malformed = 0;
    this.ethType = 0;
    this.vlanTpid = 0;
    this.vlanTci = 0;
    this.cvlanTpid = 0;
    this.cvlanTci = 0;
    this.l3 = -1;
    this.mplsCount = 0;
    this.mplsEnd = -1;
    this.arpOp = 0;
    this.resetIp();
    this.l4 = -1;
    this.l4Proto = 0;
    this.resetL4();
  }

  /** Clears the network-layer fields: what the kernel does when it rejects an IP header. */
  resetIp(): void {
    this.ipProto = 0;
    this.ipTos = 0;
    this.ipTtl = 0;
    this.ipFrag = FRAG_NONE;
    this.ipFragOff = 0;
    this.ipMoreFrags = 0;
    this.ipTotalLen = 0;
    this.ipHdrLen = 0;
    this.ipv6Label = 0;
    this.ipv6Exthdrs = 0;
    this.ipv6FragHdr = -1;
  }

  /** Clears the transport fields: what the kernel does when a transport header is short. */
  resetL4(): void {
    this.l4HdrLen = 0;
    this.tpSrc = 0;
    this.tpDst = 0;
    this.tcpFlags = 0;
    this.ndTarget = -1;
    this.ndSll = -1;
    this.ndTll = -1;
  }

  has(layer: number): boolean {
    return (this.layers & layer) !== 0;
  }

  /** Offset of the transport payload (after the transport header), or -1. */
  get payload(): number {
    return this.l4HdrLen > 0 ? this.l4 + this.l4HdrLen : -1;
  }

  // Views and values read on demand. Views share memory with the frame.

  ethDst(): Uint8Array {
    return this.buf.subarray(0, 6);
  }
  ethSrc(): Uint8Array {
    return this.buf.subarray(6, 12);
  }
  /** An MPLS label stack entry as a u32 (i < mplsCount). */
  mplsLse(i: number): number {
    return be32(this.buf, this.l3 + 4 * i);
  }
  arpSha(): Uint8Array {
    return this.buf.subarray(this.l3 + 8, this.l3 + 14);
  }
  arpTha(): Uint8Array {
    return this.buf.subarray(this.l3 + 18, this.l3 + 24);
  }
  /** ARP sender / target protocol address as a u32. */
  arpSpa(): number {
    return be32(this.buf, this.l3 + 14);
  }
  arpTpa(): number {
    return be32(this.buf, this.l3 + 24);
  }
  ipv4Src(): number {
    return be32(this.buf, this.l3 + 12);
  }
  ipv4Dst(): number {
    return be32(this.buf, this.l3 + 16);
  }
  ipv6Src(): Uint8Array {
    return this.buf.subarray(this.l3 + 8, this.l3 + 24);
  }
  ipv6Dst(): Uint8Array {
    return this.buf.subarray(this.l3 + 24, this.l3 + 40);
  }
  ndTargetAddr(): Uint8Array | undefined {
    return this.ndTarget < 0 ? undefined : this.buf.subarray(this.ndTarget, this.ndTarget + 16);
  }
  ndSllAddr(): Uint8Array | undefined {
    return this.ndSll < 0 ? undefined : this.buf.subarray(this.ndSll, this.ndSll + 6);
  }
  ndTllAddr(): Uint8Array | undefined {
    return this.ndTll < 0 ? undefined : this.buf.subarray(this.ndTll, this.ndTll + 6);
  }
  /** The bytes after the transport header up to the end of the frame (Ethernet padding included). */
  payloadView(): Uint8Array {
    const p = this.payload;
    return p < 0 ? EMPTY : this.buf.subarray(p, this.len);
  }
}
