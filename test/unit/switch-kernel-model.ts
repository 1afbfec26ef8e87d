// The kernel's side of a megaflow, for the switch's property tests: how the
// openvswitch module reads a mask (flow_netlink.c ovs_nla_get_match: TCI
// exact unless a VLAN mask is given, EtherType and in_port exact when
// present, zero attributes ignored), which masks it refuses
// (match_validate and the VLAN checks), and which packets a megaflow then
// matches (key & mask over the sw_flow_key layout, where TCP/UDP ports and
// ICMP type share storage, and so do IPv4 and ARP addresses). The layout
// is the fallback datapath's copy of sw_flow_key (src/userspace/flat-key.ts).
import type { Action } from '../../src/ovs/actions.js';
import type { FlowKey, FlowMask } from '../../src/ovs/keys.js';
import { F, FLAT_WORDS, FlatKey, writeFlatFromKey } from '../../src/userspace/flat-key.js';
import { anyBits, isTagged } from '../../src/switch/mask.js';

export function kernelKey(key: FlowKey): Uint32Array {
  const k = new FlatKey();
  writeFlatFromKey(key, k);
  return k.words;
}

export function kernelMask(mask: FlowMask): Uint32Array {
  const m = new FlatKey();
  writeFlatFromKey(mask, m, true);
  // "Always match on tci": unless the mask gives the tag (with encap).
  const outer = mask.vlan !== undefined && mask.encap !== undefined && anyBits(mask.encap);
  if (!outer) m.u16(F.VLAN_TCI, 0xffff);
  const inner = outer && mask.encap!.vlan !== undefined && mask.encap!.encap !== undefined && anyBits(mask.encap!.encap);
  if (!inner) m.u16(F.CVLAN_TCI, 0xffff);
  if (m.getU16(F.ETH_TYPE)) m.u16(F.ETH_TYPE, 0xffff);
  return m.words;
}

export interface Megaflow {
  masked: Uint32Array;
  mask: Uint32Array;
  actions: Action[];
  key: FlowKey;
}

export function megaflow(key: FlowKey, mask: FlowMask, actions: Action[]): Megaflow {
  const k = kernelKey(key);
  const m = kernelMask(mask);
  return { masked: k.map((w, i) => w & m[i]), mask: m, actions, key };
}

export function megaflowMatches(f: Megaflow, packet: Uint32Array): boolean {
  for (let i = 0; i < FLAT_WORDS; i++) if ((packet[i] & f.mask[i]) !== f.masked[i]) return false;
  return true;
}

const L3 = ['ipv4', 'ipv6', 'arp', 'mpls', 'nsh'] as const;
const L4 = ['tcp', 'udp', 'sctp', 'icmp', 'icmpv6', 'tcpFlags'] as const;

/** Why the module would refuse this key and mask, or undefined when it accepts them. */
export function kernelRefusal(key: FlowKey, mask: FlowMask, depth = 0): string | undefined {
  for (const [name, v] of Object.entries(mask)) {
    if (!anyBits(v) || name === 'encap') continue;
    if (name === 'ethertype' && depth === 0) continue;
    if ((key as Record<string, unknown>)[name] === undefined && name !== 'ethertype') return `mask attribute ${name} not in the key`;
  }
  if (mask.vlan && anyBits(mask.vlan)) {
    if (!isTagged(key)) return 'VLAN mask for a key without a tag';
    if (!mask.encap || !anyBits(mask.encap)) return 'VLAN attribute unexpected (mask without encap)';
    if (mask.ethertype !== 0xffff) return 'TPID not exact';
    if (mask.vlan.cfi !== 1) return 'TCI mask without the present bit';
    return kernelRefusal(key.encap!, mask.encap, depth + 1);
  }
  if (mask.encap && anyBits(mask.encap)) return 'encap mask without a VLAN mask';
  const ethExact = mask.ethertype === 0xffff;
  for (const a of L3) if (mask[a] && anyBits(mask[a]) && !ethExact) return `${a} mask without an exact EtherType`;
  const ip = mask.ipv4 ?? mask.ipv6;
  for (const a of L4) {
    if (mask[a] === undefined || !anyBits(mask[a])) continue;
    if (!ethExact || !ip || ip.proto !== 0xff) return `${a} mask without an exact IP protocol`;
  }
  if (mask.nd && anyBits(mask.nd) && mask.icmpv6?.type !== 0xff) return 'ND mask without an exact ICMPv6 type';
  return undefined;
}
