// NAT for the fallback's connection tracker: the parts of netfilter's NAT
// core the openvswitch module's ct(nat) runs (nf_nat_core.c, nf_nat_proto.c;
// the module's side is ovs_ct_nat and parse_nat in net/openvswitch). Pure
// helpers: range parsing and checks, the choice of a translated tuple, and
// the rewriting of a packet's addresses, ports and checksums. The tracker
// (conntrack.ts) decides when they run and keeps the table.
import type { CtNat, RawAttr } from '../ovs/actions.js';
import { ipv4ToBytes, ipv6ToBytes } from '../ovs/addr.js';
import { be16, putBe16 } from '../packet/bytes.js';
import { csumReplace16, csumReplaceBytes, internetChecksum, pseudoSum6, sctpChecksum, udpCsumFixup, writeSctpChecksum } from '../packet/checksum.js';
import { IPPROTO_DCCP, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE } from '../packet/constants.js';
import { jhash2, reciprocalScale } from './jhash.js';

/** IPS_* status bits of NAT. */
export const IPS_SRC_NAT = 1 << 4;
export const IPS_DST_NAT = 1 << 5;
export const IPS_NAT_MASK = IPS_SRC_NAT | IPS_DST_NAT;
export const IPS_SRC_NAT_DONE = 1 << 7;
export const IPS_DST_NAT_DONE = 1 << 8;
export const IPS_NAT_DONE_MASK = IPS_SRC_NAT_DONE | IPS_DST_NAT_DONE;

/** enum nf_nat_manip_type. */
export const MANIP_SRC = 0;
export const MANIP_DST = 1;

// nf_nat_range2 flags.
export const RANGE_MAP_IPS = 1;
export const RANGE_PROTO_SPECIFIED = 2;
const RANGE_PROTO_RANDOM = 4;
const RANGE_PERSISTENT = 8;
const RANGE_PROTO_RANDOM_FULLY = 16;
const RANGE_PROTO_RANDOM_ALL = RANGE_PROTO_RANDOM | RANGE_PROTO_RANDOM_FULLY;

const OVS_NAT_ATTR_MAX = 9;

/**
 * A tuple as NAT works on it. `a` is the source half of the protocol part
 * (a port, or the ICMP id), `b` the destination half (a port, or ICMP type
 * << 8 | code), as the tracker keys them. Addresses are 4 or 16 bytes.
 */
export interface NatTuple {
  src: Uint8Array;
  dst: Uint8Array;
  a: number;
  b: number;
}

/** struct nf_nat_range2, for one address family. */
export interface NatRange {
  flags: number;
  min: Uint8Array;
  max: Uint8Array;
  minProto: number;
  maxProto: number;
}

/** What a ct() action's nat asks for (the module's info->nat and info->range). */
export interface NatRequest {
  /** MANIP_SRC or MANIP_DST for nat(src...) / nat(dst...); undefined for a bare `nat` (NAT existing connections only). */
  manip: number | undefined;
  range: NatRange;
}

const cache = new WeakMap<CtNat, [NatRequest | undefined, NatRequest | undefined]>();

/** The action's nat for a packet of this family, parsed once per action object. */
export function natRequestOf(n: CtNat, v6: boolean): NatRequest {
  let pair = cache.get(n);
  if (!pair) cache.set(n, (pair = [undefined, undefined]));
  const i = v6 ? 1 : 0;
  return (pair[i] ??= parseNat(n, v6));
}

function addr(s: string | undefined, v6: boolean): Uint8Array {
  if (s === undefined) return new Uint8Array(v6 ? 16 : 4);
  return v6 ? ipv6ToBytes(s) : ipv4ToBytes(s);
}

/** parse_nat() after its checks: a missing maximum is the minimum. */
function parseNat(n: CtNat, v6: boolean): NatRequest {
  let flags = 0;
  if (n.ipMin !== undefined || n.ipMax !== undefined) flags |= RANGE_MAP_IPS;
  if (n.protoMin !== undefined || n.protoMax !== undefined) flags |= RANGE_PROTO_SPECIFIED;
  if (n.persistent) flags |= RANGE_PERSISTENT;
  if (n.protoHash) flags |= RANGE_PROTO_RANDOM;
  if (n.protoRandom) flags |= RANGE_PROTO_RANDOM_FULLY;
  const min = addr(n.ipMin, v6);
  const max = n.ipMax !== undefined ? addr(n.ipMax, v6) : min;
  const minProto = n.protoMin ?? 0;
  return {
    manip: n.src ? MANIP_SRC : n.dst ? MANIP_DST : undefined,
    range: { flags, min, max, minProto, maxProto: n.protoMax ?? minProto },
  };
}

