// dump-flows filter=...: OpenFlow-style "field=value" pairs, exact values
// (lib/ofp-flow.c parse_ofp_exact_flow). A flow passes when, on every bit
// both the filter sets and the flow's own mask covers, the two agree; bits
// the flow wildcards never fail (lib/dpctl.c: minimatch over the flow's
// masked value). The datapath key is seen as OVS's `struct flow` sees it:
// behind a VLAN tag, dl_type is the inner ethertype; ARP addresses are
// nw_src/nw_dst and the opcode nw_proto; ICMP type and code are tp_src/tp_dst.
import { ipv4ToU32OrNeg, ipv6IntoBytes, macIntoBytes } from '../ovs/addr.js';
import type { FlowKey } from '../ovs/keys.js';
import { CT_STATE_NAMES } from '../odp/index.js';

type Pair = [value: bigint, mask: bigint];
type Getter = (k: FlowKey, m: FlowKey) => Pair;

/** Flow-side view of the key: values and masks of the fields a filter can name. */
interface FlowView {
  key: FlowKey;
  mask: FlowKey;
  /** The L3+ part: the encap of a VLAN-tagged key, else the key. */
  inner: FlowKey;
  innerMask: FlowKey;
}

function view(key: FlowKey, mask: FlowKey): FlowView {
  if (key.encap && key.vlan) return { key, mask, inner: key.encap, innerMask: mask.encap ?? {} };
  return { key, mask, inner: key, innerMask: mask };
}

const big = (n: number | undefined): bigint => BigInt(n ?? 0);
const ZERO: Pair = [0n, 0n];

function macBig(s: string | undefined): bigint {
  if (!s) return 0n;
  const b = new Uint8Array(6);
  if (!macIntoBytes(s, b)) return 0n;
  return b.reduce((acc, x) => (acc << 8n) | BigInt(x), 0n);
}

function ipv4Big(s: string | undefined): bigint {
  const v = s ? ipv4ToU32OrNeg(s) : -1;
  return v < 0 ? 0n : BigInt(v);
}

function ipv6Big(s: string | undefined): bigint {
  const b = new Uint8Array(16);
  if (!s || !ipv6IntoBytes(s, b)) return 0n;
  return b.reduce((acc, x) => (acc << 8n) | BigInt(x), 0n);
}

/** OVS_FRAG_TYPE_* (0 no, 1 first, 2 later) → struct flow nw_frag bits (ANY 1, LATER 2). */
const fragBits = (f: number | undefined): bigint => (f === 1 ? 1n : f === 2 ? 3n : 0n);
const fragMaskBits = (m: number | undefined): bigint => (m ? 3n : 0n);

type Proto = 'none' | 'ipv4' | 'ipv6' | 'arp';

interface FieldDef {
  bits: number;
  prereq?: (f: FilterFlow) => boolean;
  parse: (s: string, ports: ReadonlyMap<string, number>) => bigint | string;
  /** Full mask when the field is set (default: all `bits` ones). */
  mask?: bigint;
  /** How the value lands in the flow (default: as parsed). */
  set?: (v: bigint) => Pair;
  get: (v: FlowView) => Pair;
}

/** The filter's own flow so far, for prerequisites. */
interface FilterFlow {
  dlType?: number;
  nwProto?: number;
}

const isIp = (f: FilterFlow): boolean => f.dlType === 0x0800 || f.dlType === 0x86dd;
const isIpv4 = (f: FilterFlow): boolean => f.dlType === 0x0800;
const isIpv6 = (f: FilterFlow): boolean => f.dlType === 0x86dd;
const isArp = (f: FilterFlow): boolean => f.dlType === 0x0806 || f.dlType === 0x8035;
const l4 = (proto: number) => (f: FilterFlow): boolean => isIp(f) && f.nwProto === proto;

function parseUint(bits: number) {
  return (s: string): bigint | string => {
    if (!/^(0x[0-9a-fA-F]+|\d+)$/.test(s)) return `${s}: invalid numeric format`;
    const v = BigInt(s);
    if (v >> BigInt(bits)) return `${s}: value too large for ${Math.ceil(bits / 8)}-byte field`;
    return v;
  };
}

function parseMac(s: string): bigint | string {
  const b = new Uint8Array(6);
  return macIntoBytes(s, b) ? macBig(s) : `${s}: invalid Ethernet address`;
}

