// What OVS makes of an exact flow key: odp_flow_key_to_flow() reads it into
// its flow structure and reports how well it fits ("too little" when an
// expected attribute is missing, "too much" when there are extra ones), and
// odp_flow_key_from_flow() writes the key back in the kernel's attribute
// order with zero-valued metadata spelled out. This is OVS's "parse-keys"
// round trip, and the normal form of a key for comparisons.
import { IPV4_ZERO, IPV6_ZERO, MAC_ZERO } from '../ovs/addr.js';
import { mplsLseFromValue, mplsLseValue, vlanFromTci, vlanTci } from '../ovs/key-codec.js';
import type {
  ArpKey, ErspanOpts, FlowKey, IcmpKey, Ipv4Key, Ipv6Key, MplsLse, NdKey, NshKey, PortsKey, TunnelKey,
} from '../ovs/keys.js';
import { unknownAttrType } from '../ovs/keys.js';
import { OdpKeyError } from './errors.js';
import { formatOdpKey } from './format-key.js';

export type KeyFitness = 'perfect' | 'tooMuch' | 'tooLittle';

export interface CanonicalKey {
  fitness: KeyFitness;
  key: FlowKey;
}

export interface CanonicalOptions {
  /** Emit ct_tuple4/ct_tuple6 (OVS's test tool does not; ovs-vswitchd does when the datapath supports it). */
  ctOrigTuple?: boolean;
  /** VLAN headers OVS keeps (its flow_vlan_limit, 2 by default). */
  vlanLimit?: number;
}

const ETH_TYPE_MIN = 0x600;
const DL_TYPE_NONE = 0x5ff;
const isVlanType = (t: number): boolean => t === 0x8100 || t === 0x88a8;
const isMplsType = (t: number): boolean => t === 0x8847 || t === 0x8848;

interface Flow {
  recircId: number;
  dpHash: number;
  priority: number;
  skbMark: number;
  ctState: number;
  ctZone: number;
  ctMark: number;
  ctLabels: bigint;
  ctTuple4?: FlowKey['ctOrigTupleIpv4'];
  ctTuple6?: FlowKey['ctOrigTupleIpv6'];
  tunnel?: TunnelFlow;
  inPort?: number;
  packetType: { ns: number; id: number };
  eth: { src: string; dst: string };
  vlans: { tpid: number; tci: number }[];
  dlType: number;
  ipv4?: Ipv4Key;
  ipv6?: Ipv6Key;
  arp?: ArpKey;
  mpls: number[];
  nsh?: NshKey;
  nwProto: number;
  /** OVS_FRAG_TYPE_* */
  nwFrag: number;
  tpSrc: number;
  tpDst: number;
  tcpFlags: number;
  nd?: NdKey;
  ndReserved: number;
}

interface TunnelFlow {
  id: bigint;
  key: boolean;
  ipv4Src: string;
  ipv4Dst: string;
  ipv6Src: string;
  ipv6Dst: string;
  tos: number;
  ttl: number;
  df: boolean;
  csum: boolean;
  oam: boolean;
  tpSrc: number;
  tpDst: number;
  gbp: number;
  geneve?: Uint8Array;
  erspan?: { version: number; index: number; dir: number; hwid: number };
  gtpu?: { flags: number; msgtype: number };
}

class KeyFail {
  constructor(readonly reason: string) {}
}

type Fit = KeyFitness;

/** The key as OVS reads and rewrites it. Throws OdpKeyError where OVS reports an error. */
export function canonicalKey(key: FlowKey, opts: CanonicalOptions = {}): CanonicalKey {
  try {
    const { flow, fitness } = toFlow(key, opts.vlanLimit ?? 2);
    return { fitness, key: fromFlow(flow, opts) };
  } catch (e) {
    if (e instanceof KeyFail) throw new OdpKeyError(e.reason, formatOdpKey(key));
    throw e;
  }
}

/** Attributes OVS knows (its OVS_KEY_ATTR_MAX is 31); others are ignored. */
function presentNames(k: FlowKey): Set<string> {
  const out = new Set<string>();
  for (const [name, v] of Object.entries(k)) {
    if (v === undefined || name === 'ipv6Exthdrs') continue;
    const t = unknownAttrType(name);
    if (t > 31) continue;
    out.add(name);
  }
  return out;
}

function check(present: Set<string>, expected: Set<string>): Fit {
  for (const e of expected) if (!present.has(e)) return 'tooLittle';
  for (const p of present) if (!expected.has(p)) return 'tooMuch';
  return 'perfect';
}

