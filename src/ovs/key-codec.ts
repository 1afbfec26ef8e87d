// Flow key (and mask) attributes ↔ the typed FlowKey. Pure functions: the
// encoder appends to an AttrWriter, the decoder reads a buffer of attributes.
// Fixed structs are checked for their exact size (as the kernel does);
// anything else malformed is a MalformedError.
import { AttrWriter, HOST_LE, be16At, be32At, u16At, u32At, type Attr } from '../netlink/attr.js';
import { NLA_HDRLEN, NLA_TYPE_MASK } from '../netlink/constants.js';
import { MalformedError } from '../netlink/errors.js';
import { ipv4FromBytes, ipv6FromBytes, macFromBytes } from './addr.js';
import type {
  ArpKey, CtTupleIpv4Key, CtTupleIpv6Key, EthernetKey, FlowKey, FlowKeyField, IcmpKey, Ipv4Key, Ipv6Key, MplsLse, NdExtensionsKey,
  NdKey, NshKey, PacketTypeKey, PortsKey, TunnelKey, VlanKey,
} from './keys.js';
import { KEY_FIELD_TYPES, KEY_TYPE_FIELDS, unknownAttrName, unknownAttrType } from './keys.js';
import { decodeNshAttrs, encodeNshAttrs } from './nsh-codec.js';
import { checkBig, checkUint, Scratch, u128FromBytes, u128IntoBytes } from './packing.js';
import { decodeTunnelAttrs, encodeTunnelAttrs } from './tunnel-codec.js';
import * as K from './uapi-keys.js';

const s = new Scratch(64);

/** Maximum VLAN/encap nesting the decoder follows (the kernel allows 2; OVS's text up to 31). */
const MAX_DEPTH = 32;

export const VLAN_CFI = 0x1000;

export function vlanTci(v: VlanKey): number {
  return (checkUint(v.pcp, 3, 'vlan pcp') << 13) | (checkUint(v.cfi, 1, 'vlan cfi') << 12) | checkUint(v.vid, 12, 'vlan vid');
}

export function vlanFromTci(tci: number): VlanKey {
  return { vid: tci & 0xfff, pcp: tci >> 13, cfi: (tci >> 12) & 1 };
}

export function mplsLseValue(l: MplsLse): number {
  return (
    ((checkUint(l.label, 20, 'mpls label') << 12) | (checkUint(l.tc, 3, 'mpls tc') << 9) | (checkUint(l.bos, 1, 'mpls bos') << 8) | checkUint(l.ttl, 8, 'mpls ttl')) >>> 0
  );
}

export function mplsLseFromValue(v: number): MplsLse {
  return { label: v >>> 12, tc: (v >>> 9) & 7, bos: (v >>> 8) & 1, ttl: v & 0xff };
}

/** Appends the key's attributes, in property order, to `w` (not the enclosing OVS_FLOW_ATTR_KEY nest). */
export function encodeKey(w: AttrWriter, key: FlowKey): void {
  encodeKeyAt(w, key, 0);
}

function encodeKeyAt(w: AttrWriter, key: FlowKey, depth: number): void {
  if (depth > MAX_DEPTH) throw new RangeError(`flow key nests encap() deeper than ${MAX_DEPTH}`);
  for (const name of Object.keys(key)) {
    const v = (key as Record<string, unknown>)[name];
    if (v === undefined) continue;
    encodeField(w, name, v, depth);
  }
}

/** A mask is encoded exactly like a key. */
export const encodeMask: (w: AttrWriter, mask: FlowKey) => void = encodeKey;

/** Writes one key attribute; `name` is a FlowKey property name (or `keyN`). */
export function encodeKeyField(w: AttrWriter, name: string, v: unknown): void {
  encodeField(w, name, v, 0);
}