function parseIpv4(s: string): bigint | string {
  const v = ipv4ToU32OrNeg(s);
  return v < 0 ? `${s}: invalid IP address` : BigInt(v);
}

function parseIpv6(s: string): bigint | string {
  const b = new Uint8Array(16);
  return ipv6IntoBytes(s, b) ? ipv6Big(s) : `${s}: invalid IPv6 address`;
}

function l3(v: FlowView, proto: Proto): [FlowKey, FlowKey] | undefined {
  const k = v.inner;
  if (proto === 'ipv4' && k.ipv4) return [k, v.innerMask];
  if (proto === 'ipv6' && k.ipv6) return [k, v.innerMask];
  if (proto === 'arp' && k.arp) return [k, v.innerMask];
  return undefined;
}

/** tp_src/tp_dst of struct flow: TCP/UDP/SCTP ports, or ICMP type/code. */
function tp(v: FlowView, which: 'src' | 'dst'): Pair {
  const k = v.inner;
  const m = v.innerMask;
  for (const p of ['tcp', 'udp', 'sctp'] as const) {
    if (k[p]) return [big(k[p]![which]), big(m[p]?.[which])];
  }
  const icmp = k.icmp ? ['icmp', k.icmp, m.icmp] : k.icmpv6 ? ['icmpv6', k.icmpv6, m.icmpv6] : undefined;
  if (icmp) {
    const f = which === 'src' ? 'type' : 'code';
    const key = icmp[1] as { type: number; code: number };
    const mask = icmp[2] as { type: number; code: number } | undefined;
    return [big(key[f]), big(mask?.[f])];
  }
  return ZERO;
}

function nw(v: FlowView, get: (k: FlowKey, m: FlowKey) => Pair | undefined): Pair {
  return get(v.inner, v.innerMask) ?? ZERO;
}

const u = (bits: number) => parseUint(bits);

function portField(s: string, ports: ReadonlyMap<string, number>): bigint | string {
  const n = ports.get(s);
  if (n !== undefined) return BigInt(n);
  if (/^\d+$/.test(s)) return BigInt(s) > 0xffffn ? `${s}: port number out of range` : BigInt(s);
  return `${s}: invalid or unknown port`;
}

function ctStateField(s: string): bigint | string {
  if (/^(0x[0-9a-fA-F]+|\d+)$/.test(s)) return BigInt(s);
  let v = 0n;
  const re = /([+-])([a-z]+)/g;
  let m: RegExpExecArray | null;
  let seen = '';
  while ((m = re.exec(s))) {
    seen += m[0];
    const bit = CT_STATE_NAMES.find(([, n]) => n === m![2])?.[0];
    if (bit === undefined) return `${s}: unknown connection tracking state flag`;
    if (m[1] === '+') v |= BigInt(bit);
  }
  return seen === s && s ? v : `${s}: invalid ct_state`;
}

