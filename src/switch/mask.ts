// What the kernel needs of a megaflow mask beyond the bits a policy read.
//
// The openvswitch module (net/openvswitch/flow_netlink.c) checks a mask
// against its key: a mask attribute for L3 is allowed only with an exact
// EtherType, one for L4 (ports, ICMP, TCP flags) only with an exact IP
// protocol, ND only with an exact ICMPv6 type; a VLAN mask needs the TPID
// exact, the TCI's "present" bit and a non-empty encap(); a mask attribute
// the key lacks is refused. Some of those rules are also what keeps a
// megaflow from catching packets of another shape: a later fragment carries
// no ports, so a mask on ports without the fragment type would let it in.
//
// What the module forces by itself and needs no bits here: a mask's
// in_port and EtherType are exact whenever present, the TCI is exact unless
// the mask gives a VLAN mask (so an untagged megaflow never matches a tagged
// packet), and the L2/L3 packet type (mac_proto) is always exact.
import { IPV4_ZERO, IPV6_ZERO, MAC_ZERO } from '../ovs/addr.js';
import type { FlowKey, FlowMask } from '../ovs/keys.js';
import { wildcardMaskOf } from '../odp/mask-util.js';

export const ETH_P_IP = 0x0800;
export const ETH_P_IPV6 = 0x86dd;
const ETH_P_8021Q = 0x8100;
const ETH_P_8021AD = 0x88a8;
export const FRAG_LATER = 2;

export const isVlanEthertype = (t: number | undefined): boolean => t === ETH_P_8021Q || t === ETH_P_8021AD;

/** A key level that is a VLAN tag: its EtherType is the TPID and the rest is inside encap(). */
export const isTagged = (k: FlowKey): boolean => k.vlan !== undefined && isVlanEthertype(k.ethertype) && k.encap !== undefined;

// Attributes whose presence the EtherType decides, and those the IP
// protocol decides (with the fragment type: a later fragment has no L4).
const L3_ATTRS = ['ipv4', 'ipv6', 'arp', 'mpls', 'nsh', 'ctOrigTupleIpv4', 'ctOrigTupleIpv6', 'ipv6Exthdrs'] as const;
const L4_ATTRS = ['tcp', 'udp', 'sctp', 'icmp', 'icmpv6', 'tcpFlags', 'nd'] as const;

/** True when any bit of a mask value is set (numbers, bigints, address text, bytes, nests). */
export function anyBits(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'bigint') return v !== 0n;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') return v !== MAC_ZERO && v !== IPV4_ZERO && v !== IPV6_ZERO && /[1-9a-fA-F]/.test(v);
  if (v instanceof Uint8Array) return v.some((b) => b !== 0);
  if (Array.isArray(v)) return v.some(anyBits);
  if (typeof v === 'object') return Object.values(v as Record<string, unknown>).some(anyBits);
  return false;
}

export class MaskError extends Error {
  override readonly name = 'MaskError';
}

/**
 * The mask a megaflow for `key` needs so that the kernel accepts it and so
 * that it matches only packets of the key's shape, given the bits `mask`
 * says the decision read. Adds: in_port and recirc_id exact (as
 * ovs-vswitchd does: a megaflow never spans ports or recirculations);
 * EtherType exact under any L3 field; IP protocol and fragment type exact
 * under any L4 field; ICMPv6 type exact under ND; for a VLAN-tagged key the
 * TPID and inner EtherType exact and the TCI's present bit. Drops
 * attributes whose mask is all zero (the kernel ignores them anyway).
 * Throws MaskError when the mask reads an attribute the key does not have:
 * no megaflow can express that.
 */
export function completeMask(key: FlowKey, mask: FlowMask): FlowMask {
  const out = completeLevel(key, mask, 0);
  if (key.inPort !== undefined) out.inPort = 0xffffffff;
  if (key.recircId !== undefined) out.recircId = 0xffffffff;
  return ordered(key, out);
}

function completeLevel(key: FlowKey, mask: FlowMask, depth: number): FlowMask {
  const out: FlowMask = {};
  for (const [name, v] of Object.entries(mask)) {
    if (name === 'encap' || name === 'vlan' || !anyBits(v)) continue;
    if ((key as Record<string, unknown>)[name] === undefined) {
      // An absent EtherType is an 802.2 frame's; the kernel keys it, so it can be masked.
      if (name === 'ethertype') {
        out.ethertype = 0xffff;
        continue;
      }
      throw new MaskError(`the mask reads ${name}, which the flow key does not have`);
    }
    (out as Record<string, unknown>)[name] = v;
  }
  if (isTagged(key) && depth < 2) {
    // Masked or not, a tagged key's megaflow states the tag: otherwise the
    // kernel would keep the whole TCI exact and read a lone EtherType mask
    // as the inner one's. The inner EtherType keeps encap() non-empty,
    // which the kernel needs to accept the VLAN mask at all.
    const v = mask.vlan;
    out.ethertype = 0xffff;
    out.vlan = { vid: v?.vid ?? 0, pcp: v?.pcp ?? 0, cfi: 1 };
    const inner = completeLevel(key.encap!, mask.encap ?? {}, depth + 1);
    inner.ethertype = 0xffff;
    out.encap = ordered(key.encap!, inner);
    return out;
  }
  if (mask.vlan && anyBits(mask.vlan)) throw new MaskError('the mask reads a VLAN tag the flow key does not have');
  if (mask.encap && anyBits(mask.encap)) throw new MaskError('the mask reads encap() of a flow key without a VLAN tag');
  const needsL4 = L4_ATTRS.some((a) => out[a] !== undefined);
  if (needsL4) {
    const ip = key.ipv4 ? 'ipv4' : key.ipv6 ? 'ipv6' : undefined;
    if (!ip) throw new MaskError('the mask reads L4 fields of a flow key without IPv4 or IPv6');
    const m = (out[ip] ?? wildcardMaskOf(key[ip])) as { proto: number; frag: number };
    out[ip] = { ...m, proto: 0xff, frag: 0xff } as never;
  }
  if (out.nd !== undefined) {
    const m = out.icmpv6 ?? { type: 0, code: 0 };
    out.icmpv6 = { ...m, type: 0xff };
  }
  if (out.arp) {
    // The kernel keeps the ARP opcode in a byte (sw_flow_key's ip.proto) and
    // keys no packet with a larger one: the high byte's bits say nothing.
    out.arp = { ...out.arp, op: out.arp.op & 0xff };
    if (!anyBits(out.arp)) delete out.arp;
  }
  if (L3_ATTRS.some((a) => out[a] !== undefined)) out.ethertype = 0xffff;
  if (out.ethertype !== undefined) out.ethertype = 0xffff;
  return out;
}

/** The mask's attributes in the key's order (then any others), as OVS writes them. */
function ordered(key: FlowKey, m: FlowMask): FlowMask {
  const out: Record<string, unknown> = {};
  const src = m as Record<string, unknown>;
  for (const name of Object.keys(key)) if (src[name] !== undefined) out[name] = src[name];
  for (const name of Object.keys(src)) if (out[name] === undefined && src[name] !== undefined) out[name] = src[name];
  return out as FlowMask;
}
