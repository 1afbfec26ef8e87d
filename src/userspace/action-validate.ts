// The module's checks of a flow's actions against the flow they belong to
// (validate_and_copy_actions and validate_set in flow_netlink.c), so that the
// fallback refuses with EINVAL what the kernel refuses: a push_vlan without
// the CFI bit or with a TPID that is not a VLAN ethertype, a push_mpls to a
// non-MPLS ethertype or over a VLAN tag, a pop_mpls of a packet that is not
// MPLS, a set of a header the flow does not match (set(tcp()) on a UDP flow,
// set(ipv4()) after push_mpls) or of a field that cannot be written (the IP
// protocol and fragment bits). Like the module, the checks run against the
// flow's masked key, following the ethertype and VLAN tag the actions push
// and pop, into nested action lists with a copy of that state.
import type { Action, CtAction } from '../ovs/actions.js';
import type { FlowKey, NshKey } from '../ovs/keys.js';
import { ETH_P_ARP, ETH_P_IP, ETH_P_IPV6, ETH_P_MPLS_MC, ETH_P_MPLS_UC, ETH_P_NSH, ETH_P_RARP, ETH_TYPE_NONE, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, NSH_M_TYPE1, NSH_M_TYPE2, TUN_P_ETHERNET } from '../packet/constants.js';
import { nshInnerType, nshNextProto, nshNextProtoOf } from '../packet/nsh.js';
import { Layer, type ParsedPacket } from '../packet/result.js';
import { isVlanTpid } from '../packet/ethernet.js';
import { NAT_ONE_TYPE, refusedNat } from './conntrack-nat.js';
import { CT_HELPERS, isCtHelper } from './conntrack.js';

const isMpls = (t: number): boolean => t === ETH_P_MPLS_UC || t === ETH_P_MPLS_MC;

/** What the checks read of the flow, and what the actions change as they go. */
export interface FlowState {
  ethType: number;
  /** The packet carries a VLAN tag here (CFI bit of the tracked TCI). */
  tagged: boolean;
  /** The flow's masked IP protocol and fragment type (not changed by actions). */
  proto: number;
  frag: number;
  /** The flow key's network-layer EtherType (inside VLAN tags): what ct() takes its family from. */
  l3Type: number;
  /** The packet has an Ethernet header here (mac_proto); nested lists start again from the key's. */
  eth: boolean;
  /** Whether the flow's key has an Ethernet header (ovs_key_mac_proto). */
  keyEth: boolean;
  /** The key's NSH next protocol (pop_nsh reads it, unmasked), 0 without NSH. */
  nshNp: number;
}

/** The state the module starts from: the flow's key under its mask (an absent mask: exact). */
export function flowState(key: FlowKey, mask: FlowKey | undefined): FlowState {
  const tagged = !!key.vlan && !!key.vlan.cfi && (mask === undefined || !!mask.vlan?.cfi);
  let inner: FlowKey = key;
  while (inner.vlan && inner.encap) inner = inner.encap;
  // The module makes eth_type exact in every mask (N5 in
  // test/kernel/ovs-flow-keys.test.ts); its key's eth.type is the one inside
  // the tags, which the checks start from.
  const l3Type = inner.ethertype ?? 0;
  const ethType = l3Type;
  const l3 = inner.ipv4 ?? inner.ipv6;
  let innerMask: FlowKey | undefined = mask;
  while (innerMask?.vlan && innerMask.encap) innerMask = innerMask.encap;
  const l3m = mask === undefined ? { proto: 0xff, frag: 0xff } : (innerMask?.ipv4 ?? innerMask?.ipv6);
  const eth = key.ethernet !== undefined;
  const nshNp = inner.nsh?.base?.np ?? 0;
  return { ethType, tagged, proto: l3 && l3m ? l3.proto & l3m.proto : 0, frag: l3 && l3m ? l3.frag & l3m.frag : 0, l3Type, eth, keyEth: eth, nshNp };
}

/**
 * flowState(extractKey(p, meta), undefined), read off the parsed packet
 * without building the key: a packet execute checks its actions against
 * it, once per packet. It follows extractKey's levels exactly: a TPID
 * without a whole tag after it opens an empty, untagged level; the IP
 * fields count only outside any tag; an 802.2 frame has no EtherType.
 */