function encodeField(w: AttrWriter, name: string, v: unknown, depth: number): void {
  switch (name as FlowKeyField) {
    case 'encap': {
      const tok = w.nestStart(K.OVS_KEY_ATTR_ENCAP);
      encodeKeyAt(w, v as FlowKey, depth + 1);
      w.nestEnd(tok);
      return;
    }
    case 'priority':
      w.u32(K.OVS_KEY_ATTR_PRIORITY, checkUint(v as number, 32, 'skb_priority'));
      return;
    case 'inPort':
      w.u32(K.OVS_KEY_ATTR_IN_PORT, checkUint(v as number, 32, 'in_port'));
      return;
    case 'ethernet': {
      const e = v as EthernetKey;
      const b = s.take(12);
      s.mac(0, e.src, 'eth src');
      s.mac(6, e.dst, 'eth dst');
      w.bytes(K.OVS_KEY_ATTR_ETHERNET, b);
      return;
    }
    case 'vlan':
      w.be16(K.OVS_KEY_ATTR_VLAN, vlanTci(v as VlanKey));
      return;
    case 'ethertype':
      w.be16(K.OVS_KEY_ATTR_ETHERTYPE, checkUint(v as number, 16, 'eth_type'));
      return;
    case 'ipv4': {
      const k = v as Ipv4Key;
      const b = s.take(12);
      s.ipv4(0, k.src, 'ipv4 src');
      s.ipv4(4, k.dst, 'ipv4 dst');
      s.u8(8, k.proto, 'ipv4 proto');
      s.u8(9, k.tos, 'ipv4 tos');
      s.u8(10, k.ttl, 'ipv4 ttl');
      s.u8(11, k.frag, 'ipv4 frag');
      w.bytes(K.OVS_KEY_ATTR_IPV4, b);
      return;
    }
    case 'ipv6': {
      const k = v as Ipv6Key;
      const b = s.take(40);
      s.ipv6(0, k.src, 'ipv6 src');
      s.ipv6(16, k.dst, 'ipv6 dst');
      s.be32(32, k.label, 'ipv6 label');
      s.u8(36, k.proto, 'ipv6 proto');
      s.u8(37, k.tclass, 'ipv6 tclass');
      s.u8(38, k.hlimit, 'ipv6 hlimit');
      s.u8(39, k.frag, 'ipv6 frag');
      w.bytes(K.OVS_KEY_ATTR_IPV6, b);
      return;
    }
    case 'tcp':
      ports(w, K.OVS_KEY_ATTR_TCP, v as PortsKey, 'tcp');
      return;
    case 'udp':
      ports(w, K.OVS_KEY_ATTR_UDP, v as PortsKey, 'udp');
      return;
    case 'sctp':
      ports(w, K.OVS_KEY_ATTR_SCTP, v as PortsKey, 'sctp');
      return;
    case 'icmp':
      icmp(w, K.OVS_KEY_ATTR_ICMP, v as IcmpKey, 'icmp');
      return;
    case 'icmpv6':
      icmp(w, K.OVS_KEY_ATTR_ICMPV6, v as IcmpKey, 'icmpv6');
      return;
    case 'arp': {
      const k = v as ArpKey;
      const b = s.take(24);
      s.ipv4(0, k.sip, 'arp sip');
      s.ipv4(4, k.tip, 'arp tip');
      s.be16(8, k.op, 'arp op');
      s.mac(10, k.sha, 'arp sha');
      s.mac(16, k.tha, 'arp tha');
      w.bytes(K.OVS_KEY_ATTR_ARP, b);
      return;
    }
    case 'nd': {
      const k = v as NdKey;
      const b = s.take(28);
      s.ipv6(0, k.target, 'nd target');
      s.mac(16, k.sll, 'nd sll');
      s.mac(22, k.tll, 'nd tll');
      w.bytes(K.OVS_KEY_ATTR_ND, b);
      return;
    }
    case 'skbMark':
      w.u32(K.OVS_KEY_ATTR_SKB_MARK, checkUint(v as number, 32, 'skb_mark'));
      return;
    case 'tunnel': {
      const tok = w.nestStart(K.OVS_KEY_ATTR_TUNNEL);
      encodeTunnelAttrs(w, v as TunnelKey);
      w.nestEnd(tok);
      return;
    }
    case 'tcpFlags':
      w.be16(K.OVS_KEY_ATTR_TCP_FLAGS, checkUint(v as number, 16, 'tcp_flags'));
      return;
    case 'dpHash':
      w.u32(K.OVS_KEY_ATTR_DP_HASH, checkUint(v as number, 32, 'dp_hash'));
      return;
    case 'recircId':
      w.u32(K.OVS_KEY_ATTR_RECIRC_ID, checkUint(v as number, 32, 'recirc_id'));
      return;
    case 'mpls': {
      const lses = v as MplsLse[];
      const b = new Uint8Array(4 * lses.length);
      const view = new DataView(b.buffer);
      lses.forEach((l, i) => view.setUint32(4 * i, mplsLseValue(l), false));
      w.bytes(K.OVS_KEY_ATTR_MPLS, b);
      return;
    }
    case 'ctState':
      w.u32(K.OVS_KEY_ATTR_CT_STATE, checkUint(v as number, 32, 'ct_state'));
      return;
    case 'ctZone':
      w.u16(K.OVS_KEY_ATTR_CT_ZONE, checkUint(v as number, 16, 'ct_zone'));
      return;
    case 'ctMark':
      w.u32(K.OVS_KEY_ATTR_CT_MARK, checkUint(v as number, 32, 'ct_mark'));
      return;
    case 'ctLabels': {
      const b = s.take(16);
      u128IntoBytes(checkBig(v as bigint, 128, 'ct_label'), b);
      w.bytes(K.OVS_KEY_ATTR_CT_LABELS, b);
      return;
    }
    case 'ctOrigTupleIpv4': {
      const k = v as CtTupleIpv4Key;
      const b = s.take(16);
      s.ipv4(0, k.src, 'ct_tuple4 src');
      s.ipv4(4, k.dst, 'ct_tuple4 dst');
      s.be16(8, k.srcPort, 'ct_tuple4 src port');
      s.be16(10, k.dstPort, 'ct_tuple4 dst port');
      s.u8(12, k.proto, 'ct_tuple4 proto');
      w.bytes(K.OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV4, b);
      return;
    }
    case 'ctOrigTupleIpv6': {
      const k = v as CtTupleIpv6Key;
      const b = s.take(40);
      s.ipv6(0, k.src, 'ct_tuple6 src');
      s.ipv6(16, k.dst, 'ct_tuple6 dst');
      s.be16(32, k.srcPort, 'ct_tuple6 src port');
      s.be16(34, k.dstPort, 'ct_tuple6 dst port');
      s.u8(36, k.proto, 'ct_tuple6 proto');
      w.bytes(K.OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV6, b);
      return;
    }
    case 'nsh': {
      const tok = w.nestStart(K.OVS_KEY_ATTR_NSH);
      encodeNshAttrs(w, v as NshKey);
      w.nestEnd(tok);
      return;
    }
    case 'packetType': {
      const p = v as PacketTypeKey;
      w.be32(K.OVS_KEY_ATTR_PACKET_TYPE, ((checkUint(p.ns, 16, 'packet_type ns') << 16) | checkUint(p.id, 16, 'packet_type id')) >>> 0);
      return;
    }
    case 'ndExtensions': {
      const k = v as NdExtensionsKey;
      const b = s.take(8);
      s.be32(0, k.reserved, 'nd_ext reserved');
      s.u8(4, k.optionsType, 'nd_ext options type');
      w.bytes(K.OVS_KEY_ATTR_ND_EXTENSIONS, b);
      return;
    }
    case 'ipv6Exthdrs':
      w.u16(K.OVS_KEY_ATTR_IPV6_EXTHDRS, checkUint(v as number, 16, 'ipv6 exthdrs'));
      return;
  }
  const type = unknownAttrType(name);
  if (type < 0) throw new RangeError(`flow key: unknown field ${JSON.stringify(name)}`);
  if (!(v instanceof Uint8Array)) throw new RangeError(`flow key: ${name} must be a Uint8Array`);
  w.bytes(type, v);
}