const isV6Text = (s: string): boolean => s.includes(':');

/** The one refusal of parse_nat() that is ERANGE, not EINVAL. */
export const NAT_ONE_TYPE = 'Only one type of NAT may be specified';

/**
 * parse_nat()'s refusals (with its messages), for a flow whose ct() works on
 * IPv6 packets or not, committing or not; undefined when the kernel takes it.
 */
export function refusedNat(n: CtNat, v6: boolean, commit: boolean): string | undefined {
  for (const x of n.extra ?? ([] as RawAttr[])) {
    if (x.type > OVS_NAT_ATTR_MAX) return `Unknown NAT attribute (type=${x.type}, max=${OVS_NAT_ATTR_MAX})`;
    if (x.data.length !== 0) return `NAT attribute type ${x.type} has unexpected length (${x.data.length} != 0)`;
    return `Unknown nat attribute (${x.type})`;
  }
  const want = v6 ? 16 : 4;
  for (const [type, ip] of [
    [3, n.ipMin],
    [4, n.ipMax],
  ] as const) {
    if (ip !== undefined && isV6Text(ip) !== v6) return `NAT attribute type ${type} has unexpected length (${v6 ? 4 : 16} != ${want})`;
  }
  if (n.src && n.dst) return NAT_ONE_TYPE;
  if (!n.src && !n.dst) {
    const flagged = n.ipMin !== undefined || n.ipMax !== undefined || n.protoMin !== undefined || n.protoMax !== undefined || n.persistent || n.protoHash || n.protoRandom;
    if (flagged) return 'NAT flags may be given only when NAT range (SRC or DST) is also specified.';
  } else if (!commit) {
    return 'NAT attributes may be specified only when CT COMMIT flag is also specified.';
  }
  return undefined;
}

// ---- Choosing the translated tuple (get_unique_tuple) ----------------------

/** Whether a tuple is in use: the tracker answers nf_nat_used_tuple() for the connection being set up. */
export type TupleTaken = (t: NatTuple) => boolean;

/** A connection already translated from the same source (find_appropriate_src), newest first. */
export type SourceMappings = () => Iterable<NatTuple>;

export const isIcmpProto = (proto: number): boolean => proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6;

/** Protocols whose tuple holds ports (nf_ct_get_tuple_ports). */
export const hasPorts = (proto: number): boolean =>
  proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === IPPROTO_SCTP || proto === IPPROTO_DCCP || proto === IPPROTO_UDPLITE;

function cmpBytes(x: Uint8Array, y: Uint8Array): number {
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
}

function sameBytes(x: Uint8Array, y: Uint8Array): boolean {
  return cmpBytes(x, y) === 0 && x.length === y.length;
}

export function sameNatTuple(x: NatTuple, y: NatTuple): boolean {
  return x.a === y.a && x.b === y.b && sameBytes(x.src, y.src) && sameBytes(x.dst, y.dst);
}

/** l4proto_in_range(). */
function protoInRange(t: NatTuple, proto: number, manip: number, min: number, max: number): boolean {
  if (isIcmpProto(proto)) return t.a >= min && t.a <= max;
  if (hasPorts(proto)) {
    const port = manip === MANIP_SRC ? t.a : t.b;
    return port >= min && port <= max;
  }
  return true;
}

/** nf_in_range(): the source address and port against the range. */
function inRange(t: NatTuple, proto: number, r: NatRange): boolean {
  if (r.flags & RANGE_MAP_IPS && (cmpBytes(t.src, r.min) < 0 || cmpBytes(t.src, r.max) > 0)) return false;
  if (!(r.flags & RANGE_PROTO_SPECIFIED)) return true;
  return protoInRange(t, proto, MANIP_SRC, r.minProto, r.maxProto);
}