export function flowStateOfPacket(p: ParsedPacket): FlowState {
  const none = { tagged: false, proto: 0, frag: 0, eth: true, keyEth: true, nshNp: 0 };
  if (!(p.layers & Layer.ETH)) return { ...none, ethType: 0, l3Type: 0, eth: false, keyEth: false };
  const l3 = p.ethType === ETH_TYPE_NONE ? 0 : p.ethType;
  const nshNp = p.layers & Layer.NSH ? nshNextProto(p.buf, p.l3) : 0;
  const ip = l3 === ETH_P_IP || l3 === ETH_P_IPV6;
  const proto = ip ? p.ipProto : 0;
  const frag = ip ? p.ipFrag : 0;
  if (p.layers & Layer.VLAN) {
    // Behind a second TPID without its tag, the innermost level is empty.
    const l3Type = !(p.layers & Layer.CVLAN) && isVlanTpid(p.ethType) ? 0 : l3;
    return { ...none, ethType: l3Type, tagged: true, proto: l3Type ? proto : 0, frag: l3Type ? frag : 0, l3Type, nshNp };
  }
  if (isVlanTpid(p.ethType)) return { ...none, ethType: 0, l3Type: 0 };
  return { ...none, ethType: l3, proto, frag, l3Type: l3, nshNp };
}

/** The module's __ovs_nla_copy_actions takes action lists nested this deep (clone, sample, check_pkt_len, dec_ttl) and no deeper. */
export const MAX_ACTION_DEPTH = 16;
/** DP_MAX_PORTS: an output port number must be below it. */
const DP_MAX_PORTS = 0xffff;

/**
 * The module's limits on an action list whatever the flow: nesting (EOVERFLOW)
 * and output port numbers (EINVAL). The reason and the errno, or undefined.
 */
export function actionLimitBreach(actions: readonly Action[], depth = 0): { errno: 'EOVERFLOW' | 'EINVAL'; why: string } | undefined {
  if (depth > MAX_ACTION_DEPTH) return { errno: 'EOVERFLOW', why: `actions nest deeper than ${MAX_ACTION_DEPTH} levels` };
  for (const a of actions) {
    let breach;
    switch (a.type) {
      case 'output':
        if (a.port >= DP_MAX_PORTS) return { errno: 'EINVAL', why: `output: port ${a.port} is not below DP_MAX_PORTS (${DP_MAX_PORTS})` };
        break;
      case 'sample':
      case 'clone':
      case 'decTtl':
        breach = actionLimitBreach(a.actions, depth + 1);
        break;
      case 'checkPktLen':
        breach = actionLimitBreach(a.gt, depth + 1) ?? actionLimitBreach(a.le, depth + 1);
        break;
      default:
        break;
    }
    if (breach) return breach;
  }
  return undefined;
}