function ports(w: AttrWriter, type: number, p: PortsKey, what: string): void {
  const b = s.take(4);
  s.be16(0, p.src, `${what} src`);
  s.be16(2, p.dst, `${what} dst`);
  w.bytes(type, b);
}

function icmp(w: AttrWriter, type: number, p: IcmpKey, what: string): void {
  const b = s.take(2);
  s.u8(0, p.type, `${what} type`);
  s.u8(1, p.code, `${what} code`);
  w.bytes(type, b);
}

/** The payload bytes (no header, no padding) one key attribute would have. */
export function keyFieldPayload(name: string, v: unknown): Uint8Array {
  const w = new AttrWriter(64);
  encodeKeyField(w, name, v);
  const out = w.finish();
  const len = new DataView(out.buffer, out.byteOffset).getUint16(0, HOST_LE);
  return out.slice(4, len);
}

/**
 * Decodes a buffer of key (or mask) attributes. Every MISS upcall and every
 * dumped flow goes through here, so it walks the bytes itself: no Attr
 * objects, no [name, value] pairs, no DataViews. decodeKeyField decodes one
 * attribute with the same fieldValue.
 */
export function decodeKey(bytes: Uint8Array): FlowKey {
  return decodeKeyBytes(bytes, 0, bytes.length, 0, undefined);
}

