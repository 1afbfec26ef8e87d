// Executing a flow's actions on one frame, with the kernel's semantics
// (net/openvswitch/actions.c): actions run in order on one packet; output
// and userspace see the packet as it is at that point (cut by a preceding
// trunc); sample, clone and check_pkt_len run nested lists on a copy; recirc
// is deferred until the current list ends; nesting stops at the kernel's
// recursion limit. Header rewrites keep IP and transport checksums right by
// incremental update. Where the packet goes is the caller's (ActionSink).
import type { Action, SetAction, SetMaskedAction, UserspaceAction } from '../ovs/actions.js';
import { ipv4ToU32, macIntoBytes, ipv6IntoBytes } from '../ovs/addr.js';
import type { FlowKey } from '../ovs/keys.js';
import { be16, be32, putBe16, putBe32 } from '../packet/bytes.js';
import { adjustChecksum16, adjustChecksum32, adjustChecksumBytes } from '../packet/checksum.js';
import { ETH_P_IP, ETH_P_IPV6, IPPROTO_TCP, IPPROTO_UDP, VLAN_CFI_MASK } from '../packet/constants.js';
import { isVlanTpid } from '../packet/ethernet.js';
import { parsePacket } from '../packet/parse.js';
import { Layer, ParsedPacket } from '../packet/result.js';
import type { PacketMeta } from './extract.js';

/** The kernel's OVS_RECURSION_LIMIT: nested lists and recirculations deeper than this drop the packet. */
export const RECURSION_LIMIT = 5;

/** Where executed packets go. */
export interface ActionSink {
  output(port: number, frame: Uint8Array): void;
  /** An ACTION upcall; `origLen` is set when a trunc cut the packet. */
  userspace(frame: Uint8Array, meta: PacketMeta, action: UserspaceAction, origLen?: number): void;
  /** Runs the packet through the table again with the new metadata. */
  recirculate(frame: Uint8Array, meta: PacketMeta, depth: number): void;
}

export interface ExecStats {
  /** Packets dropped for nesting too deep. */
  recursionDrops: number;
}

interface Packet {
  frame: Uint8Array;
  meta: PacketMeta;
  /** Length an output/userspace sends (trunc), 0: all. */
  cut: number;
}

const scratch = new ParsedPacket();

/** Runs `actions` on `frame` (modified in place). */
export function executeActions(sink: ActionSink, frame: Uint8Array, meta: PacketMeta, actions: readonly Action[], depth = 0, stats?: ExecStats): void {
  if (depth > RECURSION_LIMIT) {
    if (stats) stats.recursionDrops++;
    return;
  }
  const deferred: Packet[] = [];
  run(sink, { frame, meta: { ...meta }, cut: 0 }, actions, depth, deferred, stats);
  for (const p of deferred) sink.recirculate(p.frame, p.meta, depth + 1);
}

function copy(p: Packet): Packet {
  return { frame: p.frame.slice(), meta: { ...p.meta }, cut: p.cut };
}