/** Word i of an address as the kernel's u32 reads it on a little-endian host. */
const leWord = (b: Uint8Array, i: number): number => (b[4 * i] | (b[4 * i + 1] << 8) | (b[4 * i + 2] << 16) | (b[4 * i + 3] << 24)) >>> 0;

/** The address as union nf_inet_addr's four words (zero past IPv4's). */
function leWords(b: Uint8Array): Uint32Array {
  const w = new Uint32Array(4);
  for (let i = 0; 4 * i < b.length; i++) w[i] = leWord(b, i);
  return w;
}

const beWord = (b: Uint8Array, i: number): number => ((b[4 * i] << 24) | (b[4 * i + 1] << 16) | (b[4 * i + 2] << 8) | b[4 * i + 3]) >>> 0;

/**
 * find_best_ips_proto(): the address from the range, hashed from the
 * source (and the destination and zone, unless persistent) so that one
 * client keeps one address.
 */
function bestIp(t: NatTuple, r: NatRange, manip: number, zone: number): void {
  if (!(r.flags & RANGE_MAP_IPS)) return;
  const v = manip === MANIP_SRC ? t.src : t.dst;
  if (sameBytes(r.min, r.max)) {
    v.set(r.min);
    return;
  }
  const words = v.length >> 2;
  const max = words - 1;
  // The destination's words are read as the loop goes: for a destination NAT, a word just written is the one read.
  let j = jhash2(leWords(t.src), r.flags & RANGE_PERSISTENT ? 0 : (leWord(t.dst, max) ^ zone) >>> 0);
  let fullRange = false;
  for (let i = 0; i <= max; i++) {
    let minip: number;
    let dist: number;
    if (!fullRange) {
      minip = beWord(r.min, i);
      dist = (beWord(r.max, i) - minip + 1) >>> 0;
    } else {
      minip = 0;
      dist = 0xffffffff;
    }
    const word = (minip + reciprocalScale(j, dist)) >>> 0;
    v[4 * i] = word >>> 24;
    v[4 * i + 1] = (word >>> 16) & 0xff;
    v[4 * i + 2] = (word >>> 8) & 0xff;
    v[4 * i + 3] = word & 0xff;
    if (word !== beWord(r.max, i)) fullRange = true;
    if (!(r.flags & RANGE_PERSISTENT)) j = (j ^ leWord(t.dst, i)) >>> 0;
  }
}

/** nf_nat_l4proto_unique_tuple(): a free port (or ICMP id) in the range, from a random start; the last tried when none is. */
function uniqueProto(t: NatTuple, proto: number, r: NatRange, manip: number, taken: TupleTaken, random: () => number): void {
  let min: number;
  let size: number;
  const icmp = isIcmpProto(proto);
  if (!icmp && !hasPorts(proto)) return;
  const key = icmp || manip === MANIP_SRC ? 'a' : 'b';
  if (icmp) {
    if (!(r.flags & RANGE_PROTO_SPECIFIED)) {
      min = 0;
      size = 65536;
    } else {
      min = r.minProto;
      size = ((r.maxProto - r.minProto) & 0xffff) + 1;
    }
  } else if (!(r.flags & RANGE_PROTO_SPECIFIED)) {
    // Without a range, a destination's port stays; a source's stays in its class.
    if (manip === MANIP_DST) return;
    const port = t[key];
    if (port < 1024) {
      [min, size] = port < 512 ? [1, 511] : [600, 1023 - 600 + 1];
    } else {
      [min, size] = [1024, 65535 - 1024 + 1];
    }
  } else {
    let lo = r.minProto;
    let hi = r.maxProto;
    if (hi < lo) [lo, hi] = [hi, lo];
    min = lo;
    size = hi - lo + 1;
  }
  let off = r.flags & RANGE_PROTO_RANDOM_ALL || manip !== MANIP_DST ? random() & 0xffff : 0;
  let attempts = Math.min(size, 128);
  for (;;) {
    for (let i = 0; i < attempts; i++, off = (off + 1) & 0xffff) {
      t[key] = min + (off % size);
      if (!taken(t)) return;
    }
    attempts >>= 1;
    if (attempts < 64) return;
    off = random() & 0xffff;
  }
}

/**
 * get_unique_tuple(): the tuple a new connection's packets take after NAT
 * of `manip`, from `orig` (its original tuple, inverted reply).
 */