/** Why the module would refuse these actions for a flow in this state, or undefined. */
export function refusedAction(actions: readonly Action[], start: FlowState): string | undefined {
  const s = { ...start };
  for (const a of actions) {
    switch (a.type) {
      case 'pushVlan':
        if (!s.eth) return 'push_vlan: the packet has no Ethernet header here';
        if (!isVlanTpid(a.tpid)) return `push_vlan: TPID 0x${a.tpid.toString(16)} is not a VLAN ethertype`;
        if (!a.cfi) return 'push_vlan: the TCI lacks the CFI (tag present) bit';
        s.tagged = true;
        break;
      case 'popVlan':
        if (!s.eth) return 'pop_vlan: the packet has no Ethernet header here';
        s.tagged = false;
        break;
      case 'pushEth':
        if (s.eth) return 'push_eth: the packet has an Ethernet header already';
        s.eth = true;
        break;
      case 'popEth':
        if (!s.eth) return 'pop_eth: the packet has no Ethernet header here';
        if (s.tagged) return 'pop_eth: the packet has a VLAN tag';
        s.eth = false;
        break;
      case 'pushNsh': {
        if (!s.eth && !nshNextProtoOf(s.ethType)) return `push_nsh: NSH cannot carry EtherType 0x${s.ethType.toString(16)}`;
        const why = refusedPushNsh(a.nsh);
        if (why) return why;
        s.eth = false;
        break;
      }
      case 'popNsh':
        if (s.ethType !== ETH_P_NSH) return 'pop_nsh: the flow is not NSH';
        if (!nshInnerType(s.nshNp)) return `pop_nsh: unknown next protocol ${s.nshNp}`;
        s.eth = s.nshNp === TUN_P_ETHERNET;
        break;
      case 'pushMpls':
        if (!isMpls(a.ethertype)) return `push_mpls: ethertype 0x${a.ethertype.toString(16)} is not MPLS`;
        if (s.tagged || (s.ethType !== ETH_P_IP && s.ethType !== ETH_P_IPV6 && s.ethType !== ETH_P_ARP && s.ethType !== ETH_P_RARP && !isMpls(s.ethType))) {
          return 'push_mpls: only onto an untagged IPv4, IPv6, ARP, RARP or MPLS packet';
        }
        s.ethType = a.ethertype;
        break;
      case 'popMpls':
        if (s.tagged || !isMpls(s.ethType)) return 'pop_mpls: the packet is not MPLS here';
        s.ethType = isMpls(a.ethertype) ? a.ethertype : 0;
        break;
      case 'set':
      case 'setMasked': {
        const why = refusedSet(a.key, a.type === 'setMasked' ? a.mask : undefined, s);
        if (why) return why;
        break;
      }
      case 'sample':
      case 'clone':
      case 'decTtl': {
        const why = refusedAction(a.actions, nested(s));
        if (why) return why;
        break;
      }
      case 'checkPktLen': {
        const why = refusedAction(a.gt, nested(s)) ?? refusedAction(a.le, nested(s));
        if (why) return why;
        break;
      }
      case 'ct': {
        const why = refusedCt(a, s);
        if (why) return why;
        break;
      }
      default:
        break;
    }
  }
  return undefined;
}

/** A nested list's start: the state so far, but the module takes mac_proto from the key again. */
const nested = (s: FlowState): FlowState => ({ ...s, eth: s.keyEth });

/** NSH_CTX_HDRS_MAX_LEN: MD type 2 metadata the module takes in push_nsh. */
const NSH_CTX_HDRS_MAX_LEN = 248;

/** validate_push_nsh(): a base header and one kind of metadata, of the MD type the base names. */
function refusedPushNsh(n: NshKey): string | undefined {
  if (Object.keys(n).some((k) => k.startsWith('key'))) return 'push_nsh: unknown nsh attribute';
  if (n.md1 && n.md2) return 'invalid nsh attribute: md1 and md2 are exclusive.';
  if (n.md2 && (n.md2.length === 0 || n.md2.length > NSH_CTX_HDRS_MAX_LEN)) return `Invalid MD length ${n.md2.length} for MD type ${n.base?.mdtype ?? 0}`;
  const mdtype = n.base?.mdtype ?? 0;
  if ((n.md1 && mdtype !== NSH_M_TYPE1) || (n.md2 && mdtype !== NSH_M_TYPE2)) return `nsh attribute has unmatched MD type ${mdtype}.`;
  if (!n.base || (!n.md1 && !n.md2)) return 'push_nsh: missing base or metadata attributes';
  return undefined;
}

// ovs_ct_copy_action and parse_ct: the family comes from the flow's key, and
// mark or labels are only written by a committing ct().
function refusedCt(a: CtAction, s: FlowState): string | undefined {
  if (s.l3Type !== ETH_P_IP && s.l3Type !== ETH_P_IPV6) return 'ct family unspecified';
  if (a.mark && a.mark.mask === 0) return 'ct_mark mask cannot be 0';
  if (a.labels && a.labels.mask === 0n) return 'ct_labels mask cannot be 0';
  const commit = a.commit || a.forceCommit;
  // parse_nat() runs as the attributes are walked, the commit rules after.
  const nat = a.nat && refusedNat(a.nat, s.l3Type === ETH_P_IPV6, !!commit);
  if (nat) return nat;
  if (!commit && a.mark) return "Setting conntrack mark requires 'commit' flag.";
  if (!commit && a.labels) return "Setting conntrack labels requires 'commit' flag.";
  // ovs_ct_add_helper(): the helper is looked up for the flow's family and
  // masked IP protocol (FTP's is TCP, TFTP's UDP); with NAT its NAT helper
  // too, which the fallback does not have (nor a test VM without nf_nat_ftp:
  // ENOENT).
  if (a.helper !== undefined && isCtHelper(a.helper)) {
    if (s.proto !== CT_HELPERS[a.helper]) return `Unknown helper "${a.helper}"`;
    if (a.nat) return natHelperMissing(a.helper);
  }
  return undefined;
}

