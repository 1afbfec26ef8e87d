// The flows ovsnl installs with OVS_FLOW_ATTR_PROBE to learn what this
// kernel's openvswitch module supports, in the manner of ovs-vswitchd's
// ofproto-dpif backer probes: one small flow per key attribute or action,
// accepted = supported. Built as raw attribute bytes so they depend on
// nothing but the uapi numbers. Each probe gets its own in_port (exact,
// like every field of a mask-less flow), so no two probes overlap in the
// flow table however the kernel looks them up.
import { AttrWriter } from '../netlink/attr.js';

// enum ovs_key_attr / ovs_action_attr and nested sets (linux/openvswitch.h).
const KEY_IN_PORT = 3;
const KEY_ETHERNET = 4;
const KEY_ETHERTYPE = 6;
const KEY_IPV4 = 7;
const KEY_IPV6 = 8;
const KEY_UDP = 10;
const KEY_DP_HASH = 19;
const KEY_RECIRC_ID = 20;
const KEY_MPLS = 21;
const KEY_CT_STATE = 22;
const KEY_CT_ZONE = 23;
const KEY_CT_MARK = 24;
const KEY_CT_LABELS = 25;
const KEY_CT_ORIG_TUPLE_IPV4 = 26;
const KEY_CT_ORIG_TUPLE_IPV6 = 27;
const KEY_NSH = 28;
const KEY_IPV6_EXTHDRS = 32;
const NSH_BASE = 1;
const NSH_MD1 = 2;
const ACT_OUTPUT = 1;
const ACT_RECIRC = 7;
const ACT_HASH = 8;
const ACT_CT = 12;
const ACT_TRUNC = 13;
const ACT_PUSH_ETH = 14;
const ACT_POP_ETH = 15;
const ACT_CT_CLEAR = 16;
const ACT_PUSH_NSH = 17;
const ACT_METER = 19;
const ACT_CLONE = 20;
const ACT_CHECK_PKT_LEN = 21;
const ACT_ADD_MPLS = 22;
const ACT_DEC_TTL = 23;
const ACT_DROP = 24;
const ACT_PSAMPLE = 25;
const CT_COMMIT = 1;
const CT_NAT = 6;
const CT_EVENTMASK = 8;
const NAT_SRC = 1;
const CPL_PKT_LEN = 1;
const CPL_IF_GREATER = 2;
const CPL_IF_LESS_EQUAL = 3;
const DEC_TTL_ACTION = 1;
const PSAMPLE_GROUP = 1;

const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;
const ETH_P_MPLS_UC = 0x8847;
const ETH_P_NSH = 0x894f;
const CS_NEW_TRACKED = 0x01 | 0x20;

/** Key attributes that arrived in some kernel version. */
export type KeyFeature =
  | 'recircId'
  | 'dpHash'
  | 'ctState'
  | 'ctZone'
  | 'ctMark'
  | 'ctLabels'
  | 'ctOrigTuple'
  | 'ctOrigTuple6'
  | 'nsh'
  | 'ipv6Exthdrs';

/** Actions (or action options) that arrived in some kernel version. */
export type ActionFeature =
  | 'recirc'
  | 'hash'
  | 'hashSymL4'
  | 'trunc'
  | 'clone'
  | 'ct'
  | 'ctClear'
  | 'ctNat'
  | 'ctEventmask'
  | 'meter'
  | 'pushEth'
  | 'pushNsh'
  | 'checkPktLen'
  | 'addMpls'
  | 'decTtl'
  | 'drop'
  | 'psample';

export type ProbeFeature = { kind: 'key'; name: KeyFeature } | { kind: 'action'; name: ActionFeature } | { kind: 'mplsLabels'; labels: number };

export interface FlowProbe {
  feature: ProbeFeature;
  key: Uint8Array;
  actions: Uint8Array;
}

/** First in_port of the probes; below DP_MAX_PORTS (65535), far from ports anyone numbers by hand. */
export const PROBE_PORT_BASE = 0xf000;

type L3 = 'ipv4' | 'ipv6' | 'mpls' | 'nsh';

function put(w: AttrWriter, type: number, bytes: number[]): void {
  w.bytes(type, new Uint8Array(bytes));
}

function be16(v: number): number[] {
  return [(v >>> 8) & 0xff, v & 0xff];
}