const FIELDS: Record<string, FieldDef> = {
  in_port: { bits: 16, parse: portField, get: (v) => [big(v.key.inPort) & 0xffffn, big(v.mask.inPort) & 0xffffn] },
  eth_src: { bits: 48, parse: parseMac, get: (v) => [macBig(v.key.ethernet?.src), macBig(v.mask.ethernet?.src)] },
  eth_dst: { bits: 48, parse: parseMac, get: (v) => [macBig(v.key.ethernet?.dst), macBig(v.mask.ethernet?.dst)] },
  eth_type: { bits: 16, parse: u(16), get: (v) => (v.inner.ethertype === undefined ? [0x5ffn, big(v.innerMask.ethertype)] : [big(v.inner.ethertype), big(v.innerMask.ethertype)]) },
  vlan_tci: { bits: 16, parse: u(16), get: (v) => vlanTci(v) },
  dl_vlan: {
    bits: 12,
    parse: u(12),
    mask: 0x1fffn,
    set: (x) => [x | 0x1000n, 0x1fffn],
    get: (v) => vlanTci(v),
  },
  vlan_vid: { bits: 13, parse: u(13), mask: 0x1fffn, get: (v) => vlanTci(v) },
  dl_vlan_pcp: { bits: 3, parse: u(3), set: (x) => [(x << 13n) | 0x1000n, 0xf000n], get: (v) => vlanTci(v) },
  ip_src: { bits: 32, prereq: isIpv4, parse: parseIpv4, get: (v) => nw(v, (k, m) => (k.ipv4 ? [ipv4Big(k.ipv4.src), ipv4Big(m.ipv4?.src)] : undefined)) },
  ip_dst: { bits: 32, prereq: isIpv4, parse: parseIpv4, get: (v) => nw(v, (k, m) => (k.ipv4 ? [ipv4Big(k.ipv4.dst), ipv4Big(m.ipv4?.dst)] : undefined)) },
  ipv6_src: { bits: 128, prereq: isIpv6, parse: parseIpv6, get: (v) => nw(v, (k, m) => (k.ipv6 ? [ipv6Big(k.ipv6.src), ipv6Big(m.ipv6?.src)] : undefined)) },
  ipv6_dst: { bits: 128, prereq: isIpv6, parse: parseIpv6, get: (v) => nw(v, (k, m) => (k.ipv6 ? [ipv6Big(k.ipv6.dst), ipv6Big(m.ipv6?.dst)] : undefined)) },
  ipv6_label: { bits: 20, prereq: isIpv6, parse: u(20), get: (v) => nw(v, (k, m) => (k.ipv6 ? [big(k.ipv6.label), big(m.ipv6?.label)] : undefined)) },
  nw_proto: {
    bits: 8,
    prereq: isIp,
    parse: u(8),
    get: (v) => nw(v, (k, m) => (k.ipv4 ? [big(k.ipv4.proto), big(m.ipv4?.proto)] : k.ipv6 ? [big(k.ipv6.proto), big(m.ipv6?.proto)] : undefined)),
  },
  nw_tos: {
    bits: 8,
    prereq: isIp,
    parse: u(8),
    mask: 0xfcn,
    set: (x) => [x & 0xfcn, 0xfcn],
    get: (v) => nw(v, (k, m) => (k.ipv4 ? [big(k.ipv4.tos), big(m.ipv4?.tos)] : k.ipv6 ? [big(k.ipv6.tclass), big(m.ipv6?.tclass)] : undefined)),
  },
  ip_dscp: {
    bits: 6,
    prereq: isIp,
    parse: u(6),
    set: (x) => [x << 2n, 0xfcn],
    get: (v) => FIELDS.nw_tos.get(v),
  },
  nw_ecn: { bits: 2, prereq: isIp, parse: u(2), get: (v) => FIELDS.nw_tos.get(v) },
  nw_ttl: {
    bits: 8,
    prereq: isIp,
    parse: u(8),
    get: (v) => nw(v, (k, m) => (k.ipv4 ? [big(k.ipv4.ttl), big(m.ipv4?.ttl)] : k.ipv6 ? [big(k.ipv6.hlimit), big(m.ipv6?.hlimit)] : undefined)),
  },
  ip_frag: {
    bits: 2,
    prereq: isIp,
    parse: (s) => ({ no: 0n, yes: 1n, first: 1n, later: 3n, not_later: 0n })[s as 'no'] ?? `${s}: unknown fragment type`,
    get: (v) => nw(v, (k, m) => (k.ipv4 ? [fragBits(k.ipv4.frag), fragMaskBits(m.ipv4?.frag)] : k.ipv6 ? [fragBits(k.ipv6.frag), fragMaskBits(m.ipv6?.frag)] : undefined)),
  },
  arp_op: { bits: 16, prereq: isArp, parse: u(16), get: (v) => nw(v, (k, m) => (k.arp ? [big(k.arp.op) & 0xffn, big(m.arp?.op) & 0xffn] : undefined)) },
  arp_spa: { bits: 32, prereq: isArp, parse: parseIpv4, get: (v) => nw(v, (k, m) => (k.arp ? [ipv4Big(k.arp.sip), ipv4Big(m.arp?.sip)] : undefined)) },
  arp_tpa: { bits: 32, prereq: isArp, parse: parseIpv4, get: (v) => nw(v, (k, m) => (k.arp ? [ipv4Big(k.arp.tip), ipv4Big(m.arp?.tip)] : undefined)) },
  arp_sha: { bits: 48, prereq: isArp, parse: parseMac, get: (v) => nw(v, (k, m) => (k.arp ? [macBig(k.arp.sha), macBig(m.arp?.sha)] : undefined)) },
  arp_tha: { bits: 48, prereq: isArp, parse: parseMac, get: (v) => nw(v, (k, m) => (k.arp ? [macBig(k.arp.tha), macBig(m.arp?.tha)] : undefined)) },
  tcp_src: { bits: 16, prereq: l4(6), parse: u(16), get: (v) => tp(v, 'src') },
  tcp_dst: { bits: 16, prereq: l4(6), parse: u(16), get: (v) => tp(v, 'dst') },
  udp_src: { bits: 16, prereq: l4(17), parse: u(16), get: (v) => tp(v, 'src') },
  udp_dst: { bits: 16, prereq: l4(17), parse: u(16), get: (v) => tp(v, 'dst') },
  sctp_src: { bits: 16, prereq: l4(132), parse: u(16), get: (v) => tp(v, 'src') },
  sctp_dst: { bits: 16, prereq: l4(132), parse: u(16), get: (v) => tp(v, 'dst') },
  icmp_type: { bits: 8, prereq: (f) => isIpv4(f) && f.nwProto === 1, parse: u(8), get: (v) => tp(v, 'src') },
  icmp_code: { bits: 8, prereq: (f) => isIpv4(f) && f.nwProto === 1, parse: u(8), get: (v) => tp(v, 'dst') },
  icmpv6_type: { bits: 8, prereq: (f) => isIpv6(f) && f.nwProto === 58, parse: u(8), get: (v) => tp(v, 'src') },
  icmpv6_code: { bits: 8, prereq: (f) => isIpv6(f) && f.nwProto === 58, parse: u(8), get: (v) => tp(v, 'dst') },
  tcp_flags: { bits: 12, prereq: l4(6), parse: u(12), get: (v) => [big(v.inner.tcpFlags), big(v.innerMask.tcpFlags)] },
  pkt_mark: { bits: 32, parse: u(32), get: (v) => [big(v.key.skbMark), big(v.mask.skbMark)] },
  skb_priority: { bits: 32, parse: u(32), get: (v) => [big(v.key.priority), big(v.mask.priority)] },
  recirc_id: { bits: 32, parse: u(32), get: (v) => [big(v.key.recircId), big(v.mask.recircId)] },
  dp_hash: { bits: 32, parse: u(32), get: (v) => [big(v.key.dpHash), big(v.mask.dpHash)] },
  ct_state: { bits: 32, parse: ctStateField, get: (v) => [big(v.key.ctState), big(v.mask.ctState)] },
  ct_zone: { bits: 16, parse: u(16), get: (v) => [big(v.key.ctZone), big(v.mask.ctZone)] },
  ct_mark: { bits: 32, parse: u(32), get: (v) => [big(v.key.ctMark), big(v.mask.ctMark)] },
  ct_label: { bits: 128, parse: u(128), get: (v) => [v.key.ctLabels ?? 0n, v.mask.ctLabels ?? 0n] },
  tun_id: { bits: 64, parse: u(64), get: (v) => [v.key.tunnel?.id ?? 0n, v.mask.tunnel?.id ?? 0n] },
  tun_src: { bits: 32, parse: parseIpv4, get: (v) => [ipv4Big(v.key.tunnel?.ipv4Src), ipv4Big(v.mask.tunnel?.ipv4Src)] },
  tun_dst: { bits: 32, parse: parseIpv4, get: (v) => [ipv4Big(v.key.tunnel?.ipv4Dst), ipv4Big(v.mask.tunnel?.ipv4Dst)] },
};

