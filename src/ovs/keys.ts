// The typed flow key. A mask has the same type: each field holds the mask's
// bits for that field (all ones = exact, zero = wildcard), as in OVS_FLOW_ATTR_MASK.
//
// Attribute order is the object's property insertion order. Decoders insert in
// wire order and encoders write in property order, so kernel replies
// re-encode byte for byte and ODP text keeps the order it was written in.
// Attributes a decoder does not know are kept as `keyN` properties (N = the
// attribute type, raw payload), the same name OVS prints for them.
import type { Ipv4, Ipv6, Mac } from './addr.js';

export interface EthernetKey {
  src: Mac;
  dst: Mac;
}

/** OVS_KEY_ATTR_VLAN: the TCI split into its fields. cfi is the "tag present" bit (0x1000). */
export interface VlanKey {
  vid: number;
  pcp: number;
  cfi: number;
}

export interface Ipv4Key {
  src: Ipv4;
  dst: Ipv4;
  proto: number;
  tos: number;
  ttl: number;
  /** OVS_FRAG_TYPE_*: 0 no, 1 first, 2 later. In a mask 0 or 0xff. */
  frag: number;
}

export interface Ipv6Key {
  src: Ipv6;
  dst: Ipv6;
  /** Flow label, 20 bits (the field is a be32). */
  label: number;
  proto: number;
  tclass: number;
  hlimit: number;
  frag: number;
}

/** TCP, UDP and SCTP ports (be16 each). */
export interface PortsKey {
  src: number;
  dst: number;
}

export interface IcmpKey {
  type: number;
  code: number;
}

export interface ArpKey {
  sip: Ipv4;
  tip: Ipv4;
  op: number;
  sha: Mac;
  tha: Mac;
}

export interface NdKey {
  target: Ipv6;
  sll: Mac;
  tll: Mac;
}

/** OVS userspace only (OVS_KEY_ATTR_ND_EXTENSIONS). */
export interface NdExtensionsKey {
  /** be32 */
  reserved: number;
  optionsType: number;
}

/** One MPLS label stack entry. */
export interface MplsLse {
  label: number;
  tc: number;
  ttl: number;
  bos: number;
}

export interface CtTupleIpv4Key {
  src: Ipv4;
  dst: Ipv4;
  srcPort: number;
  dstPort: number;
  proto: number;
}

export interface CtTupleIpv6Key {
  src: Ipv6;
  dst: Ipv6;
  srcPort: number;
  dstPort: number;
  proto: number;
}

/** OVS userspace only (OVS_KEY_ATTR_PACKET_TYPE): namespace 0 = Ethernet, 1 = Ethertype `id`. */
export interface PacketTypeKey {
  ns: number;
  id: number;
}

/** Unknown nested attributes, kept by type number. */
export interface UnknownAttrs {
  [unknown: `key${number}`]: Uint8Array;
}

export interface NshBase {
  flags: number;
  ttl: number;
  mdtype: number;
  /** Next protocol. */
  np: number;
  /** Service path identifier, 24 bits. */
  spi: number;
  /** Service index. */
  si: number;
}

/** OVS_KEY_ATTR_NSH (nested OVS_NSH_KEY_ATTR_*). */
export interface NshKey extends UnknownAttrs {
  base?: NshBase;
  /** MD type 1 context headers c1..c4 (be32 each). */
  md1?: [number, number, number, number];
  /** MD type 2 TLVs, raw. */
  md2?: Uint8Array;
}

export interface VxlanOpts extends UnknownAttrs {
  /** OVS_VXLAN_EXT_GBP: u32 host order, (flags << 16) | group policy id. */
  gbp?: number;
  /** OVS_VXLAN_EXT_GPE flag: OVS userspace only. */
  gpe?: boolean;
}

/**
 * struct erspan_metadata, field for field. Bytes 4..11 are a union: v1 uses
 * `index`; v2 uses the same 4 bytes as a timestamp plus the other fields.
 */
export interface ErspanOpts {
  /** s32, host order */
  version: number;
  /** v1 session index / v2 timestamp (be32) */
  index: number;
  /** v2 security group tag (be16) */
  sgt: number;
  p: number;
  ft: number;
  /** v2 hardware id, upper 2 bits */
  hwidUpper: number;
  o: number;
  gra: number;
  dir: number;
  /** v2 hardware id, lower 4 bits (the part OVS's text shows) */
  hwid: number;
}

/** OVS userspace only (struct gtpu_metadata). */
export interface GtpuOpts {
  flags: number;
  msgtype: number;
}

/** OVS_KEY_ATTR_TUNNEL (nested OVS_TUNNEL_KEY_ATTR_*). In a mask a flag present means its bit is significant. */
export interface TunnelKey extends UnknownAttrs {
  /** be64 tunnel id */
  id?: bigint;
  ipv4Src?: Ipv4;
  ipv4Dst?: Ipv4;
  tos?: number;
  ttl?: number;
  dontFragment?: boolean;
  csum?: boolean;
  oam?: boolean;
  /** Geneve options as on the wire (class, type, length, data)...; see geneveOptions() in the ODP layer. */
  geneveOpts?: Uint8Array;
  tpSrc?: number;
  tpDst?: number;
  vxlanOpts?: VxlanOpts;
  ipv6Src?: Ipv6;
  ipv6Dst?: Ipv6;
  /** The zero-length OVS_TUNNEL_KEY_ATTR_PAD the kernel puts before the 64-bit id for alignment. */
  pad?: boolean;
  erspanOpts?: ErspanOpts;
  /** Attribute 16 with 2 bytes: OVS userspace only. */
  gtpuOpts?: GtpuOpts;
  /** Attribute 16 without payload: the kernel's IPV4_INFO_BRIDGE flag. */
  ipv4InfoBridge?: boolean;
}

