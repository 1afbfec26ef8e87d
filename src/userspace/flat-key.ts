// The flow table's key: a fixed layout of words, like the kernel's
// sw_flow_key, so that masking, hashing and comparing are loops over a
// Uint32Array with no objects or strings per packet. Packets are written into
// it straight from the parse (writeFlatFromPacket); flow keys and masks from
// requests go through the typed FlowKey (writeFlatFromKey). The two must
// agree, and the tests hold them to it.
import { ipv4ToU32, ipv6IntoBytes, macIntoBytes } from '../ovs/addr.js';
import { mplsLseValue, vlanTci } from '../ovs/key-codec.js';
import type { FlowKey, NshKey } from '../ovs/keys.js';
import { be32 } from '../packet/bytes.js';
import {
  ETH_P_ARP,
  ETH_P_IP,
  ETH_P_IPV6,
  ETH_P_MPLS_MC,
  ETH_P_MPLS_UC,
  ETH_P_NSH,
  ETH_P_RARP,
  ETH_TYPE_NONE,
  FRAG_LATER,
  IPPROTO_ICMPV6,
  MPLS_LABEL_DEPTH,
  NSH_BASE_HDR_LEN,
  NSH_M_TYPE1,
  VLAN_CFI_MASK,
} from '../packet/constants.js';
import { nshFlags, nshMdType, nshNextProto, nshTtl } from '../packet/nsh.js';
import { Layer, type ParsedPacket } from '../packet/result.js';
import { TUN_F_CSUM, TUN_F_DF, TUN_F_GENEVE_OPT, TUN_F_KEY, TUN_F_OAM, TUN_F_VXLAN_OPT, vxlanOptsBytes, type TunnelMeta } from '../packet/tunnel.js';
import type { TunnelKey } from '../ovs/keys.js';
import type { PacketMeta } from './extract.js';

// Byte offsets. Multi-byte fields are big-endian (as on the wire) so that
// addresses copy straight from the frame.
export const F = {
  RECIRC: 0,
  DP_HASH: 4,
  PRIORITY: 8,
  IN_PORT: 12,
  SKB_MARK: 16,
  CT_STATE: 20,
  CT_ZONE: 24,
  /** 1 for a packet without an Ethernet header (the kernel's mac_proto; always exact in a mask). */
  MAC_PROTO: 26,
  CT_MARK: 28,
  CT_LABELS: 32,
  ETH_SRC: 48,
  ETH_DST: 54,
  VLAN_TCI: 60,
  VLAN_TPID: 62,
  CVLAN_TCI: 64,
  CVLAN_TPID: 66,
  ETH_TYPE: 68,
  /** nw_proto, or the ARP opcode (shared, as in the kernel). */
  IP_PROTO: 70,
  IP_TOS: 71,
  IP_TTL: 72,
  IP_FRAG: 73,
  /** Ports, or ICMP type/code. */
  TP_SRC: 74,
  TP_DST: 76,
  TCP_FLAGS: 78,
  /** IPv4 addresses, or ARP sender/target protocol addresses. */
  IPV4_SRC: 80,
  IPV4_DST: 84,
  IPV6_SRC: 88,
  IPV6_DST: 104,
  IPV6_LABEL: 120,
  IPV6_EXTHDRS: 124,
  MPLS_COUNT: 126,
  MPLS: 128,
  /** ARP sha, or the ND source link-layer address. */
  SHA: 140,
  /** ARP tha, or the ND target link-layer address. */
  THA: 146,
  ND_TARGET: 152,
  // NSH's key (sw_flow_key keeps it in the union with the IP addresses):
  // the base header's fields, then MD type 1's context words.
  NSH_FLAGS: 80,
  NSH_TTL: 81,
  NSH_MDTYPE: 82,
  NSH_NP: 83,
  NSH_PATH: 84,
  NSH_CONTEXT: 88,
  // The conntrack original direction (ct_tuple4/6), sharing bytes with
  // fields no tracked packet has, as sw_flow_key's unions do: MPLS packets
  // are never tracked, ARP is not IP, and neighbour discovery is untracked
  // (its ct_state is +trk+inv, with no original tuple). The key stays at 42
  // words, which the exact-match cache compares and hashes per packet.
  /** proto 0: no original direction. */
  CT_ORIG_PROTO: 127,
  CT_ORIG_TP_SRC: 128,
  CT_ORIG_TP_DST: 130,
  /** IPv4 addresses take the first 4 bytes of each. */
  CT_ORIG_SRC: 136,
  CT_ORIG_DST: 152,
  // The tunnel a packet came in by (the kernel's tun_key, tun_proto and
  // tun_opts); all zero for a packet that did not.
  TUN_ID: 168,
  TUN_SRC: 176,
  TUN_DST: 180,
  TUN_TP_SRC: 184,
  TUN_TP_DST: 186,
  TUN_TOS: 188,
  TUN_TTL: 189,
  /** TUN_F_* (packet/tunnel.ts). */
  TUN_FLAGS: 190,
  /** 1 for an IPv4 tunnel (tun_proto). */
  TUN_PROTO: 191,
  TUN_OPTS_LEN: 192,
  TUN_OPTS: 196,
  END: 228,
} as const;