/**
 * Which attributes decodeKeyFields decodes, by attribute type (made once by
 * keyFieldSet: a caller decodes many keys with the same set).
 */
export type KeyFieldSet = Readonly<Uint8Array>;

/** The set of the named FlowKey properties (encap included: its fields are chosen by the same set). */
export function keyFieldSet(fields: readonly FlowKeyField[]): KeyFieldSet {
  const set = new Uint8Array(KEY_TYPE_FIELDS.length);
  for (const f of fields) set[KEY_FIELD_TYPES[f]] = 1;
  return set;
}

/**
 * decodeKey for a reader of some fields only: the other attributes are
 * checked as attributes (lengths, duplicates) but not decoded, so the key
 * has only the named properties, at every encap level. An upcall's key
 * carries a dozen attributes of which a learning switch reads four; the
 * rest (addresses as text, ports, conntrack) was most of its decoding.
 */
export function decodeKeyFields(bytes: Uint8Array, fields: KeyFieldSet): FlowKey {
  return decodeKeyBytes(bytes, 0, bytes.length, 0, fields);
}

export const decodeMask: (bytes: Uint8Array) => FlowKey = decodeKey;

function sized(type: number, len: number, size: number, what: string): void {
  if (len !== size) throw new MalformedError(`${what} (attribute ${type}) needs ${size} bytes, got ${len}`);
}

function u128At(b: Uint8Array, o: number): bigint {
  // ct_labels rides in every upcall key of a kernel with conntrack labels, nearly always zero.
  let any = 0;
  for (let i = 0; i < 16; i++) any |= b[o + i];
  return any === 0 ? 0n : u128FromBytes(b, o);
}

