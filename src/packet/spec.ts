// The typed description buildFrame() turns into bytes: one optional field
// per header, discriminated unions for the network and transport layers, and
// the address inputs they accept (text as OVS prints it, numbers, or bytes).
import { ipv4ToU32OrNeg, ipv6IntoBytes, macIntoBytes } from '../ovs/addr.js';

/** A MAC as text (aa:bb:cc:dd:ee:ff) or 6 bytes. */
export type MacInput = string | Uint8Array;
/** An IPv4 address as a dotted quad, a u32, or 4 bytes. */
export type Ipv4Input = string | number | Uint8Array;
/** An IPv6 address as text or 16 bytes. */
export type Ipv6Input = string | Uint8Array;

export interface VlanSpec {
  /** 0x8100 (default) or 0x88a8. */
  tpid?: number;
  vid?: number;
  pcp?: number;
  dei?: number;
  /** The whole TCI; overrides vid, pcp and dei. */
  tci?: number;
}

export interface MplsSpec {
  label: number;
  tc?: number;
  ttl?: number;
  /** Bottom of stack; default: set on the last entry only. */
  bos?: boolean;
}

export interface ArpSpec {
  kind: 'arp';
  /** Use EtherType 0x8035 (RARP). */
  rarp?: boolean;
  op?: number;
  sha?: MacInput;
  spa?: Ipv4Input;
  tha?: MacInput;
  tpa?: Ipv4Input;
  hrd?: number;
  pro?: number;
  hln?: number;
  pln?: number;
}

export interface Ipv4Spec {
  kind: 'ipv4';
  src: Ipv4Input;
  dst: Ipv4Input;
  tos?: number;
  ttl?: number;
  id?: number;
  df?: boolean;
  mf?: boolean;
  /** Fragment offset in 8-byte units. */
  fragOffset?: number;
  /** Default: from the transport spec (59 without one). */
  proto?: number;
  /** Options, padded with zeros (end of list) to a multiple of 4. */
  options?: Uint8Array;
  /** Header length in bytes written into IHL (default: 20 + options). */
  ihl?: number;
  totalLength?: number;
  checksum?: number;
}

export type Ipv6ExtSpec = { nextHeader?: number } & (
  | { kind: 'hop' | 'dst'; options?: Uint8Array }
  | { kind: 'routing'; routingType?: number; segmentsLeft?: number; data?: Uint8Array }
  | { kind: 'fragment'; offset?: number; more?: boolean; id?: number }
  | { kind: 'ah'; spi?: number; seq?: number; icv?: Uint8Array }
);

export interface Ipv6Spec {
  kind: 'ipv6';
  src: Ipv6Input;
  dst: Ipv6Input;
  tclass?: number;
  flowLabel?: number;
  hopLimit?: number;
  /** Extension headers in order; their next-header fields chain automatically. */
  ext?: Ipv6ExtSpec[];
  nextHeader?: number;
  payloadLength?: number;
}

/** An 802.2 LLC frame without SNAP: DSAP, SSAP, control, then `data`. */
export interface LlcSpec {
  kind: 'llc';
  dsap?: number;
  ssap?: number;
  ctrl?: number;
  data?: Uint8Array;
}

/** Any other network protocol: the EtherType and the bytes. */
export interface RawL3Spec {
  kind: 'raw';
  ethType: number;
  data?: Uint8Array;
}

export type L3Spec = ArpSpec | Ipv4Spec | Ipv6Spec | LlcSpec | RawL3Spec;

export interface TcpSpec {
  kind: 'tcp';
  src: number;
  dst: number;
  seq?: number;
  ack?: number;
  /** Low 12 bits of the data-offset word (TCP_SYN | TCP_ACK ...). */
  flags?: number;
  window?: number;
  urgent?: number;
  /** Options, padded with zeros to a multiple of 4. */
  options?: Uint8Array;
  /** Header length in bytes written into the data offset (default: 20 + options). */
  dataOffset?: number;
  checksum?: number;
}

export interface UdpSpec {
  kind: 'udp';
  src: number;
  dst: number;
  length?: number;
  /** A value to write as is, or 'none' for 0 (no checksum, IPv4 only by the rules). */
  checksum?: number | 'none';
}

export interface SctpSpec {
  kind: 'sctp';
  src: number;
  dst: number;
  vtag?: number;
  /** Chunks after the common header (the payload follows them). */
  chunks?: Uint8Array;
  checksum?: number;
}

export interface IcmpSpec {
  kind: 'icmp' | 'icmpv6';
  type: number;
  code?: number;
  /** The 4 bytes after the checksum (identifier << 16 | sequence for echo). */
  rest?: number;
  checksum?: number;
}

export interface NdSpec {
  kind: 'nd';
  /** 'ns' (135) or 'na' (136). */
  type: 'ns' | 'na';
  target: Ipv6Input;
  /** Source link-layer address option. */
  sll?: MacInput;
  /** Target link-layer address option. */
  tll?: MacInput;
  router?: boolean;
  solicited?: boolean;
  override?: boolean;
  /** More options, appended as they are. */
  options?: Uint8Array;
  checksum?: number;
}

/** Any other upper-layer protocol (ESP, GRE, ...): its number and bytes. */
export interface RawL4Spec {
  kind: 'raw';
  proto: number;
  data?: Uint8Array;
}

export type L4Spec = TcpSpec | UdpSpec | SctpSpec | IcmpSpec | NdSpec | RawL4Spec;

export interface FrameSpec {
  dst?: MacInput;
  src?: MacInput;
  /** Outermost first. */
  vlans?: VlanSpec[];
  /** Carry the EtherType in an LLC/SNAP header of an 802.3 length frame. */
  snap?: { oui?: number; ctrl?: number };
  /** The type field after the tags; default from `mpls`/`l3`. */
  ethType?: number;
  mpls?: MplsSpec[];
  l3?: L3Spec;
  l4?: L4Spec;
  /** Bytes after the innermost header, or a length for a counting pattern. */
  payload?: Uint8Array | number;
  /** Pad with zeros to at least this many bytes (60 for a minimum Ethernet frame without FCS). */
  padTo?: number;
}

export function macBytes(m: MacInput): Uint8Array {
  if (typeof m !== 'string') return m;
  const out = new Uint8Array(6);
  if (!macIntoBytes(m, out)) throw new RangeError(`not a MAC address: ${JSON.stringify(m)}`);
  return out;
}

export function ipv4U32(a: Ipv4Input): number {
  if (typeof a === 'number') return a >>> 0;
  if (typeof a !== 'string') return ((a[0] << 24) | (a[1] << 16) | (a[2] << 8) | a[3]) >>> 0;
  const v = ipv4ToU32OrNeg(a);
  if (v < 0) throw new RangeError(`not an IPv4 address: ${JSON.stringify(a)}`);
  return v;
}

export function ipv6Bytes(a: Ipv6Input): Uint8Array {
  if (typeof a !== 'string') return a;
  const out = new Uint8Array(16);
  if (!ipv6IntoBytes(a, out)) throw new RangeError(`not an IPv6 address: ${JSON.stringify(a)}`);
  return out;
}