/** Geneve option bytes the key holds: flows that match longer options are refused. */
export const FLAT_TUN_OPTS = F.END - F.TUN_OPTS;

const DP_MAX_PORTS = 0xffff;

export const FLAT_BYTES = F.END;
export const FLAT_WORDS = F.END >>> 2;

/** A flat key (or mask): bytes and a word view of the same memory. */
export class FlatKey {
  readonly bytes: Uint8Array;
  readonly words: Uint32Array;
  private readonly view: DataView;

  constructor() {
    this.words = new Uint32Array(FLAT_WORDS);
    this.bytes = new Uint8Array(this.words.buffer);
    this.view = new DataView(this.words.buffer);
  }

  clear(): void {
    this.words.fill(0);
  }
  u8(off: number, v: number): void {
    this.bytes[off] = v;
  }
  u16(off: number, v: number): void {
    this.view.setUint16(off, v);
  }
  u32(off: number, v: number): void {
    this.view.setUint32(off, v >>> 0);
  }
  getU16(off: number): number {
    return this.view.getUint16(off);
  }
  getU32(off: number): number {
    return this.view.getUint32(off);
  }
  copy(off: number, src: Uint8Array, srcOff: number, len: number): void {
    for (let i = 0; i < len; i++) this.bytes[off + i] = src[srcOff + i];
  }
  fill(off: number, len: number, v: number): void {
    this.bytes.fill(v, off, off + len);
  }
  clone(): FlatKey {
    const c = new FlatKey();
    c.words.set(this.words);
    return c;
  }
}