function decodeKeyBytes(b: Uint8Array, start: number, end: number, depth: number, only: KeyFieldSet | undefined): FlowKey {
  if (depth > MAX_DEPTH) throw new MalformedError(`flow key nests encap deeper than ${MAX_DEPTH}`);
  const key: FlowKey = {};
  const r = key as Record<string, unknown>;
  // Attribute types seen, for duplicates: a bit each below 32, the object beyond.
  let seen = 0;
  let off = start;
  while (off < end) {
    if (end - off < NLA_HDRLEN) throw new MalformedError(`${end - off} trailing bytes after the last attribute`, off);
    const len = u16At(b, off);
    const type = u16At(b, off + 2) & NLA_TYPE_MASK;
    if (len < NLA_HDRLEN) throw new MalformedError(`attribute ${type} has length ${len}, below the 4-byte header`, off);
    if (off + len > end) throw new MalformedError(`attribute ${type} of length ${len} runs past the end of its buffer (${end - off} bytes left)`, off);
    const p = off + NLA_HDRLEN;
    const n = len - NLA_HDRLEN;
    off += (len + 3) & ~3;
    if (only !== undefined && only[type] !== 1) {
      // Not decoded, but a repeat is still malformed.
      if (type < 32) {
        if (seen & (1 << type)) throw new MalformedError(`duplicate ${KEY_TYPE_FIELDS[type] ?? unknownAttrName(type)} attribute in flow key`);
        seen |= 1 << type;
      }
      continue;
    }
    const field = KEY_TYPE_FIELDS[type] ?? unknownAttrName(type);
    if (type < 32 ? seen & (1 << type) : field in r) throw new MalformedError(`duplicate ${field} attribute in flow key`);
    if (type < 32) seen |= 1 << type;
    r[field] = fieldValue(type, b, p, n, depth, only);
  }
  return key;
}

/** One key attribute → [FlowKey property name, value]. */
export function decodeKeyField(a: Attr): [string, unknown] {
  return decodeField(a, 0);
}

function decodeField(a: Attr, depth: number): [string, unknown] {
  return [KEY_TYPE_FIELDS[a.type] ?? unknownAttrName(a.type), fieldValue(a.type, a.data, 0, a.data.length, depth)];
}

