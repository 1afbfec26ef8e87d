// Whether a mask attribute is all-ones ("exact") or all-zero ("wildcard"),
// with the per-attribute exceptions of odp-util.c's odp_mask_is_constant__,
// and the all-wildcard mask OVS makes up for a key attribute without one.
import { MAC_ONES, MAC_ZERO, IPV4_ONES, IPV4_ZERO, IPV6_ONES, IPV6_ZERO } from '../ovs/addr.js';
import type { FlowKey } from '../ovs/keys.js';
import { U128_MAX } from '../ovs/packing.js';

type Obj = Record<string, unknown>;

const ONES32 = 0xffffffff;

/** True when every significant bit of mask attribute `name` is `ones ? 1 : 0`. */
export function maskIsConstant(name: string, m: unknown, ones: boolean): boolean {
  const o = m as Obj;
  const mac = ones ? MAC_ONES : MAC_ZERO;
  const v4 = ones ? IPV4_ONES : IPV4_ZERO;
  const v6 = ones ? IPV6_ONES : IPV6_ZERO;
  const all = (v: unknown, max: number): boolean => v === (ones ? max : 0);
  switch (name) {
    case 'priority':
    case 'inPort':
    case 'skbMark':
    case 'dpHash':
    case 'recircId':
    case 'ctState':
    case 'ctMark':
      return all(m, ONES32);
    case 'ctZone':
    case 'ethertype':
      return all(m, 0xffff);
    case 'tcpFlags':
      return ((m as number) & 0x0fff) === (ones ? 0x0fff : 0);
    case 'ctLabels':
      return m === (ones ? U128_MAX : 0n);
    case 'ethernet':
      return o.src === mac && o.dst === mac;
    case 'vlan':
      return all(o.vid, 0xfff) && all(o.pcp, 7) && all(o.cfi, 1);
    case 'ipv4':
      return o.src === v4 && o.dst === v4 && all(o.proto, 0xff) && all(o.tos, 0xff) && all(o.ttl, 0xff) && all(o.frag, 0xff);
    case 'ipv6':
      return o.src === v6 && o.dst === v6 && ((o.label as number) & 0xfffff) === (ones ? 0xfffff : 0) && all(o.proto, 0xff) && all(o.tclass, 0xff) && all(o.hlimit, 0xff) && all(o.frag, 0xff);
    case 'tcp':
    case 'udp':
    case 'sctp':
      return all(o.src, 0xffff) && all(o.dst, 0xffff);
    case 'icmp':
    case 'icmpv6':
      return all(o.type, 0xff) && all(o.code, 0xff);
    case 'arp':
      return o.sip === v4 && o.tip === v4 && all(o.op, 0xffff) && o.sha === mac && o.tha === mac;
    case 'nd':
      return o.target === v6 && o.sll === mac && o.tll === mac;
    case 'ndExtensions':
      // The struct's 3 padding bytes are zero, so it is never all ones.
      return !ones && o.reserved === 0 && o.optionsType === 0;
    case 'ctOrigTupleIpv4':
      return o.src === v4 && o.dst === v4 && all(o.srcPort, 0xffff) && all(o.dstPort, 0xffff) && all(o.proto, 0xff);
    case 'ctOrigTupleIpv6':
      return o.src === v6 && o.dst === v6 && all(o.srcPort, 0xffff) && all(o.dstPort, 0xffff) && all(o.proto, 0xff);
    case 'packetType':
      return all(o.ns, 0xffff) && all(o.id, 0xffff);
    case 'mpls':
      return (m as Obj[]).every((l) => all(l.label, 0xfffff) && all(l.tc, 7) && all(l.ttl, 0xff) && all(l.bos, 1));
    case 'tunnel':
    case 'nsh':
      // OVS tests the nested bytes, headers included: only an empty nest is constant.
      return Object.keys(o).every((k) => o[k] === undefined);
    default:
      // encap, and attributes OVS does not know (keyN, and 32).
      return false;
  }
}

function zeroOf(v: unknown): unknown {
  if (typeof v === 'number') return 0;
  if (typeof v === 'bigint') return 0n;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    // Six 2-digit groups cannot be IPv6 text (that needs eight, or "::").
    if (/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(v)) return MAC_ZERO;
    if (v.includes(':')) return IPV6_ZERO;
    return IPV4_ZERO;
  }
  if (v instanceof Uint8Array) return new Uint8Array(v.length);
  if (Array.isArray(v)) return v.map(zeroOf);
  if (v && typeof v === 'object') {
    const out: Obj = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = zeroOf(x);
    return out;
  }
  return v;
}

/**
 * generate_all_wildcard_mask: a mask of the key attribute's shape with all
 * bits zero. Flags inside nests stay present (a zero-length attribute has no
 * bits to clear), which is what OVS's byte-wise construction gives.
 */
export function wildcardMaskOf(keyValue: unknown): unknown {
  return zeroOf(keyValue);
}

/** The defined property names of a key, in order. */
export function fieldsOf(k: FlowKey | Obj): string[] {
  const o = k as Obj;
  return Object.keys(o).filter((n) => o[n] !== undefined);
}