/** The packet's key, as writeFlatFromKey(extractKey(p, meta)) would write it. */
export function writeFlatFromPacket(p: ParsedPacket, meta: PacketMeta, k: FlatKey): void {
  k.clear();
  k.u32(F.RECIRC, meta.recircId ?? 0);
  k.u32(F.DP_HASH, meta.dpHash ?? 0);
  k.u32(F.PRIORITY, meta.priority ?? 0);
  k.u32(F.IN_PORT, meta.inPort);
  k.u32(F.SKB_MARK, meta.skbMark ?? 0);
  const ct = meta.ct;
  if (ct) {
    k.u32(F.CT_STATE, ct.state);
    k.u16(F.CT_ZONE, ct.zone);
    k.u32(F.CT_MARK, ct.mark);
    writeLabels(k, ct.labels);
  }
  if (meta.tunnel) writeTunnelMeta(k, meta.tunnel);
  // A packet without an Ethernet header (parseL3Packet) is keyed from its network header on.
  const noEth = meta.l3Type !== undefined && meta.l3Type !== 0;
  if (!(p.layers & Layer.ETH) && !noEth) return;
  const b = p.buf;
  // As extractKey reports it: only where the packet's IP version is the connection's.
  const orig = ct?.orig;
  if (orig && (orig.ipv6 ? p.ethType === ETH_P_IPV6 : p.ethType === ETH_P_IP)) {
    k.u8(F.CT_ORIG_PROTO, orig.proto);
    k.u16(F.CT_ORIG_TP_SRC, orig.srcPort);
    k.u16(F.CT_ORIG_TP_DST, orig.dstPort);
    k.copy(F.CT_ORIG_SRC, orig.src, 0, orig.src.length);
    k.copy(F.CT_ORIG_DST, orig.dst, 0, orig.dst.length);
  }
  if (noEth) k.u8(F.MAC_PROTO, 1);
  else {
    k.copy(F.ETH_SRC, b, 6, 6);
    k.copy(F.ETH_DST, b, 0, 6);
  }
  if (p.layers & Layer.VLAN) {
    k.u16(F.VLAN_TCI, p.vlanTci | VLAN_CFI_MASK);
    k.u16(F.VLAN_TPID, p.vlanTpid);
    if (p.layers & Layer.CVLAN) {
      k.u16(F.CVLAN_TCI, p.cvlanTci | VLAN_CFI_MASK);
      k.u16(F.CVLAN_TPID, p.cvlanTpid);
    }
  }
  const t = p.ethType;
  k.u16(F.ETH_TYPE, t);
  if (t === ETH_P_IP || t === ETH_P_IPV6) {
    k.u8(F.IP_PROTO, p.ipProto);
    k.u8(F.IP_TOS, p.ipTos);
    k.u8(F.IP_TTL, p.ipTtl);
    k.u8(F.IP_FRAG, p.ipFrag);
    if (t === ETH_P_IP) {
      if (p.layers & Layer.IPV4) {
        k.copy(F.IPV4_SRC, b, p.l3 + 12, 8);
      }
    } else {
      if (p.layers & Layer.IPV6) k.copy(F.IPV6_SRC, b, p.l3 + 8, 32);
      k.u32(F.IPV6_LABEL, p.ipv6Label);
      k.u16(F.IPV6_EXTHDRS, p.ipv6Exthdrs);
    }
    if (p.ipFrag !== FRAG_LATER) {
      k.u16(F.TP_SRC, p.tpSrc);
      k.u16(F.TP_DST, p.tpDst);
      k.u16(F.TCP_FLAGS, p.tcpFlags);
      if (p.ipProto === IPPROTO_ICMPV6 && t === ETH_P_IPV6) {
        if (p.ndTarget >= 0) k.copy(F.ND_TARGET, b, p.ndTarget, 16);
        if (p.ndSll >= 0) k.copy(F.SHA, b, p.ndSll, 6);
        if (p.ndTll >= 0) k.copy(F.THA, b, p.ndTll, 6);
      }
    }
  } else if (t === ETH_P_ARP || t === ETH_P_RARP) {
    if (p.layers & Layer.ARP) {
      const l3 = p.l3;
      k.u8(F.IP_PROTO, p.arpOp <= 0xff ? p.arpOp : 0);
      k.copy(F.IPV4_SRC, b, l3 + 14, 4);
      k.copy(F.IPV4_DST, b, l3 + 24, 4);
      k.copy(F.SHA, b, l3 + 8, 6);
      k.copy(F.THA, b, l3 + 18, 6);
    }
  } else if (t === ETH_P_NSH) {
    if (p.layers & Layer.NSH) {
      const o = p.l3;
      k.u8(F.NSH_FLAGS, nshFlags(b, o));
      k.u8(F.NSH_TTL, nshTtl(b, o));
      k.u8(F.NSH_MDTYPE, nshMdType(b, o));
      k.u8(F.NSH_NP, nshNextProto(b, o));
      k.copy(F.NSH_PATH, b, o + 4, 4);
      if (nshMdType(b, o) === NSH_M_TYPE1) k.copy(F.NSH_CONTEXT, b, o + NSH_BASE_HDR_LEN, 16);
    }
  } else if (t === ETH_P_MPLS_UC || t === ETH_P_MPLS_MC) {
    if (p.layers & Layer.MPLS) {
      const n = Math.min(p.mplsCount, MPLS_LABEL_DEPTH);
      k.u8(F.MPLS_COUNT, n);
      for (let i = 0; i < n; i++) k.u32(F.MPLS + 4 * i, be32(b, p.l3 + 4 * i));
    }
  }
}