function run(sink: ActionSink, p: Packet, actions: readonly Action[], depth: number, deferred: Packet[], stats?: ExecStats): void {
  for (let i = 0; i < actions.length; i++) {
    const a = actions[i];
    const last = i === actions.length - 1;
    switch (a.type) {
      case 'output': {
        const f = p.cut && p.cut < p.frame.length ? p.frame.slice(0, p.cut) : last ? p.frame : p.frame.slice();
        sink.output(a.port, f);
        break;
      }
      case 'userspace': {
        const cut = p.cut && p.cut < p.frame.length;
        sink.userspace(cut ? p.frame.slice(0, p.cut) : p.frame.slice(), { ...p.meta }, a, cut ? p.frame.length : undefined);
        break;
      }
      case 'trunc':
        p.cut = a.maxLen;
        break;
      case 'set':
        setKey(p, a.key, undefined);
        break;
      case 'setMasked':
        setKey(p, a.key, a.mask);
        break;
      case 'pushVlan':
        p.frame = pushVlan(p.frame, a.tpid, ((a.pcp & 7) << 13) | (a.vid & 0xfff) | (a.cfi ? VLAN_CFI_MASK : 0));
        break;
      case 'popVlan':
        p.frame = popVlan(p.frame);
        break;
      case 'recirc': {
        const q = last ? p : copy(p);
        q.meta.recircId = a.id;
        q.cut = 0;
        deferred.push(q);
        break;
      }
      case 'hash':
        p.meta.dpHash = flowHash(p.frame, a.basis) || 1;
        break;
      case 'sample':
        if (a.probability !== 0xffffffff && (a.probability === 0 || Math.random() * 0x100000000 > a.probability)) break;
        nested(sink, last ? p : copy(p), a.actions, depth, stats);
        break;
      case 'clone':
        nested(sink, last ? p : copy(p), a.actions, depth, stats);
        break;
      case 'checkPktLen':
        nested(sink, last ? p : copy(p), p.frame.length > a.pktLen ? a.gt : a.le, depth, stats);
        break;
      case 'decTtl':
        if (!decTtl(p.frame)) {
          nested(sink, p, a.actions, depth, stats);
          return;
        }
        break;
      case 'drop':
        return;
      default:
        // meter, ct, MPLS, NSH, tunnels: refused when the flow is installed
        // (served-families.ts); reaching here means execute got one: skip it.
        break;
    }
  }
}

function nested(sink: ActionSink, p: Packet, actions: readonly Action[], depth: number, stats?: ExecStats): void {
  if (depth + 1 > RECURSION_LIMIT) {
    if (stats) stats.recursionDrops++;
    return;
  }
  const deferred: Packet[] = [];
  run(sink, p, actions, depth + 1, deferred, stats);
  for (const q of deferred) sink.recirculate(q.frame, q.meta, depth + 2);
}

/** The action types this file implements; flows with others are refused. */
export const SUPPORTED_ACTIONS: ReadonlySet<Action['type']> = new Set([
  'output',
  'userspace',
  'trunc',
  'set',
  'setMasked',
  'pushVlan',
  'popVlan',
  'recirc',
  'hash',
  'sample',
  'clone',
  'checkPktLen',
  'decTtl',
  'drop',
]);

/** Set keys this file can write. */
const SETTABLE: ReadonlySet<string> = new Set(['ethernet', 'ipv4', 'ipv6', 'tcp', 'udp', 'priority', 'skbMark']);

/** The first action (searched through nested lists) the fallback cannot run, or undefined. */
export function unsupportedAction(actions: readonly Action[]): string | undefined {
  for (const a of actions) {
    if (!SUPPORTED_ACTIONS.has(a.type)) return a.type;
    if (a.type === 'set' || a.type === 'setMasked') {
      for (const k of Object.keys(a.key)) if (!SETTABLE.has(k)) return `set(${k})`;
    }
    const inner = a.type === 'sample' || a.type === 'clone' || a.type === 'decTtl' ? a.actions : a.type === 'checkPktLen' ? [...a.gt, ...a.le] : undefined;
    if (inner) {
      const u = unsupportedAction(inner);
      if (u) return u;
    }
  }
  return undefined;
}

// ---- header rewrites ------------------------------------------------------

/** value under mask: new = (old & ~mask) | (value & mask). */
const m32 = (old: number, v: number, m: number | undefined): number => (m === undefined ? v : ((old & ~m) | (v & m))) >>> 0;