function toFlow(k: FlowKey, vlanLimit: number): { flow: Flow; fitness: Fit } {
  const flow: Flow = {
    recircId: 0, dpHash: 0, priority: 0, skbMark: 0, ctState: 0, ctZone: 0, ctMark: 0, ctLabels: 0n,
    packetType: { ns: 0, id: 0 }, eth: { src: MAC_ZERO, dst: MAC_ZERO }, vlans: [], dlType: 0, mpls: [],
    nwProto: 0, nwFrag: 0, tpSrc: 0, tpDst: 0, tcpFlags: 0, ndReserved: 0,
  };
  const present = presentNames(k);
  const expected = new Set<string>();
  const take = (name: keyof FlowKey): boolean => {
    if (k[name] === undefined) return false;
    expected.add(name);
    return true;
  };
  if (take('recircId')) flow.recircId = k.recircId!;
  if (take('dpHash')) flow.dpHash = k.dpHash!;
  if (take('priority')) flow.priority = k.priority!;
  if (take('skbMark')) flow.skbMark = k.skbMark!;
  if (take('ctState')) flow.ctState = k.ctState! & 0xff;
  if (take('ctZone')) flow.ctZone = k.ctZone!;
  if (take('ctMark')) flow.ctMark = k.ctMark!;
  if (take('ctLabels')) flow.ctLabels = k.ctLabels!;
  if (take('ctOrigTupleIpv4')) flow.ctTuple4 = k.ctOrigTupleIpv4;
  if (take('ctOrigTupleIpv6')) flow.ctTuple6 = k.ctOrigTupleIpv6;
  if (k.tunnel) {
    const { tun, perfect } = tunnelToFlow(k.tunnel);
    flow.tunnel = tun;
    if (perfect) expected.add('tunnel');
  }
  if (take('inPort')) flow.inPort = k.inPort;
  if (take('packetType')) {
    flow.packetType = { ...k.packetType! };
    if (flow.packetType.ns === 1) flow.dlType = flow.packetType.id;
  }
  if (take('ethernet')) {
    flow.eth = { ...k.ethernet! };
    flow.packetType = { ns: 0, id: 0 };
  } else if (k.ethertype !== undefined) {
    flow.packetType = { ns: 1, id: k.ethertype };
    expected.add('ethertype');
  }
  parseEthertype(k, present, expected, flow);
  const fitness = isVlanType(flow.dlType) ? parse8021q(k, present, expected, flow, vlanLimit) : parseL25(k, present, expected, flow, true);
  return { flow, fitness };
}

function parseEthertype(k: FlowKey, present: Set<string>, expected: Set<string>, flow: Flow): void {
  if (k.ethertype !== undefined) {
    flow.dlType = k.ethertype;
    if (flow.dlType < ETH_TYPE_MIN) throw new KeyFail(`invalid Ethertype ${flow.dlType} in flow key`);
    expected.add('ethertype');
  } else if (present.has('ipv4')) flow.dlType = 0x0800;
  else if (present.has('ipv6')) flow.dlType = 0x86dd;
  else if (present.has('mpls')) flow.dlType = 0x8847;
  else flow.dlType = DL_TYPE_NONE;
}

function parse8021q(k0: FlowKey, present0: Set<string>, expected0: Set<string>, flow: Flow, vlanLimit: number): Fit {
  let k = k0;
  let present = present0;
  let expected = expected0;
  let encaps = 0;
  while (encaps < vlanLimit && isVlanType(flow.dlType)) {
    expected.add('vlan');
    expected.add('encap');
    const fitness = check(present, expected);
    const tci = k.vlan ? vlanTci(k.vlan) : 0;
    flow.vlans[encaps] = { tpid: flow.dlType, tci };
    flow.dlType = 0;
    if (!k.vlan || !k.encap) return 'tooLittle';
    if (tci === 0) {
      if (fitness === 'perfect' && Object.keys(k.encap).length) return 'tooMuch';
      return fitness;
    }
    if (!(tci & 0x1000)) throw new KeyFail(`OVS_KEY_ATTR_VLAN 0x${tci.toString(16).padStart(4, '0')} is nonzero but CFI bit is not set`);
    k = k.encap;
    present = presentNames(k);
    expected = new Set();
    parseEthertype(k, present, expected, flow);
    const inner = parseL25(k, present, expected, flow, false);
    if (inner !== 'perfect') return inner;
    encaps++;
  }
  return check(present, expected);
}