/** Why a key cannot go into the flat layout (fields the fallback does not implement). */
export class UnsupportedKeyError extends Error {
  constructor(readonly field: string) {
    super(`the ovsnl userspace datapath does not match on ${field} yet`);
  }
}

const UNSUPPORTED: readonly (keyof FlowKey)[] = ['packetType', 'ndExtensions'];
const TUNNEL_UNSUPPORTED: readonly (keyof TunnelKey)[] = ['ipv6Src', 'ipv6Dst', 'erspanOpts', 'gtpuOpts', 'ipv4InfoBridge'];

/**
 * Refuses the fields the layout has no room for, and attributes the codec
 * only knows by number (keyN); a mask may state them as zeros.
 */
function refuseUnsupported<T extends object>(key: T, names: readonly (keyof T)[], isMask: boolean, prefix = ''): void {
  for (const name of names) {
    const v = key[name];
    if (v !== undefined && !(isMask && isZeroish(v))) throw new UnsupportedKeyError(`${prefix}${String(name)}`);
  }
  for (const name of Object.keys(key)) if (name.startsWith('key')) throw new UnsupportedKeyError(`${prefix}${name}`);
}

function writeTunnelMeta(k: FlatKey, t: TunnelMeta): void {
  k.u32(F.TUN_ID, t.idHi);
  k.u32(F.TUN_ID + 4, t.idLo);
  k.u32(F.TUN_SRC, t.src);
  k.u32(F.TUN_DST, t.dst);
  k.u16(F.TUN_TP_SRC, t.tpSrc);
  k.u16(F.TUN_TP_DST, t.tpDst);
  k.u8(F.TUN_TOS, t.tos);
  k.u8(F.TUN_TTL, t.ttl);
  k.u8(F.TUN_FLAGS, t.flags);
  k.u8(F.TUN_PROTO, 1);
  const n = t.opts.length;
  k.u8(F.TUN_OPTS_LEN, n);
  k.copy(F.TUN_OPTS, t.opts, 0, Math.min(n, FLAT_TUN_OPTS));
}

/** The flags a tunnel key (or mask) states, as TUN_F_* bits. */
export function tunnelKeyFlags(t: TunnelKey): number {
  return (
    (t.id !== undefined ? TUN_F_KEY : 0) |
    (t.csum ? TUN_F_CSUM : 0) |
    (t.dontFragment ? TUN_F_DF : 0) |
    (t.oam ? TUN_F_OAM : 0) |
    (t.geneveOpts !== undefined && t.geneveOpts.length ? TUN_F_GENEVE_OPT : 0) |
    (t.vxlanOpts !== undefined ? TUN_F_VXLAN_OPT : 0)
  );
}

function writeTunnelKey(t: TunnelKey, k: FlatKey, isMask: boolean): void {
  refuseUnsupported(t, TUNNEL_UNSUPPORTED, isMask, 'tunnel ');
  // Geneve options as on the wire, or VXLAN's 4-byte policy metadata (vxlan_tun_opt_from_nlattr: a missing gbp is 0).
  const opts = t.geneveOpts ?? (t.vxlanOpts ? vxlanOptsBytes(t.vxlanOpts.gbp ?? 0) : undefined);
  if (opts && opts.length > FLAT_TUN_OPTS) throw new UnsupportedKeyError(`geneve options longer than ${FLAT_TUN_OPTS} bytes`);
  if (t.id !== undefined) {
    k.u32(F.TUN_ID, Number((t.id >> 32n) & 0xffffffffn));
    k.u32(F.TUN_ID + 4, Number(t.id & 0xffffffffn));
  }
  if (t.ipv4Src !== undefined) k.u32(F.TUN_SRC, ipv4ToU32(t.ipv4Src));
  if (t.ipv4Dst !== undefined) k.u32(F.TUN_DST, ipv4ToU32(t.ipv4Dst));
  if (t.tpSrc !== undefined) k.u16(F.TUN_TP_SRC, t.tpSrc);
  if (t.tpDst !== undefined) k.u16(F.TUN_TP_DST, t.tpDst);
  if (t.tos !== undefined) k.u8(F.TUN_TOS, t.tos);
  if (t.ttl !== undefined) k.u8(F.TUN_TTL, t.ttl);
  k.u8(F.TUN_FLAGS, tunnelKeyFlags(t));
  k.u8(F.TUN_PROTO, isMask ? 0xff : 1);
  // A flow that states options matches their length too (8 bytes of options
  // do not take 12); one that does not, takes any (genev_tun_opt_from_nlattr
  // masks the length only with the options).
  k.u8(F.TUN_OPTS_LEN, isMask ? (opts ? 0xff : 0) : opts?.length ?? 0);
  if (opts) k.copy(F.TUN_OPTS, opts, 0, opts.length);
}