export interface FlowKey extends UnknownAttrs {
  /** The headers inside a VLAN tag. */
  encap?: FlowKey;
  /** skb_priority, u32 */
  priority?: number;
  inPort?: number;
  ethernet?: EthernetKey;
  vlan?: VlanKey;
  ethertype?: number;
  ipv4?: Ipv4Key;
  ipv6?: Ipv6Key;
  tcp?: PortsKey;
  udp?: PortsKey;
  icmp?: IcmpKey;
  icmpv6?: IcmpKey;
  arp?: ArpKey;
  nd?: NdKey;
  skbMark?: number;
  tunnel?: TunnelKey;
  sctp?: PortsKey;
  /** be16, 12 significant bits */
  tcpFlags?: number;
  dpHash?: number;
  recircId?: number;
  /** Outermost label first. */
  mpls?: MplsLse[];
  ctState?: number;
  ctZone?: number;
  ctMark?: number;
  /** 128-bit labels as OVS reads them: a host-order u128. */
  ctLabels?: bigint;
  ctOrigTupleIpv4?: CtTupleIpv4Key;
  ctOrigTupleIpv6?: CtTupleIpv6Key;
  nsh?: NshKey;
  /** OVS userspace only. */
  packetType?: PacketTypeKey;
  /** OVS userspace only. */
  ndExtensions?: NdExtensionsKey;
  /** u16 bitmap of IPv6 extension headers (kernel ≥ 5.19). */
  ipv6Exthdrs?: number;
}

/** A mask has the key's shape. */
export type FlowMask = FlowKey;

/** The known flow key fields, in enum ovs_key_attr order. */
export type FlowKeyField = Exclude<keyof FlowKey, `key${number}`>;

/** Field name ↔ attribute type. */
export const KEY_FIELD_TYPES: Readonly<Record<FlowKeyField, number>> = {
  encap: 1,
  priority: 2,
  inPort: 3,
  ethernet: 4,
  vlan: 5,
  ethertype: 6,
  ipv4: 7,
  ipv6: 8,
  tcp: 9,
  udp: 10,
  icmp: 11,
  icmpv6: 12,
  arp: 13,
  nd: 14,
  skbMark: 15,
  tunnel: 16,
  sctp: 17,
  tcpFlags: 18,
  dpHash: 19,
  recircId: 20,
  mpls: 21,
  ctState: 22,
  ctZone: 23,
  ctMark: 24,
  ctLabels: 25,
  ctOrigTupleIpv4: 26,
  ctOrigTupleIpv6: 27,
  nsh: 28,
  packetType: 29,
  ndExtensions: 30,
  ipv6Exthdrs: 32,
};

export const KEY_TYPE_FIELDS: ReadonlyArray<FlowKeyField | undefined> = (() => {
  const out: Array<FlowKeyField | undefined> = [];
  for (const [name, type] of Object.entries(KEY_FIELD_TYPES)) out[type] = name as FlowKeyField;
  return out;
})();

/** OVS's text name of each attribute (`odp-util.c` ovs_key_attr_to_string). */
export const KEY_FIELD_ODP_NAMES: Readonly<Record<FlowKeyField, string>> = {
  encap: 'encap',
  priority: 'skb_priority',
  inPort: 'in_port',
  ethernet: 'eth',
  vlan: 'vlan',
  ethertype: 'eth_type',
  ipv4: 'ipv4',
  ipv6: 'ipv6',
  tcp: 'tcp',
  udp: 'udp',
  icmp: 'icmp',
  icmpv6: 'icmpv6',
  arp: 'arp',
  nd: 'nd',
  skbMark: 'skb_mark',
  tunnel: 'tunnel',
  sctp: 'sctp',
  tcpFlags: 'tcp_flags',
  dpHash: 'dp_hash',
  recircId: 'recirc_id',
  mpls: 'mpls',
  ctState: 'ct_state',
  ctZone: 'ct_zone',
  ctMark: 'ct_mark',
  ctLabels: 'ct_label',
  ctOrigTupleIpv4: 'ct_tuple4',
  ctOrigTupleIpv6: 'ct_tuple6',
  nsh: 'nsh',
  packetType: 'packet_type',
  ndExtensions: 'nd_ext',
  // OVS does not know attribute 32 and prints it generically.
  ipv6Exthdrs: 'key32',
};

/** `keyN` property name → N, or -1 for any other name. */
export function unknownAttrType(name: string): number {
  if (name.length < 4 || !name.startsWith('key')) return -1;
  const n = Number(name.slice(3));
  return Number.isInteger(n) && n >= 0 && n <= 0x3fff && String(n) === name.slice(3) ? n : -1;
}

export const unknownAttrName = (type: number): `key${number}` => `key${type}`;