function setKey(p: Packet, key: FlowKey, mask: FlowKey | undefined): void {
  if (key.priority !== undefined) p.meta.priority = m32(p.meta.priority ?? 0, key.priority, mask?.priority);
  if (key.skbMark !== undefined) p.meta.skbMark = m32(p.meta.skbMark ?? 0, key.skbMark, mask?.skbMark);
  const b = p.frame;
  if (key.ethernet) {
    setBytes(b, 0, mac(key.ethernet.dst), mask?.ethernet ? mac(mask.ethernet.dst) : undefined);
    setBytes(b, 6, mac(key.ethernet.src), mask?.ethernet ? mac(mask.ethernet.src) : undefined);
  }
  if (!key.ipv4 && !key.ipv6 && !key.tcp && !key.udp) return;
  const pp = parsePacket(b, b.length, scratch);
  if (key.ipv4 && pp.ethType === ETH_P_IP && pp.has(Layer.IPV4)) setIpv4(pp, key, mask);
  if (key.ipv6 && pp.ethType === ETH_P_IPV6 && pp.has(Layer.IPV6)) setIpv6(pp, key, mask);
  const ports = key.tcp ?? key.udp;
  const pm = mask?.tcp ?? mask?.udp;
  if (ports && pp.l4HdrLen > 0 && ((key.tcp && pp.ipProto === IPPROTO_TCP) || (key.udp && pp.ipProto === IPPROTO_UDP))) {
    const udp = pp.ipProto === IPPROTO_UDP;
    const csum = pp.l4 + (udp ? 6 : 16);
    for (const [off, v, m] of [
      [pp.l4, ports.src, pm?.src],
      [pp.l4 + 2, ports.dst, pm?.dst],
    ] as const) {
      const old = be16(b, off);
      const nv = m === undefined ? v : (old & ~m) | (v & m);
      if (nv === old) continue;
      adjustChecksum16(b, csum, old, nv & 0xffff, udp);
      putBe16(b, off, nv);
    }
  }
}

function l4Csum(pp: ParsedPacket): { off: number; udp: boolean } | undefined {
  if (pp.l4HdrLen === 0) return undefined;
  if (pp.ipProto === IPPROTO_TCP) return { off: pp.l4 + 16, udp: false };
  if (pp.ipProto === IPPROTO_UDP) return { off: pp.l4 + 6, udp: true };
  return undefined;
}

function setIpv4(pp: ParsedPacket, key: FlowKey, mask: FlowKey | undefined): void {
  const b = pp.buf;
  const l3 = pp.l3;
  const k = key.ipv4!;
  const m = mask?.ipv4;
  const l4 = l4Csum(pp);
  for (const [off, v, mv] of [
    [l3 + 12, ipv4ToU32(k.src), m ? ipv4ToU32(m.src) : undefined],
    [l3 + 16, ipv4ToU32(k.dst), m ? ipv4ToU32(m.dst) : undefined],
  ] as const) {
    const old = be32(b, off);
    const nv = m32(old, v, mv);
    if (nv === old) continue;
    adjustChecksum32(b, l3 + 10, old, nv);
    if (l4) adjustChecksum32(b, l4.off, old, nv, l4.udp);
    putBe32(b, off, nv);
  }
  // TOS and TTL share their 16-bit words with IHL and protocol.
  const tos = m ? (b[l3 + 1] & ~m.tos) | (k.tos & m.tos) : k.tos;
  const ttl = m ? (b[l3 + 8] & ~m.ttl) | (k.ttl & m.ttl) : k.ttl;
  setByteInWord(b, l3, l3 + 1, tos & 0xff, l3 + 10);
  setByteInWord(b, l3 + 8, l3 + 8, ttl & 0xff, l3 + 10);
}

function setByteInWord(b: Uint8Array, wordOff: number, byteOff: number, v: number, csumOff: number): void {
  if (b[byteOff] === v) return;
  const old = be16(b, wordOff);
  b[byteOff] = v;
  adjustChecksum16(b, csumOff, old, be16(b, wordOff));
}

