// The key a packet gets, as the kernel's ovs_flow_key_extract() builds it and
// __ovs_nla_put_key() reports it in a MISS upcall: same attributes, same
// order, same zeros where a header was short or malformed. The packet library
// already parses with the kernel's rules; this turns its result into the
// typed FlowKey. The hot path does not come here (flat-key.ts writes the
// table's key straight from the parse); upcalls and tests do.
import { ipv4FromU32, ipv6FromBytes, macFromBytes, IPV4_ZERO, IPV6_ZERO, MAC_ZERO } from '../ovs/addr.js';
import { vlanFromTci } from '../ovs/key-codec.js';
import type { FlowKey, MplsLse, NshKey } from '../ovs/keys.js';
import { mplsLseFromValue } from '../ovs/key-codec.js';
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
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  MPLS_LABEL_DEPTH,
  NDISC_NEIGHBOUR_ADVERTISEMENT,
  NSH_BASE_HDR_LEN,
  NSH_M_TYPE1,
  NDISC_NEIGHBOUR_SOLICITATION,
  VLAN_CFI_MASK,
} from '../packet/constants.js';
import { isVlanTpid } from '../packet/ethernet.js';
import { parseL3Packet, parsePacket } from '../packet/parse.js';
import { Layer, type ParsedPacket } from '../packet/result.js';
import { be32 } from '../packet/bytes.js';
import { nshFlags, nshMdType, nshNextProto, nshPath, nshTtl } from '../packet/nsh.js';
import type { TunnelMeta } from '../packet/tunnel.js';
import type { CtOrigTuple } from './conntrack.js';
import { tunnelKeyOf } from './tunnel-key.js';

/**
 * The key an ACTION upcall reports for meta.keyFrom: the stale key, shown
 * as __ovs_nla_put_key shows it for the packet's present mac_proto (without
 * an Ethernet header: no eth(), no tags, the EtherType inside them, which
 * is the key of the same packet without its Ethernet header and tags).
 */
export function staleKey(meta: PacketMeta, from: NonNullable<PacketMeta['keyFrom']>, out: ParsedPacket): FlowKey {
  let at: PacketMeta = { ...meta, l3Type: from.l3Type || undefined };
  let p = parseAs(from.frame, at, out);
  if (!from.eth && !from.l3Type && p.layers & Layer.ETH && p.l3 >= 0) {
    at = { ...meta, l3Type: p.ethType };
    p = parseL3Packet(from.frame.subarray(p.l3), p.ethType, from.frame.length - p.l3, out);
  }
  return extractKey(p, at);
}

/**
 * Whether the kernel's key extraction fails on this packet, which then goes
 * no further: a bad NSH header (parse_nsh's errors; other short or odd
 * headers only leave fields zero).
 */
export const keyExtractionFails = (p: ParsedPacket): boolean => p.malformed === Layer.NSH;

/** The packet parsed as what it is: an Ethernet frame, or an L3 packet of meta.l3Type. */
export function parseAs(frame: Uint8Array, meta: PacketMeta, out: ParsedPacket): ParsedPacket {
  return meta.l3Type ? parseL3Packet(frame, meta.l3Type, frame.length, out) : parsePacket(frame, frame.length, out);
}

/** What the datapath knows about a packet besides its bytes (the kernel's skb metadata). */
export interface PacketMeta {
  inPort: number;
  priority?: number;
  skbMark?: number;
  recircId?: number;
  dpHash?: number;
  /**
   * What the last ct() (conntrack.ts) said of the packet; it stays with the
   * packet through recirculation as the kernel's key does. Absent: never
   * tracked (the key reports zeros).
   */
  ct?: CtMeta;
  /** The tunnel the packet came in by (the key's tunnel); it stays through recirculation. */
  tunnel?: TunnelMeta;
  /** Where a tunnel port sends the packet: set by set(tunnel(...)), as the kernel's tx tunnel info. */
  tunnelOut?: TunnelMeta;
  /**
   * The packet has no Ethernet header (after pop_eth or push_nsh): its
   * EtherType. It is keyed as the kernel keys an L3 packet (no ethernet
   * attribute, no tags), through recirculation and in upcalls.
   */
  l3Type?: number;
  /**
   * An outer VLAN tag that push_nsh left outside NSH (actions.ts): the
   * kernel keeps it beside the packet (skb->vlan_tci), through
   * recirculation, and puts it into the bytes it sends up.
   */
  heldTag?: Uint8Array;
  /**
   * For a userspace action after the kernel's key stopped following the
   * packet (actions.ts, Packet.stale): the packet the key was extracted
   * from, what it was then, and whether the packet has an Ethernet header now.
   */
  keyFrom?: { frame: Uint8Array; l3Type: number; eth: boolean };
  /**
   * A datagram ct() reassembled: its largest fragment's size (OVS_CB(skb)->mru).
   * Output cuts the packet to it again; upcalls report it (OVS_PACKET_ATTR_MRU).
   */
  mru?: number;
}

