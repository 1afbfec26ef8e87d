// The connection tuples `flush-conntrack` takes ("ct_nw_src=10.1.1.1,
// ct_nw_dst=10.1.1.2,ct_nw_proto=17,ct_tp_src=1,ct_tp_dst=2"), parsed and
// matched as OVS 3.1's ofp_ct_tuple_parse and ct_dpif_entry_cmp do: fields
// left out match anything, ICMP id, type and code always compare.
import { ipv4ToU32OrNeg, ipv6FromBytes, ipv6IntoBytes } from '../ovs/addr.js';
import { AF_INET, AF_INET6, IPPROTO_ICMP, IPPROTO_ICMPV6 } from './constants.js';
import type { CtEntry, CtTuple } from './entry.js';

/** One side of a match; an address left undefined matches any. Ports 0 match any. */
export interface CtTupleMatch {
  src?: string;
  dst?: string;
  srcPort: number;
  dstPort: number;
  icmpId: number;
  icmpType: number;
  icmpCode: number;
}

export interface CtMatch {
  /** AF_INET or AF_INET6 once an address was given; 0 otherwise. */
  family: number;
  /** ct_nw_proto, 0 when not given. */
  proto: number;
  orig: CtTupleMatch;
  reply: CtTupleMatch;
}

/** A tuple argument OVS would refuse; the message is OVS's. */
export class CtTupleError extends Error {
  override readonly name = 'CtTupleError';
}

const emptyTuple = (): CtTupleMatch => ({ srcPort: 0, dstPort: 0, icmpId: 0, icmpType: 0, icmpCode: 0 });

export const emptyCtMatch = (): CtMatch => ({ family: 0, proto: 0, orig: emptyTuple(), reply: emptyTuple() });

/** strtol(s, &end, 0) over the whole string: decimal, 0x hex, 0 octal, optional sign. */
function strToInt(s: string): number | undefined {
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return undefined;
  const body = m[2];
  const v = /^0[xX]/.test(body) ? parseInt(body.slice(2), 16) : body.length > 1 && body[0] === '0' ? parseInt(body, 8) : parseInt(body, 10);
  return m[1] === '-' ? -v : v;
}

const isIcmp = (proto: number): boolean => proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6;

/** Splits "k=v,k2=v2 k3" into pairs as ofputil_parse_key_value does (a key without a value gets ""). */
export function splitKeyValues(s: string): [string, string][] {
  const out: [string, string][] = [];
  let i = 0;
  while (i < s.length) {
    while (i < s.length && ', \t\r\n'.includes(s[i])) i++;
    if (i >= s.length) break;
    let j = i;
    while (j < s.length && !':=(, \t\r\n'.includes(s[j])) j++;
    const key = s.slice(i, j);
    const delim = s[j];
    i = j + (j < s.length ? 1 : 0);
    if (delim !== ':' && delim !== '=' && delim !== '(') {
      out.push([key, '']);
      continue;
    }
    const ends = delim === '(' ? ')' : ', \t\r\n';
    let k = i;
    while (k < s.length && !ends.includes(s[k])) {
      if (s[k] === '(') {
        let level = 0;
        do {
          if (s[k] === '(') level++;
          else if (s[k] === ')') level--;
          k++;
        } while (level > 0 && k < s.length);
      } else k++;
    }
    out.push([key, s.slice(i, k)]);
    i = k + (k < s.length ? 1 : 0);
  }
  return out;
}

/**
 * Parses one tuple argument into `match` (side 'orig' or 'reply'); throws
 * CtTupleError with OVS's message ("field X missing value", "failed to parse
 * field ct_nw_src", "invalid conntrack tuple field: X", ...).
 */