function be32(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

const MAC_SRC = [0x02, 0, 0, 0, 0, 0x01];
const MAC_DST = [0x02, 0, 0, 0, 0, 0x02];
const IP6_SRC = [0xfd, 0, ...new Array<number>(13).fill(0), 1];
const IP6_DST = [0xfd, 0, ...new Array<number>(13).fill(0), 2];
/** An MPLS label stack entry: label 100, ttl 64, bottom of stack on the last. */
const lse = (bos: boolean): number[] => be32((100 << 12) | (bos ? 1 << 8 : 0) | 64);

function nshKeyAttrs(w: AttrWriter, type: number): void {
  const t = w.nestStart(type);
  // flags 0, ttl 63, md type 1, next protocol 1 (IPv4); path: spi 1, si 255.
  put(w, NSH_BASE, [0, 63, 1, 1, ...be32((1 << 8) | 255)]);
  put(w, NSH_MD1, new Array<number>(16).fill(0));
  w.nestEnd(t);
}

/** A complete exact key of the given L3 kind: what the kernel expects of it (UDP under IP), plus `extra`. */
function baseKey(inPort: number, l3: L3, extra?: (w: AttrWriter) => void, mplsLabels = 1): Uint8Array {
  const w = new AttrWriter(160);
  w.u32(KEY_IN_PORT, inPort);
  put(w, KEY_ETHERNET, [...MAC_SRC, ...MAC_DST]);
  switch (l3) {
    case 'ipv4':
      w.be16(KEY_ETHERTYPE, ETH_P_IP);
      // src, dst, proto 17, tos 0, ttl 64, frag no
      put(w, KEY_IPV4, [10, 255, 0, 1, 10, 255, 0, 2, 17, 0, 64, 0]);
      put(w, KEY_UDP, [...be16(1), ...be16(2)]);
      break;
    case 'ipv6':
      w.be16(KEY_ETHERTYPE, ETH_P_IPV6);
      // src, dst, label 0, proto 17, tclass 0, hlimit 64, frag no
      put(w, KEY_IPV6, [...IP6_SRC, ...IP6_DST, 0, 0, 0, 0, 17, 0, 64, 0]);
      put(w, KEY_UDP, [...be16(1), ...be16(2)]);
      break;
    case 'mpls':
      w.be16(KEY_ETHERTYPE, ETH_P_MPLS_UC);
      put(w, KEY_MPLS, Array.from({ length: mplsLabels }, (_, i) => lse(i === mplsLabels - 1)).flat());
      break;
    case 'nsh':
      w.be16(KEY_ETHERTYPE, ETH_P_NSH);
      nshKeyAttrs(w, KEY_NSH);
      break;
  }
  extra?.(w);
  return w.finish().slice();
}

function actions(build: (w: AttrWriter) => void): Uint8Array {
  const w = new AttrWriter(64);
  build(w);
  return w.finish().slice();
}

const output = (w: AttrWriter): void => w.u32(ACT_OUTPUT, 1);

const KEY_PROBES: Record<KeyFeature, { l3: L3; extra: (w: AttrWriter) => void }> = {
  recircId: { l3: 'ipv4', extra: (w) => w.u32(KEY_RECIRC_ID, 1) },
  dpHash: { l3: 'ipv4', extra: (w) => w.u32(KEY_DP_HASH, 1) },
  ctState: { l3: 'ipv4', extra: (w) => w.u32(KEY_CT_STATE, CS_NEW_TRACKED) },
  ctZone: { l3: 'ipv4', extra: (w) => w.u16(KEY_CT_ZONE, 1) },
  ctMark: { l3: 'ipv4', extra: (w) => w.u32(KEY_CT_MARK, 1) },
  ctLabels: { l3: 'ipv4', extra: (w) => put(w, KEY_CT_LABELS, [1, ...new Array<number>(15).fill(0)]) },
  ctOrigTuple: {
    l3: 'ipv4',
    extra: (w) => {
      w.u32(KEY_CT_STATE, CS_NEW_TRACKED);
      // src, dst, src port, dst port, proto 17, 3 pad
      put(w, KEY_CT_ORIG_TUPLE_IPV4, [10, 255, 0, 1, 10, 255, 0, 2, ...be16(1), ...be16(2), 17, 0, 0, 0]);
    },
  },
  ctOrigTuple6: {
    l3: 'ipv6',
    extra: (w) => {
      w.u32(KEY_CT_STATE, CS_NEW_TRACKED);
      put(w, KEY_CT_ORIG_TUPLE_IPV6, [...IP6_SRC, ...IP6_DST, ...be16(1), ...be16(2), 17, 0, 0, 0]);
    },
  },
  nsh: { l3: 'nsh', extra: () => undefined },
  ipv6Exthdrs: { l3: 'ipv6', extra: (w) => w.u16(KEY_IPV6_EXTHDRS, 0) },
};

const ACTION_PROBES: Record<ActionFeature, (w: AttrWriter) => void> = {
  recirc: (w) => w.u32(ACT_RECIRC, 1),
  // struct ovs_action_hash: u32 alg (0 L4, 1 symmetric L4), u32 basis.
  hash: (w) => put(w, ACT_HASH, new Array<number>(8).fill(0)),
  hashSymL4: (w) => {
    const t = w.nestStart(ACT_HASH);
    w.rawU32(1);
    w.rawU32(0);
    w.nestEnd(t);
  },
  trunc: (w) => {
    w.u32(ACT_TRUNC, 100);
    output(w);
  },
  clone: (w) => {
    const t = w.nestStart(ACT_CLONE);
    output(w);
    w.nestEnd(t);
  },
  ct: (w) => {
    const t = w.nestStart(ACT_CT);
    w.flag(CT_COMMIT);
    w.nestEnd(t);
  },
  ctClear: (w) => w.flag(ACT_CT_CLEAR),
  ctNat: (w) => {
    const t = w.nestStart(ACT_CT);
    w.flag(CT_COMMIT);
    const n = w.nestStart(CT_NAT);
    w.flag(NAT_SRC);
    w.nestEnd(n);
    w.nestEnd(t);
  },
  ctEventmask: (w) => {
    const t = w.nestStart(ACT_CT);
    w.flag(CT_COMMIT);
    w.u32(CT_EVENTMASK, 0xf);
    w.nestEnd(t);
  },
  meter: (w) => {
    // A meter that does not exist is ignored by the kernel, not refused.
    w.u32(ACT_METER, 1);
    output(w);
  },
  pushEth: (w) => {
    // The key has an Ethernet header: take it off before pushing one.
    w.flag(ACT_POP_ETH);
    put(w, ACT_PUSH_ETH, [...MAC_SRC, ...MAC_DST]);
  },
  pushNsh: (w) => {
    w.flag(ACT_POP_ETH);
    // The header to push is a whole OVS_KEY_ATTR_NSH inside the action, as OVS writes it.
    const t = w.nestStart(ACT_PUSH_NSH);
    nshKeyAttrs(w, KEY_NSH);
    w.nestEnd(t);
  },
  checkPktLen: (w) => {
    const t = w.nestStart(ACT_CHECK_PKT_LEN);
    w.u16(CPL_PKT_LEN, 100);
    const gt = w.nestStart(CPL_IF_GREATER);
    output(w);
    w.nestEnd(gt);
    const le = w.nestStart(CPL_IF_LESS_EQUAL);
    w.nestEnd(le);
    w.nestEnd(t);
  },
  // struct ovs_action_add_mpls: be32 lse, be16 ethertype, u16 tun_flags (1: at L3).
  addMpls: (w) => {
    const t = w.nestStart(ACT_ADD_MPLS);
    w.rawBytes(new Uint8Array([...lse(true), ...be16(ETH_P_MPLS_UC)]));
    w.rawU16(1);
    w.nestEnd(t);
  },
  decTtl: (w) => {
    const t = w.nestStart(ACT_DEC_TTL);
    const a = w.nestStart(DEC_TTL_ACTION);
    w.nestEnd(a);
    w.nestEnd(t);
    output(w);
  },
  // The reason is OVS's enum xlate_error; the kernel wants drop last.
  drop: (w) => w.u32(ACT_DROP, 1),
  psample: (w) => {
    // The kernel parses this nest strictly: it must carry NLA_F_NESTED.
    const t = w.nestStart(ACT_PSAMPLE, true);
    w.u32(PSAMPLE_GROUP, 1);
    w.nestEnd(t);
  },
};

/** MPLS stacks the kernel may take: OVS probes 1 to 3 (FLOW_MAX_MPLS_LABELS). */
export const MAX_PROBED_MPLS_LABELS = 3;

/** Every probe, with distinct in_ports from `portBase`. */
export function featureProbes(portBase = PROBE_PORT_BASE): FlowProbe[] {
  const out: FlowProbe[] = [];
  let port = portBase;
  for (const [name, p] of Object.entries(KEY_PROBES) as [KeyFeature, (typeof KEY_PROBES)[KeyFeature]][]) {
    out.push({ feature: { kind: 'key', name }, key: baseKey(port++, p.l3, p.extra), actions: actions(output) });
  }
  for (const [name, build] of Object.entries(ACTION_PROBES) as [ActionFeature, (w: AttrWriter) => void][]) {
    out.push({ feature: { kind: 'action', name }, key: baseKey(port++, 'ipv4'), actions: actions(build) });
  }
  for (let labels = 1; labels <= MAX_PROBED_MPLS_LABELS; labels++) {
    out.push({ feature: { kind: 'mplsLabels', labels }, key: baseKey(port++, 'mpls', undefined, labels), actions: actions(output) });
  }
  return out;
}

export const KEY_FEATURES = Object.keys(KEY_PROBES) as KeyFeature[];
export const ACTION_FEATURES = Object.keys(ACTION_PROBES) as ActionFeature[];