/** The key's conntrack fields after a ct() action. */
export interface CtMeta {
  state: number;
  zone: number;
  mark: number;
  labels: bigint;
  /** The connection's original direction (ct_tuple4/6); absent for an invalid packet. */
  orig?: CtOrigTuple;
  /**
   * Taken from an execute request's key rather than found by a ct() here:
   * reported in keys, but no connection goes with the packet (the module's
   * skb has none), so the next ct() looks it up afresh.
   */
  fromKey?: boolean;
}

/** The key's ct_tuple4/6 attribute, where the packet has one (__ovs_ct_update_key: only when its IP version is the connection's). */
function origTuple(p: ParsedPacket, orig: CtOrigTuple | undefined, l3: boolean): Pick<FlowKey, 'ctOrigTupleIpv4' | 'ctOrigTupleIpv6'> {
  if (!orig || !(p.layers & Layer.ETH || l3)) return {};
  const tuple = { srcPort: orig.srcPort, dstPort: orig.dstPort, proto: orig.proto };
  if (!orig.ipv6 && p.ethType === ETH_P_IP) return { ctOrigTupleIpv4: { src: ipv4FromU32(be32(orig.src, 0)), dst: ipv4FromU32(be32(orig.dst, 0)), ...tuple } };
  if (orig.ipv6 && p.ethType === ETH_P_IPV6) return { ctOrigTupleIpv6: { src: ipv6FromBytes(orig.src, 0), dst: ipv6FromBytes(orig.dst, 0), ...tuple } };
  return {};
}

/**
 * The kernel's key of a parsed Ethernet frame (or, with meta.l3Type, of an
 * L3 packet parsed by parseL3Packet). A frame too short for an Ethernet
 * header gets metadata only (the kernel never sees such a frame).
 */
export function extractKey(p: ParsedPacket, meta: PacketMeta): FlowKey {
  const ct = meta.ct;
  const key: FlowKey = {
    recircId: meta.recircId ?? 0,
    dpHash: meta.dpHash ?? 0,
    priority: meta.priority ?? 0,
    // __ovs_nla_put_key: the tunnel between priority and in_port.
    ...(meta.tunnel ? { tunnel: tunnelKeyOf(meta.tunnel) } : undefined),
    inPort: meta.inPort,
    skbMark: meta.skbMark ?? 0,
    // Zeros for a packet that never went through ct(), as the kernel reports them.
    ctState: ct?.state ?? 0,
    ctZone: ct?.zone ?? 0,
    ctMark: ct?.mark ?? 0,
    ctLabels: ct?.labels ?? 0n,
    // Right after the ct fields, where __ovs_nla_put_key puts it.
    ...origTuple(p, ct?.orig, !!meta.l3Type),
  };
  // An L3 packet (parseL3Packet): no ethernet attribute, its EtherType and what follows.
  if (meta.l3Type) {
    putL3(p, key);
    return key;
  }
  if (!(p.layers & Layer.ETH)) return key;
  key.ethernet = { src: macFromBytes(p.buf, 6), dst: macFromBytes(p.buf, 0) };
  let inner = key;
  // A TPID the parser could not read a whole tag after (too short for the
  // tag and a type): the kernel still opens that level, with a zero TPID and
  // TCI and an empty ENCAP, and reports nothing inside it.
  if (!(p.layers & Layer.VLAN) && isVlanTpid(p.ethType)) {
    key.ethertype = 0;
    key.vlan = vlanFromTci(0);
    key.encap = {};
    return key;
  }
  if (p.layers & Layer.VLAN) {
    // ovs_nla_put_vlan(): the TPID as ETHERTYPE, then the TCI with the
    // "present" bit, then the rest inside ENCAP.
    key.ethertype = p.vlanTpid;
    key.vlan = vlanFromTci(p.vlanTci | VLAN_CFI_MASK);
    inner = {};
    key.encap = inner;
    if (!(p.layers & Layer.CVLAN) && isVlanTpid(p.ethType)) {
      inner.ethertype = 0;
      inner.vlan = vlanFromTci(0);
      inner.encap = {};
      return key;
    }
    if (p.layers & Layer.CVLAN) {
      inner.ethertype = p.cvlanTpid;
      inner.vlan = vlanFromTci(p.cvlanTci | VLAN_CFI_MASK);
      const innermost: FlowKey = {};
      inner.encap = innermost;
      inner = innermost;
    }
  }
  putL3(p, inner);
  return key;
}