/** The value of one key attribute whose payload is b[p, p + n). */
function fieldValue(type: number, b: Uint8Array, p: number, n: number, depth: number, only?: KeyFieldSet): unknown {
  const name = KEY_TYPE_FIELDS[type];
  switch (type) {
    case K.OVS_KEY_ATTR_ENCAP:
      return decodeKeyBytes(b, p, p + n, depth + 1, only);
    case K.OVS_KEY_ATTR_PRIORITY:
    case K.OVS_KEY_ATTR_IN_PORT:
    case K.OVS_KEY_ATTR_SKB_MARK:
    case K.OVS_KEY_ATTR_DP_HASH:
    case K.OVS_KEY_ATTR_RECIRC_ID:
    case K.OVS_KEY_ATTR_CT_STATE:
    case K.OVS_KEY_ATTR_CT_MARK:
      sized(type, n, 4, name!);
      return u32At(b, p);
    case K.OVS_KEY_ATTR_ETHERNET:
      sized(type, n, 12, 'eth');
      return { src: macFromBytes(b, p), dst: macFromBytes(b, p + 6) } satisfies EthernetKey;
    case K.OVS_KEY_ATTR_VLAN:
      sized(type, n, 2, 'vlan');
      return vlanFromTci(be16At(b, p));
    case K.OVS_KEY_ATTR_ETHERTYPE:
      sized(type, n, 2, 'eth_type');
      return be16At(b, p);
    case K.OVS_KEY_ATTR_IPV4:
      sized(type, n, 12, 'ipv4');
      return { src: ipv4FromBytes(b, p), dst: ipv4FromBytes(b, p + 4), proto: b[p + 8], tos: b[p + 9], ttl: b[p + 10], frag: b[p + 11] } satisfies Ipv4Key;
    case K.OVS_KEY_ATTR_IPV6:
      sized(type, n, 40, 'ipv6');
      return {
        src: ipv6FromBytes(b, p), dst: ipv6FromBytes(b, p + 16), label: be32At(b, p + 32), proto: b[p + 36], tclass: b[p + 37], hlimit: b[p + 38], frag: b[p + 39],
      } satisfies Ipv6Key;
    case K.OVS_KEY_ATTR_TCP:
    case K.OVS_KEY_ATTR_UDP:
    case K.OVS_KEY_ATTR_SCTP:
      sized(type, n, 4, name!);
      return { src: be16At(b, p), dst: be16At(b, p + 2) } satisfies PortsKey;
    case K.OVS_KEY_ATTR_ICMP:
    case K.OVS_KEY_ATTR_ICMPV6:
      sized(type, n, 2, name!);
      return { type: b[p], code: b[p + 1] } satisfies IcmpKey;
    case K.OVS_KEY_ATTR_ARP:
      sized(type, n, 24, 'arp');
      return { sip: ipv4FromBytes(b, p), tip: ipv4FromBytes(b, p + 4), op: be16At(b, p + 8), sha: macFromBytes(b, p + 10), tha: macFromBytes(b, p + 16) } satisfies ArpKey;
    case K.OVS_KEY_ATTR_ND:
      sized(type, n, 28, 'nd');
      return { target: ipv6FromBytes(b, p), sll: macFromBytes(b, p + 16), tll: macFromBytes(b, p + 22) } satisfies NdKey;
    case K.OVS_KEY_ATTR_TUNNEL:
      return decodeTunnelAttrs(b.subarray(p, p + n));
    case K.OVS_KEY_ATTR_TCP_FLAGS:
      sized(type, n, 2, 'tcp_flags');
      return be16At(b, p);
    case K.OVS_KEY_ATTR_MPLS: {
      if (n % 4) throw new MalformedError(`mpls attribute of ${n} bytes is not a multiple of 4`);
      const lses: MplsLse[] = [];
      for (let i = 0; i < n; i += 4) lses.push(mplsLseFromValue(be32At(b, p + i)));
      return lses;
    }
    case K.OVS_KEY_ATTR_CT_ZONE:
      sized(type, n, 2, 'ct_zone');
      return u16At(b, p);
    case K.OVS_KEY_ATTR_CT_LABELS:
      sized(type, n, 16, 'ct_label');
      return u128At(b, p);
    case K.OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV4:
      sized(type, n, 16, 'ct_tuple4');
      return { src: ipv4FromBytes(b, p), dst: ipv4FromBytes(b, p + 4), srcPort: be16At(b, p + 8), dstPort: be16At(b, p + 10), proto: b[p + 12] } satisfies CtTupleIpv4Key;
    case K.OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV6:
      sized(type, n, 40, 'ct_tuple6');
      return { src: ipv6FromBytes(b, p), dst: ipv6FromBytes(b, p + 16), srcPort: be16At(b, p + 32), dstPort: be16At(b, p + 34), proto: b[p + 36] } satisfies CtTupleIpv6Key;
    case K.OVS_KEY_ATTR_NSH:
      return decodeNshAttrs(b.subarray(p, p + n));
    case K.OVS_KEY_ATTR_PACKET_TYPE: {
      sized(type, n, 4, 'packet_type');
      const v = be32At(b, p);
      return { ns: v >>> 16, id: v & 0xffff } satisfies PacketTypeKey;
    }
    case K.OVS_KEY_ATTR_ND_EXTENSIONS:
      sized(type, n, 8, 'nd_ext');
      return { reserved: be32At(b, p), optionsType: b[p + 4] } satisfies NdExtensionsKey;
    case K.OVS_KEY_ATTR_IPV6_EXTHDRS:
      sized(type, n, 2, 'ipv6 exthdrs');
      return u16At(b, p);
    default:
      return b.slice(p, p + n);
  }
}

/** Attribute type of a FlowKey property name (known or `keyN`), or -1. */
export function keyFieldType(name: string): number {
  return Object.prototype.hasOwnProperty.call(KEY_FIELD_TYPES, name) ? (KEY_FIELD_TYPES as Record<string, number>)[name] : unknownAttrType(name);
}