function vlanTci(v: FlowView): Pair {
  const k = v.key.vlan;
  // odp_flow_key_to_mask: "A missing VLAN mask means exact match on vlan_tci 0 (== no VLAN)".
  if (!k) return [0n, 0xffffn];
  const tci = (x: { vid: number; pcp: number; cfi: number } | undefined): bigint => (x ? BigInt((x.pcp << 13) | (x.cfi << 12) | x.vid) : 0n);
  return [tci(k), tci(v.mask.vlan)];
}

/** OVS's other names for the same fields. */
const ALIASES: Record<string, string> = {
  dl_src: 'eth_src',
  dl_dst: 'eth_dst',
  dl_type: 'eth_type',
  nw_src: 'ip_src',
  nw_dst: 'ip_dst',
  ip_proto: 'nw_proto',
  ip_ecn: 'nw_ecn',
  ip_ttl: 'nw_ttl',
  nw_frag: 'ip_frag',
  tp_src: 'tcp_src',
  tp_dst: 'tcp_dst',
  vlan_pcp: 'dl_vlan_pcp',
  skb_mark: 'pkt_mark',
  tunnel_id: 'tun_id',
  icmpv4_type: 'icmp_type',
  icmpv4_code: 'icmp_code',
  ct_labels: 'ct_label',
};