export function uniqueTuple(
  orig: NatTuple,
  proto: number,
  r: NatRange,
  manip: number,
  zone: number,
  taken: TupleTaken,
  bySource: SourceMappings,
  random: () => number = () => Math.floor(Math.random() * 0x10000),
): NatTuple {
  const copy = (x: NatTuple): NatTuple => ({ src: x.src.slice(), dst: x.dst.slice(), a: x.a, b: x.b });
  // 1) For a source NAT, the packet's own source if it is in range and free,
  //    or the mapping this source already has.
  if (manip === MANIP_SRC && !(r.flags & RANGE_PROTO_RANDOM_ALL)) {
    if (inRange(orig, proto, r)) {
      if (!taken(orig)) return copy(orig);
    } else {
      for (const m of bySource()) {
        const t: NatTuple = { src: m.src.slice(), dst: orig.dst.slice(), a: m.a, b: orig.b };
        if (inRange(t, proto, r)) {
          if (!taken(t)) return t;
          break;
        }
      }
    }
  }
  // 2) The address.
  const t = copy(orig);
  bestIp(t, r, manip, zone);
  // 3) The port, when it is not already in range and free.
  if (!(r.flags & RANGE_PROTO_RANDOM_ALL)) {
    if (r.flags & RANGE_PROTO_SPECIFIED) {
      if (protoInRange(t, proto, manip, r.minProto, r.maxProto) && (r.minProto === r.maxProto || !taken(t))) return t;
    } else if (!taken(t)) {
      return t;
    }
  }
  uniqueProto(t, proto, r, manip, taken, random);
  return t;
}

// ---- Rewriting packets (nf_nat_proto.c) ------------------------------------

/**
 * The IP packet to rewrite: b[l3 .. end) holds it (end: where its IP length
 * says it ends), its upper layer at l4.
 */
export interface IpView {
  b: Uint8Array;
  l3: number;
  l4: number;
  end: number;
  v6: boolean;
  proto: number;
}

/**
 * nf_nat_ipv4_manip_pkt / nf_nat_ipv6_manip_pkt: the source (or destination)
 * address and port of the packet become the target's, with the IP header's
 * and the upper layer's checksums updated.
 */
export function manipPacket(p: IpView, target: NatTuple, manip: number): void {
  const { b, l3, v6 } = p;
  const n = v6 ? 16 : 4;
  const addrOff = l3 + (v6 ? 8 : 12) + (manip === MANIP_SRC ? 0 : n);
  const newAddr = manip === MANIP_SRC ? target.src : target.dst;
  manipL4(p, target, manip, addrOff, newAddr);
  if (!v6) {
    let check = be16(b, l3 + 10);
    check = csumReplaceBytes(check, b, addrOff, newAddr, 0, 4);
    putBe16(b, l3 + 10, check);
  }
  b.set(newAddr, addrOff);
}