function parseL25(k: FlowKey, present: Set<string>, expected: Set<string>, flow: Flow, needCheck: boolean): Fit {
  const done = (): Fit => (needCheck ? check(present, expected) : 'perfect');
  const dl = flow.dlType;
  if (isMplsType(dl)) {
    expected.add('mpls');
    if (k.mpls) {
      const n = k.mpls.length;
      if (!n) throw new KeyFail('MPLS LSEs have invalid length 0');
      flow.mpls = k.mpls.slice(0, 3).map(mplsLseValue);
      if (n > 3) return 'tooMuch';
      for (let i = 0; i < n - 1; i++) if (k.mpls[i].bos) throw new KeyFail('MPLS BOS set in non-innermost label');
      if (n < 3 && !k.mpls[n - 1].bos) return 'tooLittle';
    }
    return done();
  } else if (dl === 0x0800) {
    expected.add('ipv4');
    if (k.ipv4) {
      if (k.ipv4.frag > 2) throw new KeyFail('OVS_KEY_ATTR_IPV4 has invalid nw_frag 0xff');
      flow.ipv4 = { ...k.ipv4 };
      flow.nwProto = k.ipv4.proto;
      flow.nwFrag = k.ipv4.frag;
    }
  } else if (dl === 0x86dd) {
    expected.add('ipv6');
    if (k.ipv6) {
      if (k.ipv6.frag > 2) throw new KeyFail('OVS_KEY_ATTR_IPV6 has invalid nw_frag 0xff');
      flow.ipv6 = { ...k.ipv6 };
      flow.nwProto = k.ipv6.proto;
      flow.nwFrag = k.ipv6.frag;
    }
  } else if (dl === 0x0806 || dl === 0x8035) {
    expected.add('arp');
    if (k.arp) {
      if (k.arp.op & 0xff00) throw new KeyFail(`unsupported ARP opcode ${k.arp.op} in flow key`);
      flow.arp = { ...k.arp };
    }
  } else if (dl === 0x894f) {
    expected.add('nsh');
    if (k.nsh) {
      if (k.nsh.md1 && k.nsh.base && k.nsh.base.mdtype !== 1) {
        throw new KeyFail(`OVS_NSH_KEY_ATTR_MD1 present but declared mdtype ${k.nsh.base.mdtype} is not 1 (NSH_M_TYPE1)`);
      }
      flow.nsh = { ...(k.nsh.base ? { base: { ...k.nsh.base } } : {}), ...(k.nsh.md1 ? { md1: [...k.nsh.md1] as [number, number, number, number] } : {}) };
    }
  } else {
    return done();
  }
  const ip = dl === 0x0800 || dl === 0x86dd;
  const later = flow.nwFrag === 2;
  const ports = (name: 'tcp' | 'udp' | 'sctp'): void => {
    expected.add(name);
    const p = k[name];
    if (p) {
      flow.tpSrc = p.src;
      flow.tpDst = p.dst;
    }
  };
  if (ip && !later && flow.nwProto === 6) {
    ports('tcp');
    if (k.tcpFlags !== undefined) {
      expected.add('tcpFlags');
      flow.tcpFlags = k.tcpFlags;
    }
  } else if (ip && !later && flow.nwProto === 17) {
    ports('udp');
  } else if (ip && !later && flow.nwProto === 132) {
    ports('sctp');
  } else if (dl === 0x0800 && !later && flow.nwProto === 1) {
    expected.add('icmp');
    if (k.icmp) {
      flow.tpSrc = k.icmp.type;
      flow.tpDst = k.icmp.code;
    }
  } else if (dl === 0x86dd && !later && flow.nwProto === 58) {
    expected.add('icmpv6');
    if (k.icmpv6) {
      flow.tpSrc = k.icmpv6.type;
      flow.tpDst = k.icmpv6.code;
      if (isNd(flow)) {
        expected.add('nd');
        if (k.nd) flow.nd = { ...k.nd };
        if (k.ndExtensions) {
          expected.add('ndExtensions');
          flow.ndReserved = k.ndExtensions.reserved;
          flow.tcpFlags = k.ndExtensions.optionsType;
        }
      }
    }
  }
  return done();
}

function isNd(flow: Flow): boolean {
  return flow.dlType === 0x86dd && flow.nwProto === 58 && flow.tpDst === 0 && (flow.tpSrc === 135 || flow.tpSrc === 136);
}