/** ofp_parse_protocol's shorthands: dl_type, nw_proto. */
const PROTOCOLS: Record<string, [number, number]> = {
  ip: [0x0800, 0],
  ipv4: [0x0800, 0],
  ipv6: [0x86dd, 0],
  icmp: [0x0800, 1],
  icmp6: [0x86dd, 58],
  tcp: [0x0800, 6],
  tcp6: [0x86dd, 6],
  udp: [0x0800, 17],
  udp6: [0x86dd, 17],
  sctp: [0x0800, 132],
  sctp6: [0x86dd, 132],
  arp: [0x0806, 0],
  rarp: [0x8035, 0],
  mpls: [0x8847, 0],
  mplsm: [0x8848, 0],
};

interface Check {
  get: (v: FlowView) => Pair;
  value: bigint;
  mask: bigint;
}

export type FlowFilter = (key: FlowKey, mask: FlowKey) => boolean;

/** ofputil_parse_key_value: comma/space separated `key[=value]` pairs (value may be `key:value` or `key(value)`). */
function keyValues(s: string): [string, string][] {
  const out: [string, string][] = [];
  let i = 0;
  while (i < s.length) {
    while (i < s.length && /[\s,]/.test(s[i])) i++;
    if (i >= s.length) break;
    let j = i;
    while (j < s.length && !/[\s,=:(]/.test(s[j])) j++;
    const key = s.slice(i, j);
    let value = '';
    if (s[j] === '=' || s[j] === ':') {
      let k = j + 1;
      let depth = 0;
      while (k < s.length && (depth > 0 || !/[\s,]/.test(s[k]))) {
        if (s[k] === '(') depth++;
        else if (s[k] === ')') depth--;
        k++;
      }
      value = s.slice(j + 1, k);
      j = k;
    } else if (s[j] === '(') {
      let k = j + 1;
      let depth = 1;
      while (k < s.length && depth > 0) {
        if (s[k] === '(') depth++;
        else if (s[k] === ')') depth--;
        k++;
      }
      value = s.slice(j + 1, k - 1);
      j = k;
    }
    out.push([key, value]);
    i = j;
  }
  return out;
}

/** Compiles a filter; throws an Error with ovs-dpctl's text on a bad one. */
export function compileFilter(text: string, ports: ReadonlyMap<string, number>): FlowFilter {
  const checks: Check[] = [];
  const flow: FilterFlow = {};
  const setFields = new Set<string>();
  const fail = (why: string): never => {
    throw new Error(`${text}: ${why}`);
  };
  for (const [key, value] of keyValues(text)) {
    const proto = PROTOCOLS[key];
    if (proto) {
      if (flow.dlType !== undefined) fail('Ethernet type set multiple times');
      flow.dlType = proto[0];
      checks.push({ get: FIELDS.eth_type.get, value: BigInt(proto[0]), mask: 0xffffn });
      if (proto[1]) {
        if (flow.nwProto !== undefined) fail('network protocol set multiple times');
        flow.nwProto = proto[1];
        checks.push({ get: FIELDS.nw_proto.get, value: BigInt(proto[1]), mask: 0xffn });
      }
      continue;
    }
    const name = ALIASES[key] ?? key;
    const def = FIELDS[name];
    if (!def) fail(`unknown field ${key}`);
    if (def.prereq && !def.prereq(flow)) fail(`prerequisites not met for setting ${key}`);
    if (setFields.has(name)) fail(`field ${key} set multiple times`);
    setFields.add(name);
    if (value.includes('/')) fail(`bad value for ${key} (${value}: wildcards not allowed here)`);
    const parsed = def.parse(value, ports);
    if (typeof parsed === 'string') fail(`bad value for ${key} (${parsed})`);
    const v = parsed as bigint;
    const [fv, fm] = def.set ? def.set(v) : [v, def.mask ?? (1n << BigInt(def.bits)) - 1n];
    if (name === 'eth_type') flow.dlType = Number(v);
    if (name === 'nw_proto') flow.nwProto = Number(v);
    checks.push({ get: def.get, value: fv, mask: fm });
  }
  return (key, mask) => {
    const v = view(key, mask);
    for (const c of checks) {
      const [kv, km] = c.get(v);
      if ((kv & km & c.mask) !== (c.value & km & c.mask)) return false;
    }
    return true;
  };
}