/** The upper layer's part: ports or ICMP id, and a checksum over the pseudo-header (l4proto_manip_pkt). */
function manipL4(p: IpView, t: NatTuple, manip: number, addrOff: number, newAddr: Uint8Array): void {
  const { b, l4, end, proto } = p;
  const n = newAddr.length;
  // Updates the checksum at `off` for the address change (pseudo-header).
  const addrCsum = (check: number): number => csumReplaceBytes(check, b, addrOff, newAddr, 0, n);
  switch (proto) {
    case IPPROTO_TCP:
    case IPPROTO_DCCP: {
      // Inside an ICMP error only 8 bytes are sure to be there: the ports
      // change, the checksum (beyond them) is left alone.
      const full = proto === IPPROTO_TCP ? 20 : 12;
      if (l4 + 8 > end) return;
      const portOff = l4 + (manip === MANIP_SRC ? 0 : 2);
      const old = be16(b, portOff);
      const nv = manip === MANIP_SRC ? t.a : t.b;
      putBe16(b, portOff, nv);
      if (l4 + full > end) return;
      const cOff = l4 + (proto === IPPROTO_TCP ? 16 : 6);
      putBe16(b, cOff, csumReplace16(addrCsum(be16(b, cOff)), old, nv));
      return;
    }
    case IPPROTO_UDP:
    case IPPROTO_UDPLITE: {
      if (l4 + 8 > end) return;
      const portOff = l4 + (manip === MANIP_SRC ? 0 : 2);
      const old = be16(b, portOff);
      const nv = manip === MANIP_SRC ? t.a : t.b;
      const oldCheck = be16(b, l4 + 6);
      // UDP-Lite always has a checksum; UDP's zero means none was sent.
      if (proto === IPPROTO_UDPLITE || oldCheck !== 0) {
        const c = csumReplace16(addrCsum(oldCheck), old, nv);
        putBe16(b, l4 + 6, proto === IPPROTO_UDP ? udpCsumFixup(oldCheck, c) : c === 0 ? 0xffff : c);
      }
      putBe16(b, portOff, nv);
      return;
    }
    case IPPROTO_SCTP: {
      if (l4 + 8 > end) return;
      putBe16(b, l4 + (manip === MANIP_SRC ? 0 : 2), manip === MANIP_SRC ? t.a : t.b);
      // sctp_manip_pkt recomputes the CRC32c over the whole packet.
      if (l4 + 12 > end) return;
      writeSctpChecksum(b, l4, sctpChecksum(b, l4, end - l4));
      return;
    }
    case IPPROTO_ICMP: {
      if (l4 + 8 > end) return;
      // Only messages with an id carry one (icmp_manip_pkt).
      if (!ICMP_WITH_ID.has(b[l4])) return;
      const old = be16(b, l4 + 4);
      putBe16(b, l4 + 2, csumReplace16(be16(b, l4 + 2), old, t.a));
      putBe16(b, l4 + 4, t.a);
      return;
    }
    case IPPROTO_ICMPV6: {
      if (l4 + 8 > end) return;
      let c = addrCsum(be16(b, l4 + 2));
      const type = b[l4];
      if (type === 128 || type === 129) {
        c = csumReplace16(c, be16(b, l4 + 4), t.a);
        putBe16(b, l4 + 4, t.a);
      }
      putBe16(b, l4 + 2, c);
      return;
    }
    default:
      return;
  }
}

const ICMP_WITH_ID = new Set([0, 8, 13, 14, 15, 16, 17, 18]);

/**
 * nf_nat_icmp_reply_translation / nf_nat_icmpv6_reply_translation: an ICMP
 * error about a translated connection. The packet it quotes is rewritten as
 * it was translated (`quoted`: the connection's tuple in the quoted packet's
 * direction), the outer header as the reply to the other end, and the ICMP
 * checksum computed again, when `statusBit` (the mapping that applies to the
 * error's direction) is in the connection's NAT status. False: the module
 * drops the packet.
 */
export function translateIcmpError(p: IpView, quoted: NatTuple, outerTarget: NatTuple, manip: number, natStatus: number, statusBit: number): boolean {
  const { b, l4, end, v6 } = p;
  if (l4 + 8 > end) return false;
  const type = b[l4];
  if (!v6 && type === 5) {
    // A redirect only for a connection NAT is done with and did not change.
    if ((natStatus & IPS_NAT_DONE_MASK) !== IPS_NAT_DONE_MASK) return false;
    if (natStatus & IPS_NAT_MASK) return false;
  }
  // Nothing to undo in this direction.
  if (!(natStatus & statusBit)) return true;
  // The quoted packet.
  const in3 = l4 + 8;
  let in4: number;
  let inProto: number;
  if (!v6) {
    if (in3 + 20 > end) return false;
    in4 = in3 + ((b[in3] & 15) << 2);
    inProto = b[in3 + 9];
  } else {
    if (in3 + 40 > end) return false;
    in4 = in3 + 40;
    inProto = b[in3 + 6];
  }
  manipPacket({ b, l3: in3, l4: in4, end, v6, proto: inProto }, quoted, manip === MANIP_SRC ? MANIP_DST : MANIP_SRC);
  // The outer header, with ICMP's own rules (no id on an error).
  manipPacket({ b, l3: p.l3, l4, end, v6, proto: v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP }, outerTarget, manip);
  putBe16(b, l4 + 2, 0);
  const len = end - l4;
  putBe16(b, l4 + 2, v6 ? internetChecksum(b, l4, len, pseudoSum6(b, p.l3, IPPROTO_ICMPV6, len)) : internetChecksum(b, l4, len));
  return true;
}