export function parseCtTuple(text: string, match: CtMatch, side: 'orig' | 'reply'): void {
  const t = match[side];
  for (const [key, value] of splitKeyValues(text)) {
    if (!value) throw new CtTupleError(`field ${key} missing value`);
    const bad = (): CtTupleError => new CtTupleError(`failed to parse field ${key}`);
    if (key === 'ct_nw_src' || key === 'ct_nw_dst') {
      if (match.family && match.family !== AF_INET) throw new CtTupleError(`the L3 protocol does not match ${value}`);
      const which = key === 'ct_nw_src' ? 'src' : 'dst';
      if (t[which] !== undefined) throw new CtTupleError(`${key} is set multiple times`);
      const v = ipv4ToU32OrNeg(value);
      // inet_pton: four decimal parts, no leading zeros.
      if (v < 0 || !/^(0|[1-9]\d{0,2})(\.(0|[1-9]\d{0,2})){3}$/.test(value)) throw bad();
      match.family = AF_INET;
      t[which] = `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
    } else if (key === 'ct_ipv6_src' || key === 'ct_ipv6_dst') {
      if (match.family && match.family !== AF_INET6) throw new CtTupleError(`the L3 protocol does not match ${value}`);
      const which = key === 'ct_ipv6_src' ? 'src' : 'dst';
      if (t[which] !== undefined) throw new CtTupleError(`${key} is set multiple times`);
      const b = new Uint8Array(16);
      if (!ipv6IntoBytes(value, b)) throw bad();
      match.family = AF_INET6;
      // "::" is indistinguishable from "not given" in OVS's in6_addr.
      if (b.some((x) => x !== 0)) t[which] = ipv6FromBytes(b);
    } else if (key === 'ct_nw_proto') {
      const v = strToInt(value);
      if (v === undefined || v < 0 || v > 255) throw bad();
      match.proto = v;
    } else if (key === 'ct_tp_src' || key === 'ct_tp_dst') {
      const v = strToInt(value);
      if (v === undefined || v < 0 || v > 65535) throw bad();
      if (key === 'ct_tp_src') t.srcPort = v;
      else t.dstPort = v;
    } else if (key === 'icmp_type' || key === 'icmp_code' || key === 'icmp_id') {
      if (!isIcmp(match.proto)) throw new CtTupleError('invalid L4 fields');
      const v = strToInt(value);
      const max = key === 'icmp_id' ? 65535 : 255;
      if (v === undefined || v < 0 || v > max) throw bad();
      if (key === 'icmp_type') t.icmpType = v;
      else if (key === 'icmp_code') t.icmpCode = v;
      else t.icmpId = v;
    } else {
      throw new CtTupleError(`invalid conntrack tuple field: ${key}`);
    }
  }
  if (!match.proto && (t.srcPort || t.dstPort)) throw new CtTupleError('port is set without protocol');
}

export function isZeroTuple(t: CtTupleMatch, proto: number): boolean {
  const addrs = t.src === undefined && t.dst === undefined;
  return isIcmp(proto) ? addrs : addrs && !t.srcPort && !t.dstPort;
}

export function isFiveTuple(t: CtTupleMatch, proto: number): boolean {
  const addrs = t.src !== undefined && t.dst !== undefined;
  return isIcmp(proto) ? addrs : addrs && t.srcPort !== 0 && t.dstPort !== 0;
}

export function isZeroMatch(m: CtMatch): boolean {
  return !m.proto && !m.family && isZeroTuple(m.orig, m.proto) && isZeroTuple(m.reply, m.proto);
}

/** The exact tuple a five-tuple match names (for a direct delete). */
export function tupleOfMatch(m: CtMatch, side: 'orig' | 'reply' = 'orig'): CtTuple {
  const t = m[side];
  const zero = m.family === AF_INET6 ? '::' : '0.0.0.0';
  const out: CtTuple = { family: m.family, src: t.src ?? zero, dst: t.dst ?? zero, proto: m.proto, srcPort: t.srcPort, dstPort: t.dstPort };
  if (isIcmp(m.proto)) {
    delete out.srcPort;
    delete out.dstPort;
    out.icmpId = t.icmpId;
    out.icmpType = t.icmpType;
    out.icmpCode = t.icmpCode;
  }
  return out;
}

function tupleMatches(t: CtTuple, p: CtTupleMatch, family: number, proto: number): boolean {
  // OVS compares addresses in the match's family (an address given makes it non-zero).
  if (p.src !== undefined && family && t.src !== p.src) return false;
  if (p.dst !== undefined && family && t.dst !== p.dst) return false;
  if (isIcmp(proto)) return (t.icmpId ?? 0) === p.icmpId && (t.icmpType ?? 0) === p.icmpType && (t.icmpCode ?? 0) === p.icmpCode;
  if (p.srcPort && p.srcPort !== (t.srcPort ?? 0)) return false;
  if (p.dstPort && p.dstPort !== (t.dstPort ?? 0)) return false;
  return true;
}

/** ct_dpif_entry_cmp: every field given in `m` equals the entry's. */
export function ctEntryMatches(e: CtEntry, m: CtMatch): boolean {
  if (m.family && m.family !== e.orig.family) return false;
  if (m.proto && m.proto !== e.orig.proto) return false;
  return tupleMatches(e.orig, m.orig, m.family, m.proto) && tupleMatches(e.reply, m.reply, m.family, m.proto);
}