function tunnelToFlow(t: TunnelKey): { tun: TunnelFlow; perfect: boolean } {
  const tun: TunnelFlow = {
    id: 0n, key: false, ipv4Src: IPV4_ZERO, ipv4Dst: IPV4_ZERO, ipv6Src: IPV6_ZERO, ipv6Dst: IPV6_ZERO,
    tos: 0, ttl: 0, df: false, csum: false, oam: false, tpSrc: 0, tpDst: 0, gbp: 0,
  };
  let ttl = false;
  let unknown = false;
  for (const [name, v] of Object.entries(t)) {
    if (v === undefined) continue;
    switch (name) {
      case 'id':
        tun.id = v as bigint;
        tun.key = true;
        break;
      case 'ipv4Src':
      case 'ipv4Dst':
      case 'ipv6Src':
      case 'ipv6Dst':
        tun[name] = v as string;
        break;
      case 'tos':
      case 'tpSrc':
      case 'tpDst':
        tun[name] = v as number;
        break;
      case 'ttl':
        tun.ttl = v as number;
        ttl = true;
        break;
      case 'dontFragment':
        tun.df = true;
        break;
      case 'csum':
        tun.csum = true;
        break;
      case 'oam':
        tun.oam = true;
        break;
      case 'vxlanOpts':
        tun.gbp = (v as { gbp?: number }).gbp ?? 0;
        break;
      case 'geneveOpts':
        tun.geneve = v as Uint8Array;
        break;
      case 'erspanOpts': {
        const e = v as ErspanOpts;
        tun.erspan = { version: e.version, index: e.index, dir: e.dir, hwid: (e.hwidUpper << 4) | e.hwid };
        break;
      }
      case 'gtpuOpts':
        tun.gtpu = { ...(v as { flags: number; msgtype: number }) };
        break;
      case 'pad':
        break;
      default:
        unknown = true;
    }
  }
  if (!ttl) throw new KeyFail('tunnel options missing TTL');
  return { tun, perfect: !unknown };
}

function tunnelFromFlow(t: TunnelFlow): TunnelKey {
  const out: TunnelKey = {};
  if (t.id || t.key) out.id = t.id;
  if (t.ipv4Src !== IPV4_ZERO) out.ipv4Src = t.ipv4Src;
  if (t.ipv4Dst !== IPV4_ZERO) out.ipv4Dst = t.ipv4Dst;
  if (t.ipv6Src !== IPV6_ZERO) out.ipv6Src = t.ipv6Src;
  if (t.ipv6Dst !== IPV6_ZERO) out.ipv6Dst = t.ipv6Dst;
  if (t.tos) out.tos = t.tos;
  out.ttl = t.ttl;
  if (t.df) out.dontFragment = true;
  if (t.csum) out.csum = true;
  if (t.tpSrc) out.tpSrc = t.tpSrc;
  if (t.tpDst) out.tpDst = t.tpDst;
  if (t.oam) out.oam = true;
  if (t.gbp) out.vxlanOpts = { gbp: t.gbp };
  if (t.geneve) out.geneveOpts = t.geneve;
  const e = t.erspan;
  if (e && (e.version === 1 || e.version === 2)) {
    const v2 = e.version === 2;
    out.erspanOpts = {
      version: e.version, index: v2 ? 0 : e.index, sgt: 0, p: 0, ft: 0,
      hwidUpper: v2 ? (e.hwid >> 4) & 3 : 0, o: 0, gra: 0, dir: v2 ? e.dir : 0, hwid: v2 ? e.hwid & 0xf : 0,
    };
  }
  if (t.gtpu && t.gtpu.flags && t.gtpu.msgtype) out.gtpuOpts = { ...t.gtpu };
  return out;
}

function countMpls(lses: number[]): number {
  let cnt = 0;
  for (let i = 0; i < 3; i++) {
    const l = lses[i] ?? 0;
    if (l & 0x100) return i + 1;
    if (l) cnt++;
  }
  return cnt;
}