/** ct_labels as 16 bytes, most significant first, the same from packets and from keys. */
function writeLabels(k: FlatKey, labels: bigint): void {
  let v = labels;
  for (let i = 15; i >= 0; i--) {
    k.u8(F.CT_LABELS + i, Number(v & 0xffn));
    v >>= 8n;
  }
}

/**
 * Writes a typed key (or mask: the same shape, mask bits as values) into the
 * layout. Fields absent stay zero, which for a mask means wildcarded.
 * `isMask` turns the VLAN "present" bit and structural values into bits.
 */
export function writeFlatFromKey(key: FlowKey, k: FlatKey, isMask = false): void {
  k.clear();
  writeLevel(key, k, 0, isMask);
}

function writeLevel(key: FlowKey, k: FlatKey, depth: number, isMask: boolean): void {
  refuseUnsupported(key, UNSUPPORTED, isMask);
  if (depth === 0) {
    if (key.recircId !== undefined) k.u32(F.RECIRC, key.recircId);
    if (key.dpHash !== undefined) k.u32(F.DP_HASH, key.dpHash);
    if (key.priority !== undefined) k.u32(F.PRIORITY, key.priority);
    // The kernel's rules: a mask's in_port is always exact; a key without one
    // has DP_MAX_PORTS there.
    if (key.inPort !== undefined) k.u32(F.IN_PORT, isMask ? 0xffffffff : key.inPort);
    else if (!isMask) k.u32(F.IN_PORT, DP_MAX_PORTS);
    if (key.skbMark !== undefined) k.u32(F.SKB_MARK, key.skbMark);
    if (key.tunnel !== undefined && !(isMask && isZeroish(key.tunnel))) writeTunnelKey(key.tunnel, k, isMask);
    if (key.ctState !== undefined) k.u32(F.CT_STATE, key.ctState);
    if (key.ctZone !== undefined) k.u16(F.CT_ZONE, key.ctZone);
    if (key.ctMark !== undefined) k.u32(F.CT_MARK, key.ctMark);
    if (key.ctLabels !== undefined) writeLabels(k, key.ctLabels);
    const t4 = key.ctOrigTupleIpv4;
    const t6 = key.ctOrigTupleIpv6;
    if (t4 && t6 && !isMask) throw new UnsupportedKeyError('both ct_tuple4 and ct_tuple6');
    const t = t4 ?? t6;
    if (t) {
      k.u8(F.CT_ORIG_PROTO, t.proto);
      k.u16(F.CT_ORIG_TP_SRC, t.srcPort);
      k.u16(F.CT_ORIG_TP_DST, t.dstPort);
      if (t4) {
        k.u32(F.CT_ORIG_SRC, ipv4ToU32(t4.src));
        k.u32(F.CT_ORIG_DST, ipv4ToU32(t4.dst));
      } else {
        ipv6IntoBytes(t6!.src, k.bytes, F.CT_ORIG_SRC);
        ipv6IntoBytes(t6!.dst, k.bytes, F.CT_ORIG_DST);
      }
    }
    if (key.ethernet) {
      macIntoBytes(key.ethernet.src, k.bytes, F.ETH_SRC);
      macIntoBytes(key.ethernet.dst, k.bytes, F.ETH_DST);
    } else if (!isMask && key.ethertype !== undefined) {
      // metadata_from_nlattrs: an EtherType without an Ethernet header is an L3 packet's key.
      k.u8(F.MAC_PROTO, 1);
    }
  }
  // A tag at this level: ETHERTYPE is its TPID and the rest sits in ENCAP.
  if (key.vlan && depth < 2) {
    const tciOff = depth === 0 ? F.VLAN_TCI : F.CVLAN_TCI;
    k.u16(tciOff, vlanTci(key.vlan));
    if (key.ethertype !== undefined) k.u16(tciOff + 2, key.ethertype);
    if (key.encap) writeLevel(key.encap, k, depth + 1, isMask);
    return;
  }
  if (key.encap) throw new UnsupportedKeyError('encap without vlan');
  // An 802.2 frame's key leaves ETHERTYPE out; the kernel keys it as 802.2.
  if (key.ethertype !== undefined) k.u16(F.ETH_TYPE, key.ethertype);
  else if (!isMask && depth > 0 || (!isMask && key.ethernet)) k.u16(F.ETH_TYPE, ETH_TYPE_NONE);
  if (key.ipv4) {
    const a = key.ipv4;
    k.u32(F.IPV4_SRC, ipv4ToU32(a.src));
    k.u32(F.IPV4_DST, ipv4ToU32(a.dst));
    ipCommon(k, a.proto, a.tos, a.ttl, a.frag);
  }
  if (key.ipv6) {
    const a = key.ipv6;
    ipv6IntoBytes(a.src, k.bytes, F.IPV6_SRC);
    ipv6IntoBytes(a.dst, k.bytes, F.IPV6_DST);
    k.u32(F.IPV6_LABEL, a.label);
    ipCommon(k, a.proto, a.tclass, a.hlimit, a.frag);
  }
  if (key.ipv6Exthdrs !== undefined) k.u16(F.IPV6_EXTHDRS, key.ipv6Exthdrs);
  const ports = key.tcp ?? key.udp ?? key.sctp;
  if (ports) {
    k.u16(F.TP_SRC, ports.src);
    k.u16(F.TP_DST, ports.dst);
  }
  const icmp = key.icmp ?? key.icmpv6;
  if (icmp) {
    k.u16(F.TP_SRC, icmp.type);
    k.u16(F.TP_DST, icmp.code);
  }
  if (key.tcpFlags !== undefined) k.u16(F.TCP_FLAGS, key.tcpFlags);
  if (key.nd) {
    ipv6IntoBytes(key.nd.target, k.bytes, F.ND_TARGET);
    macIntoBytes(key.nd.sll, k.bytes, F.SHA);
    macIntoBytes(key.nd.tll, k.bytes, F.THA);
  }
  if (key.arp) {
    const a = key.arp;
    k.u32(F.IPV4_SRC, ipv4ToU32(a.sip));
    k.u32(F.IPV4_DST, ipv4ToU32(a.tip));
    k.u8(F.IP_PROTO, a.op);
    macIntoBytes(a.sha, k.bytes, F.SHA);
    macIntoBytes(a.tha, k.bytes, F.THA);
  }
  // Last: its bytes are the IP addresses' (a mask's zero NSH leaves them be).
  if (key.nsh && !(isMask && isZeroish(key.nsh))) writeNsh(key.nsh, k);
  if (key.mpls) {
    const n = Math.min(key.mpls.length, MPLS_LABEL_DEPTH);
    // In a mask the count is all ones: the number of labels always matters.
    k.u8(F.MPLS_COUNT, isMask ? 0xff : n);
    for (let i = 0; i < n; i++) k.u32(F.MPLS + 4 * i, mplsLseValue(key.mpls[i]));
  }
}