/** ct(alg=NAME,nat): the module's words without that NAT helper (nf_nat_ftp...), which it answers with ENOENT. */
const natHelperMissing = (name: string): string => `Failed to load "${name}" NAT helper, error: -2`;

/** The errno the module answers a refusal with: ERANGE for both kinds of NAT at once, ENOENT for a missing NAT helper, else EINVAL. */
export function refusalErrno(why: string): number {
  if (why === NAT_ONE_TYPE) return 34;
  return /^Failed to load ".*" NAT helper/.test(why) ? 2 : 22;
}

function refusedSet(key: FlowKey, mask: FlowKey | undefined, s: FlowState): string | undefined {
  if (key.ethernet && !s.eth) return 'set(eth): the packet has no Ethernet header here';
  // The module never managed to set NSH fields, and now refuses to (2025).
  if (key.nsh) return 'set(nsh): the module does not set NSH fields';
  const l4 = (name: string, proto: number): string | undefined => {
    if (s.ethType !== ETH_P_IP && s.ethType !== ETH_P_IPV6) return `set(${name}): the packet is not IP here`;
    if (s.proto !== proto) return `set(${name}): the flow does not match ${name}`;
    return undefined;
  };
  if (key.ipv4) {
    if (s.ethType !== ETH_P_IP) return 'set(ipv4): the packet is not IPv4 here';
    if (mask) {
      if (mask.ipv4?.proto || mask.ipv4?.frag) return 'set(ipv4): the protocol and fragment fields cannot be written';
    } else if (key.ipv4.proto !== s.proto || key.ipv4.frag !== s.frag) return "set(ipv4): the protocol and fragment fields must be the flow's";
  }
  if (key.ipv6) {
    if (s.ethType !== ETH_P_IPV6) return 'set(ipv6): the packet is not IPv6 here';
    if (mask) {
      if (mask.ipv6?.proto || mask.ipv6?.frag) return 'set(ipv6): the protocol and fragment fields cannot be written';
      if ((mask.ipv6?.label ?? 0) & 0xfff00000) return 'set(ipv6): the flow label has 20 bits';
    } else {
      if (key.ipv6.proto !== s.proto || key.ipv6.frag !== s.frag) return "set(ipv6): the protocol and fragment fields must be the flow's";
      if (key.ipv6.label & 0xfff00000) return 'set(ipv6): the flow label has 20 bits';
    }
  }
  if (key.tunnel) {
    // validate_and_copy_set_tun(): whole, never masked, with a TTL and a destination.
    const t = key.tunnel;
    if (mask) return 'set_masked(tunnel): a tunnel is only ever set whole';
    if (t.ipv6Src !== undefined || t.ipv6Dst !== undefined) return 'set(tunnel): the ovsnl userspace datapath has no IPv6 tunnels yet';
    if (t.ipv4Dst === undefined || t.ipv4Dst === '0.0.0.0') return 'set(tunnel): IPv4 tunnel dst address is zero';
    if (t.ttl === undefined) return 'set(tunnel): IPv4 tunnel TTL not specified';
    if (t.geneveOpts && t.geneveOpts.length % 4) return 'set(tunnel): geneve options are a multiple of 4 bytes';
    if ([t.geneveOpts, t.vxlanOpts, t.erspanOpts].filter((o) => o !== undefined).length > 1) return 'set(tunnel): Multiple metadata blocks provided';
    if (t.erspanOpts !== undefined || t.gtpuOpts !== undefined) return 'set(tunnel): the ovsnl userspace datapath sends only vxlan, geneve and gre tunnels';
  }
  if (key.tcp) return l4('tcp', IPPROTO_TCP);
  if (key.udp) return l4('udp', IPPROTO_UDP);
  if (key.sctp) return l4('sctp', IPPROTO_SCTP);
  if (key.mpls && !isMpls(s.ethType)) return 'set(mpls): the packet is not MPLS here';
  return undefined;
}