function setIpv6(pp: ParsedPacket, key: FlowKey, mask: FlowKey | undefined): void {
  const b = pp.buf;
  const l3 = pp.l3;
  const k = key.ipv6!;
  const m = mask?.ipv6;
  const l4 = l4Csum(pp);
  for (const [off, v, mv] of [
    [l3 + 8, k.src, m?.src],
    [l3 + 24, k.dst, m?.dst],
  ] as const) {
    const want = new Uint8Array(16);
    ipv6IntoBytes(v, want);
    const old = b.slice(off, off + 16);
    if (mv !== undefined) {
      const mb = new Uint8Array(16);
      ipv6IntoBytes(mv, mb);
      for (let i = 0; i < 16; i++) want[i] = (old[i] & ~mb[i]) | (want[i] & mb[i]);
    }
    if (l4) adjustChecksumBytes(b, l4.off, old, 0, want, 0, 16, l4.udp);
    b.set(want, off);
  }
  const tc = m ? (pp.ipTos & ~m.tclass) | (k.tclass & m.tclass) : k.tclass;
  const label = m ? (pp.ipv6Label & ~m.label) | (k.label & m.label) : k.label;
  putBe32(b, l3, (6 << 28) | ((tc & 0xff) << 20) | (label & 0xfffff));
  b[l3 + 7] = m ? (b[l3 + 7] & ~m.hlimit) | (k.hlimit & m.hlimit) : k.hlimit;
}

function mac(s: string): Uint8Array {
  const out = new Uint8Array(6);
  macIntoBytes(s, out);
  return out;
}

function setBytes(b: Uint8Array, off: number, v: Uint8Array, m: Uint8Array | undefined): void {
  for (let i = 0; i < v.length; i++) b[off + i] = m ? (b[off + i] & ~m[i]) | (v[i] & m[i]) : v[i];
}

// ---- VLAN, TTL, hash ------------------------------------------------------

function pushVlan(f: Uint8Array, tpid: number, tci: number): Uint8Array {
  if (f.length < 12) return f;
  const out = new Uint8Array(f.length + 4);
  out.set(f.subarray(0, 12));
  putBe16(out, 12, tpid);
  // On the wire the CFI/DEI bit is the frame's, not the key's "present" bit.
  putBe16(out, 14, tci & ~VLAN_CFI_MASK);
  out.set(f.subarray(12), 16);
  return out;
}

function popVlan(f: Uint8Array): Uint8Array {
  if (f.length < 18 || !isVlanTpid(be16(f, 12))) return f;
  const out = new Uint8Array(f.length - 4);
  out.set(f.subarray(0, 12));
  out.set(f.subarray(16), 12);
  return out;
}

/** Decrements the IP TTL; false when it was already 1 or less (the nested actions run instead). */
function decTtl(f: Uint8Array): boolean {
  const pp = parsePacket(f, f.length, scratch);
  if (pp.ethType === ETH_P_IP && pp.has(Layer.IPV4)) {
    const ttl = f[pp.l3 + 8];
    if (ttl <= 1) return false;
    setByteInWord(f, pp.l3 + 8, pp.l3 + 8, ttl - 1, pp.l3 + 10);
    return true;
  }
  if (pp.ethType === ETH_P_IPV6 && pp.has(Layer.IPV6)) {
    const h = f[pp.l3 + 7];
    if (h <= 1) return false;
    f[pp.l3 + 7] = h - 1;
  }
  return true;
}

/** A 5-tuple hash standing in for skb_get_hash(), mixed with the action's basis. */
function flowHash(f: Uint8Array, basis: number): number {
  const pp = parsePacket(f, f.length, scratch);
  let h = basis >>> 0;
  const mixIn = (w: number) => {
    h = Math.imul(h ^ w, 0x5bd1e995) >>> 0;
    h ^= h >>> 13;
  };
  if (pp.has(Layer.IPV4)) {
    mixIn(pp.ipv4Src());
    mixIn(pp.ipv4Dst());
  } else if (pp.has(Layer.IPV6)) {
    for (let i = 8; i < 40; i += 4) mixIn(be32(f, pp.l3 + i));
  }
  mixIn(pp.ipProto);
  mixIn((pp.tpSrc << 16) | pp.tpDst);
  return h >>> 0;
}