function writeNsh(n: NshKey, k: FlatKey): void {
  if (n.md2 !== undefined) throw new UnsupportedKeyError('nsh md2');
  for (const name of Object.keys(n)) if (name.startsWith('key')) throw new UnsupportedKeyError(`nsh ${name}`);
  const b = n.base;
  if (b) {
    k.u8(F.NSH_FLAGS, b.flags);
    k.u8(F.NSH_TTL, b.ttl);
    k.u8(F.NSH_MDTYPE, b.mdtype);
    k.u8(F.NSH_NP, b.np);
    k.u32(F.NSH_PATH, ((b.spi << 8) | (b.si & 0xff)) >>> 0);
  }
  if (n.md1) for (let i = 0; i < 4; i++) k.u32(F.NSH_CONTEXT + 4 * i, n.md1[i]);
}

function ipCommon(k: FlatKey, proto: number, tos: number, ttl: number, frag: number): void {
  k.u8(F.IP_PROTO, proto);
  k.u8(F.IP_TOS, tos);
  k.u8(F.IP_TTL, ttl);
  k.u8(F.IP_FRAG, frag);
}

function isZeroish(v: unknown): boolean {
  if (v === 0 || v === 0n || v === false) return true;
  if (v instanceof Uint8Array) return v.every((x) => x === 0);
  if (typeof v === 'object' && v !== null) return Object.values(v).every(isZeroish);
  if (typeof v === 'string') return /^[0:.]*$/.test(v);
  return false;
}