function putL3(p: ParsedPacket, k: FlowKey): void {
  // 802.2 frames are keyed by leaving ETHERTYPE out.
  if (p.ethType === ETH_TYPE_NONE) return;
  k.ethertype = p.ethType;
  switch (p.ethType) {
    case ETH_P_IP: {
      const ok = (p.layers & Layer.IPV4) !== 0;
      k.ipv4 = {
        src: ok ? ipv4FromU32(p.ipv4Src()) : IPV4_ZERO,
        dst: ok ? ipv4FromU32(p.ipv4Dst()) : IPV4_ZERO,
        proto: p.ipProto,
        tos: p.ipTos,
        ttl: p.ipTtl,
        frag: p.ipFrag,
      };
      putL4(p, k, false);
      return;
    }
    case ETH_P_IPV6: {
      const ok = (p.layers & Layer.IPV6) !== 0;
      k.ipv6 = {
        src: ok ? ipv6FromBytes(p.buf, p.l3 + 8) : IPV6_ZERO,
        dst: ok ? ipv6FromBytes(p.buf, p.l3 + 24) : IPV6_ZERO,
        label: p.ipv6Label,
        proto: p.ipProto,
        tclass: p.ipTos,
        hlimit: p.ipTtl,
        frag: p.ipFrag,
      };
      k.ipv6Exthdrs = p.ipv6Exthdrs;
      putL4(p, k, true);
      return;
    }
    case ETH_P_ARP:
    case ETH_P_RARP: {
      const ok = (p.layers & Layer.ARP) !== 0;
      k.arp = {
        sip: ok ? ipv4FromU32(p.arpSpa()) : IPV4_ZERO,
        tip: ok ? ipv4FromU32(p.arpTpa()) : IPV4_ZERO,
        // The key's opcode is a u8 shared with nw_proto: larger ones become 0.
        op: ok && p.arpOp <= 0xff ? p.arpOp : 0,
        sha: ok ? macFromBytes(p.buf, p.l3 + 8) : MAC_ZERO,
        tha: ok ? macFromBytes(p.buf, p.l3 + 18) : MAC_ZERO,
      };
      return;
    }
    case ETH_P_MPLS_UC:
    case ETH_P_MPLS_MC:
      k.mpls = mplsStack(p);
      return;
    case ETH_P_NSH:
      if (p.layers & Layer.NSH) k.nsh = nshKey(p.buf, p.l3);
      return;
  }
}

/** nsh_key_to_nlattr(): the base header, and MD type 1's context (MD type 2's is not in the key). */
function nshKey(b: Uint8Array, off: number): NshKey {
  const path = nshPath(b, off);
  const mdtype = nshMdType(b, off);
  const key: NshKey = { base: { flags: nshFlags(b, off), ttl: nshTtl(b, off), mdtype, np: nshNextProto(b, off), spi: path >>> 8, si: path & 0xff } };
  if (mdtype === NSH_M_TYPE1) {
    const c = off + NSH_BASE_HDR_LEN;
    key.md1 = [be32(b, c), be32(b, c + 4), be32(b, c + 8), be32(b, c + 12)];
  }
  return key;
}

/** The kernel sets its label mask only once it has seen the bottom of the stack. */
function mplsStack(p: ParsedPacket): MplsLse[] {
  const out: MplsLse[] = [];
  if (!(p.layers & Layer.MPLS)) return out;
  const n = Math.min(p.mplsCount, MPLS_LABEL_DEPTH);
  for (let i = 0; i < n; i++) out.push(mplsLseFromValue(p.mplsLse(i)));
  return out;
}

function putL4(p: ParsedPacket, k: FlowKey, v6: boolean): void {
  // Later fragments have no transport header in the key at all.
  if (p.ipFrag === FRAG_LATER) return;
  switch (p.ipProto) {
    case IPPROTO_TCP:
      k.tcp = { src: p.tpSrc, dst: p.tpDst };
      k.tcpFlags = p.tcpFlags;
      return;
    case IPPROTO_UDP:
      k.udp = { src: p.tpSrc, dst: p.tpDst };
      return;
    case IPPROTO_SCTP:
      k.sctp = { src: p.tpSrc, dst: p.tpDst };
      return;
    case IPPROTO_ICMP:
      if (!v6) k.icmp = { type: p.tpSrc, code: p.tpDst };
      return;
    case IPPROTO_ICMPV6:
      if (!v6) return;
      k.icmpv6 = { type: p.tpSrc, code: p.tpDst };
      // The ND attribute follows the type alone; its contents are zero
      // unless parse_icmpv6() read a well-formed message.
      if (p.tpSrc === NDISC_NEIGHBOUR_SOLICITATION || p.tpSrc === NDISC_NEIGHBOUR_ADVERTISEMENT) {
        k.nd = {
          target: p.ndTarget >= 0 ? ipv6FromBytes(p.buf, p.ndTarget) : IPV6_ZERO,
          sll: p.ndSll >= 0 ? macFromBytes(p.buf, p.ndSll) : MAC_ZERO,
          tll: p.ndTll >= 0 ? macFromBytes(p.buf, p.ndTll) : MAC_ZERO,
        };
      }
      return;
  }
}