function fromFlow(flow: Flow, opts: CanonicalOptions): FlowKey {
  const out: FlowKey = {};
  out.recircId = flow.recircId;
  out.dpHash = flow.dpHash;
  out.priority = flow.priority;
  const t = flow.tunnel;
  if (t && (t.ipv4Src !== IPV4_ZERO || t.ipv4Dst !== IPV4_ZERO || t.ipv6Src !== IPV6_ZERO || t.ipv6Dst !== IPV6_ZERO)) out.tunnel = tunnelFromFlow(t);
  if (flow.inPort !== undefined) out.inPort = flow.inPort;
  out.skbMark = flow.skbMark;
  out.ctState = flow.ctState;
  out.ctZone = flow.ctZone;
  out.ctMark = flow.ctMark;
  out.ctLabels = flow.ctLabels;
  if (opts.ctOrigTuple) {
    if (flow.dlType === 0x0800 && flow.ctTuple4?.proto) out.ctOrigTupleIpv4 = flow.ctTuple4;
    else if (flow.dlType === 0x86dd && flow.ctTuple6?.proto) out.ctOrigTupleIpv6 = flow.ctTuple6;
  }
  out.packetType = { ...flow.packetType };
  let cur: FlowKey = out;
  const vlanLimit = opts.vlanLimit ?? 2;
  if (flow.packetType.ns === 0 && flow.packetType.id === 0) {
    out.ethernet = { ...flow.eth };
    for (let e = 0; e < vlanLimit; e++) {
      const v = flow.vlans[e];
      let tpid = v?.tpid ?? 0;
      const tci = v?.tci ?? 0;
      if (tci === 0) {
        if (isVlanType(flow.dlType)) tpid = flow.dlType;
        else break;
      }
      cur.ethertype = tpid;
      cur.vlan = vlanFromTci(tci);
      const inner: FlowKey = {};
      cur.encap = inner;
      cur = inner;
      if (tci === 0) return out;
    }
  }
  if (flow.dlType < ETH_TYPE_MIN) return out;
  cur.ethertype = flow.dlType;
  if (isVlanType(flow.dlType)) return out;
  const dl = flow.dlType;
  if (dl === 0x0800) {
    cur.ipv4 = flow.ipv4 ? { ...flow.ipv4 } : { src: IPV4_ZERO, dst: IPV4_ZERO, proto: 0, tos: 0, ttl: 0, frag: 0 };
  } else if (dl === 0x86dd) {
    cur.ipv6 = flow.ipv6 ? { ...flow.ipv6 } : { src: IPV6_ZERO, dst: IPV6_ZERO, label: 0, proto: 0, tclass: 0, hlimit: 0, frag: 0 };
  } else if (dl === 0x0806 || dl === 0x8035) {
    cur.arp = flow.arp ? { ...flow.arp } : { sip: IPV4_ZERO, tip: IPV4_ZERO, op: 0, sha: MAC_ZERO, tha: MAC_ZERO };
  } else if (isMplsType(dl)) {
    const n = countMpls(flow.mpls);
    const lses: MplsLse[] = [];
    for (let i = 0; i < n; i++) lses.push(mplsLseFromValue(flow.mpls[i] ?? 0));
    cur.mpls = lses;
  } else if (dl === 0x894f) {
    const base = flow.nsh?.base ?? { flags: 0, ttl: 0, mdtype: 0, np: 0, spi: 0, si: 0 };
    cur.nsh = base.mdtype === 1 ? { base, md1: flow.nsh?.md1 ?? [0, 0, 0, 0] } : { base };
  }
  const ip = dl === 0x0800 || dl === 0x86dd;
  if (ip && flow.nwFrag !== 2) {
    const p: PortsKey = { src: flow.tpSrc, dst: flow.tpDst };
    if (flow.nwProto === 6) {
      cur.tcp = p;
      if (flow.tcpFlags) cur.tcpFlags = flow.tcpFlags;
    } else if (flow.nwProto === 17) {
      cur.udp = p;
    } else if (flow.nwProto === 132) {
      cur.sctp = p;
    } else if (dl === 0x0800 && flow.nwProto === 1) {
      cur.icmp = { type: flow.tpSrc & 0xff, code: flow.tpDst & 0xff } satisfies IcmpKey;
    } else if (dl === 0x86dd && flow.nwProto === 58) {
      cur.icmpv6 = { type: flow.tpSrc & 0xff, code: flow.tpDst & 0xff };
      if (isNd(flow)) {
        cur.nd = flow.nd ? { ...flow.nd } : { target: IPV6_ZERO, sll: MAC_ZERO, tll: MAC_ZERO };
        if (flow.ndReserved || flow.tcpFlags) cur.ndExtensions = { reserved: flow.ndReserved, optionsType: flow.tcpFlags & 0xff };
      }
    }
  }
  return out;
}