const ONES_MAC = 'ff:ff:ff:ff:ff:ff';
const ONES_V4 = '255.255.255.255';
const ONES_V6 = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';

/**
 * The mask the kernel uses for a flow put without one: every bit of every
 * attribute the key has (mask_set_nlattr(0xff)), nothing else.
 */
export function exactMaskOf(key: FlowKey): FlowKey {
  const m: FlowKey = {};
  for (const [name, v] of Object.entries(key) as [keyof FlowKey, unknown][]) {
    if (v === undefined) continue;
    switch (name) {
      case 'encap':
        m.encap = exactMaskOf(v as FlowKey);
        break;
      case 'ethernet':
        m.ethernet = { src: ONES_MAC, dst: ONES_MAC };
        break;
      case 'vlan':
        m.vlan = { vid: 0xfff, pcp: 7, cfi: 1 };
        break;
      case 'ipv4':
        m.ipv4 = { src: ONES_V4, dst: ONES_V4, proto: 0xff, tos: 0xff, ttl: 0xff, frag: 0xff };
        break;
      case 'ipv6':
        // The module writes 0xff into every byte of an exact flow's mask: the label's is all 32 bits.
        m.ipv6 = { src: ONES_V6, dst: ONES_V6, label: 0xffffffff, proto: 0xff, tclass: 0xff, hlimit: 0xff, frag: 0xff };
        break;
      case 'tcp':
      case 'udp':
      case 'sctp':
        m[name] = { src: 0xffff, dst: 0xffff };
        break;
      case 'icmp':
      case 'icmpv6':
        m[name] = { type: 0xff, code: 0xff };
        break;
      case 'arp':
        m.arp = { sip: ONES_V4, tip: ONES_V4, op: 0xff, sha: ONES_MAC, tha: ONES_MAC };
        break;
      case 'nd':
        m.nd = { target: ONES_V6, sll: ONES_MAC, tll: ONES_MAC };
        break;
      case 'mpls':
        m.mpls = (v as unknown[]).map(() => ({ label: 0xfffff, tc: 7, ttl: 0xff, bos: 1 }));
        break;
      case 'nsh': {
        const n = v as NshKey;
        m.nsh = {};
        if (n.base) m.nsh.base = { flags: 0xff, ttl: 0xff, mdtype: 0xff, np: 0xff, spi: 0xffffff, si: 0xff };
        // A mask always states the context (nsh_key_to_nlattr): zeros where the key has none.
        m.nsh.md1 = n.md1 ? [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff] : [0, 0, 0, 0];
        if (n.md2) m.nsh.md2 = n.md2;
        break;
      }
      case 'ctLabels':
        m.ctLabels = (1n << 128n) - 1n;
        break;
      case 'tunnel':
        m.tunnel = exactTunnelMask(v as TunnelKey);
        break;
      case 'ctOrigTupleIpv4':
        m.ctOrigTupleIpv4 = { src: ONES_V4, dst: ONES_V4, srcPort: 0xffff, dstPort: 0xffff, proto: 0xff };
        break;
      case 'ctOrigTupleIpv6':
        m.ctOrigTupleIpv6 = { src: ONES_V6, dst: ONES_V6, srcPort: 0xffff, dstPort: 0xffff, proto: 0xff };
        break;
      case 'ctZone':
      case 'ethertype':
      case 'tcpFlags':
      case 'ipv6Exthdrs':
        m[name] = 0xffff;
        break;
      case 'recircId':
      case 'dpHash':
      case 'priority':
      case 'inPort':
      case 'skbMark':
      case 'ctMark':
        m[name] = 0xffffffff;
        break;
      case 'ctState':
        // Then keeps only the ct_state bits it knows (CT_SUPPORTED_MASK).
        m.ctState = 0xff;
        break;
      default:
        // Fields the flat layout refuses anyway; keep them so the refusal names them.
        (m as Record<string, unknown>)[name] = v;
    }
  }
  return m;
}

/** Every bit of a tunnel key: all of ip_tunnel_key, and the options it has. */
function exactTunnelMask(t: TunnelKey): TunnelKey {
  const m: TunnelKey = { id: 0xffffffffffffffffn, ipv4Src: ONES_V4, ipv4Dst: ONES_V4, tos: 0xff, ttl: 0xff, dontFragment: true, csum: true, oam: true, tpSrc: 0xffff, tpDst: 0xffff };
  if (t.geneveOpts) m.geneveOpts = new Uint8Array(t.geneveOpts.length).fill(0xff);
  if (t.vxlanOpts) m.vxlanOpts = { gbp: 0xffffffff };
  for (const name of TUNNEL_UNSUPPORTED) if (t[name] !== undefined) (m as Record<string, unknown>)[name] = t[name];
  return m;
}

/**
 * What the kernel's ovs_nla_get_match adds to a megaflow mask on its own:
 * mac_proto is always exact; the VLAN TCIs are matched exactly unless the mask states the tag (a VLAN
 * mask with its encap), so an untagged megaflow never takes tagged frames;
 * an EtherType the mask reads at all is read in full; and a key's tunnel
 * that the mask leaves out is exact.
 */
export function widenMaskAsKernel(mask: FlowKey, m: FlatKey, key?: FlowKey): void {
  // "The userspace does not send tunnel attributes that are 0": a tunnel in
  // the key is matched in full unless the mask says otherwise.
  if (key?.tunnel !== undefined && mask.tunnel === undefined) {
    const t = new FlatKey();
    writeTunnelKey(exactTunnelMask(key.tunnel), t, true);
    for (let i = F.TUN_ID >>> 2; i < FLAT_WORDS; i++) m.words[i] = t.words[i];
  }
  // "Always exact match mac_proto".
  m.u8(F.MAC_PROTO, 0xff);
  const outer = mask.vlan !== undefined && mask.encap !== undefined && hasBits(mask.encap);
  if (!outer) m.u16(F.VLAN_TCI, 0xffff);
  const inner = outer && mask.encap!.vlan !== undefined && mask.encap!.encap !== undefined && hasBits(mask.encap!.encap);
  if (!inner) m.u16(F.CVLAN_TCI, 0xffff);
  if (m.getU16(F.ETH_TYPE)) m.u16(F.ETH_TYPE, 0xffff);
}

function hasBits(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'bigint') return v !== 0n;
  if (typeof v === 'string') return !/^[0:.]*$/.test(v);
  if (v instanceof Uint8Array) return v.some((b) => b !== 0);
  if (Array.isArray(v)) return v.some(hasBits);
  if (typeof v === 'object') return Object.values(v as object).some(hasBits);
  return false;
}
