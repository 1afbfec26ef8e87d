// The kernel's checks of a flow match before it takes it (flow_netlink.c:
// parse_flow_nlattrs, the VLAN encap rules, match_validate): a key must carry
// the attributes its own fields call for (TCP needs tcp and tcp_flags, ARP
// needs arp...), and a mask may only cover attributes whose prerequisites it
// matches exactly. The same EINVAL, with the text the module writes to its
// log, which the daemon can hand to the client in the extended ack.
import { parseAttrs, type Attr } from '../netlink/attr.js';
import * as K from '../ovs/uapi-keys.js';
import { DaemonError } from './genl-service.js';

const EINVAL = 22;

const ETH_P_IP = 0x0800;
const ETH_P_ARP = 0x0806;
const ETH_P_RARP = 0x8035;
const ETH_P_IPV6 = 0x86dd;
const ETH_P_MPLS_UC = 0x8847;
const ETH_P_MPLS_MC = 0x8848;
const ETH_P_NSH = 0x894f;
const ETH_P_8021Q = 0x8100;
const ETH_P_8021AD = 0x88a8;
const ETH_P_802_2 = 0x0004;
const ETH_P_802_3_MIN = 0x0600;
const VLAN_CFI_MASK = 0x1000;
const OVS_FRAG_TYPE_LATER = 2;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const IPPROTO_ICMP = 1;
const IPPROTO_ICMPV6 = 58;
const IPPROTO_SCTP = 132;
const NDISC_NEIGHBOUR_SOLICITATION = 135;
const NDISC_NEIGHBOUR_ADVERTISEMENT = 136;

const bit = (t: number): bigint => 1n << BigInt(t);
const be16 = (d: Uint8Array | undefined, off = 0): number => (d && d.length >= off + 2 ? (d[off] << 8) | d[off + 1] : 0);
const u8 = (d: Uint8Array | undefined, off: number): number => (d && d.length > off ? d[off] : 0);
const isVlan = (t: number): boolean => t === ETH_P_8021Q || t === ETH_P_8021AD;
const fail = (message: string): never => {
  throw new DaemonError(EINVAL, message);
};

/** The attributes of one match side, the VLAN levels folded in as the kernel folds them. */
interface Side {
  /** Attribute types present (u64 in the kernel; bigint here since types reach 32). */
  attrs: bigint;
  /** The latest attribute of each type, as the kernel's a[] array keeps it. */
  a: Map<number, Uint8Array>;
  /** VLAN TCIs of the outer and inner tag (0 where none). */
  tci: number[];
}

/** parse_flow_nlattrs: duplicates and unknown types refused; for masks (nz), all-zero attributes skipped. */
function collect(bytes: Uint8Array, side: Side, nz: boolean): void {
  let list: Attr[];
  try {
    list = parseAttrs(bytes);
  } catch (err) {
    return fail(`Flow key attribute malformed: ${(err as Error).message}`);
  }
  for (const at of list) {
    if (at.type > K.OVS_KEY_ATTR_IPV6_EXTHDRS || at.type === K.OVS_KEY_ATTR_TUNNEL_INFO) fail(`Key type ${at.type} is out of range max ${K.OVS_KEY_ATTR_IPV6_EXTHDRS}`);
    if (side.attrs & bit(at.type)) fail(`Duplicate key (type ${at.type}).`);
    if (nz && at.data.every((b) => b === 0)) continue;
    side.attrs |= bit(at.type);
    side.a.set(at.type, at.data);
  }
}

/** The VLAN part of parse_vlan_from_nlattrs for the key: up to two tags, each with its encap folded in. */
function foldKeyVlans(side: Side): void {
  for (let level = 0; level < 2; level++) {
    const what = level ? 'C-VLAN' : 'VLAN';
    const has = (t: number) => (side.attrs & bit(t)) !== 0n;
    if (!(has(K.OVS_KEY_ATTR_ETHERNET) && has(K.OVS_KEY_ATTR_ETHERTYPE) && isVlan(be16(side.a.get(K.OVS_KEY_ATTR_ETHERTYPE))))) return;
    if (!(has(K.OVS_KEY_ATTR_VLAN) && has(K.OVS_KEY_ATTR_ENCAP))) fail(`Invalid ${what} frame`);
    const tci = be16(side.a.get(K.OVS_KEY_ATTR_VLAN));
    const encap = side.a.get(K.OVS_KEY_ATTR_ENCAP)!;
    if (!(tci & VLAN_CFI_MASK)) {
      if (tci) fail(`${what} TCI does not have VLAN_CFI_MASK bit set.`);
      else if (encap.length) fail(`Truncated ${what} header has non-zero encap attribute.`);
    }
    side.tci[level] = tci;
    side.attrs &= ~(bit(K.OVS_KEY_ATTR_ENCAP) | bit(K.OVS_KEY_ATTR_VLAN) | bit(K.OVS_KEY_ATTR_ETHERTYPE));
    side.a.delete(K.OVS_KEY_ATTR_ETHERTYPE);
    collect(encap, side, false);
    if (!(tci & VLAN_CFI_MASK)) return;
  }
}

/** The mask's VLAN folding, which needs the key's tags: an encap mask only on a tagged key, with exact TPID and CFI. */
function foldMaskVlans(side: Side, keyTci: number[]): void {
  for (let level = 0; level < 2; level++) {
    const what = level ? 'C-VLAN' : 'VLAN';
    if (!(side.attrs & bit(K.OVS_KEY_ATTR_ENCAP))) return;
    if (!((keyTci[level] ?? 0) & VLAN_CFI_MASK)) fail(`Encap mask attribute is set for non-${what} frame.`);
    const tpid = be16(side.a.get(K.OVS_KEY_ATTR_ETHERTYPE));
    const tci = be16(side.a.get(K.OVS_KEY_ATTR_VLAN));
    if (tpid !== 0xffff) fail(`Must have an exact match on ${what} TPID (mask=${tpid.toString(16)}).`);
    if (!(tci & VLAN_CFI_MASK)) fail(`${what} TCI mask does not have exact match for VLAN_CFI_MASK bit.`);
    const encap = side.a.get(K.OVS_KEY_ATTR_ENCAP)!;
    side.attrs &= ~(bit(K.OVS_KEY_ATTR_ENCAP) | bit(K.OVS_KEY_ATTR_VLAN) | bit(K.OVS_KEY_ATTR_ETHERTYPE));
    side.a.delete(K.OVS_KEY_ATTR_ETHERTYPE);
    collect(encap, side, true);
  }
}

/** The fields match_validate reads from key and mask. */
interface Fields {
  ethType: number;
  proto: number;
  frag: number;
  /** tp.src: the ICMPv6 type, for the ND rule. */
  tpSrc: number;
}

function fields(side: Side, isMask: boolean): Fields {
  const et = side.a.get(K.OVS_KEY_ATTR_ETHERTYPE);
  const f: Fields = { ethType: et ? be16(et) : isMask ? 0 : ETH_P_802_2, proto: 0, frag: 0, tpSrc: 0 };
  const v4 = side.a.get(K.OVS_KEY_ATTR_IPV4);
  const v6 = side.a.get(K.OVS_KEY_ATTR_IPV6);
  if (v4) {
    f.proto = u8(v4, 8);
    f.frag = u8(v4, 11);
  } else if (v6) {
    f.proto = u8(v6, 36);
    f.frag = u8(v6, 39);
  }
  const icmp = side.a.get(K.OVS_KEY_ATTR_ICMPV6) ?? side.a.get(K.OVS_KEY_ATTR_ICMP);
  if (icmp) f.tpSrc = u8(icmp, 0);
  return f;
}

/** match_validate() on folded attribute sets; `mask` undefined: the key's exact mask. */
function matchValidate(keyAttrs: bigint, key: Fields, maskAttrs: bigint, mask: Fields): void {
  let expected = 0n;
  let allowed = keyAttrs;
  allowed &= ~[
    K.OVS_KEY_ATTR_IPV4, K.OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV4, K.OVS_KEY_ATTR_IPV6, K.OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV6,
    K.OVS_KEY_ATTR_TCP, K.OVS_KEY_ATTR_TCP_FLAGS, K.OVS_KEY_ATTR_UDP, K.OVS_KEY_ATTR_SCTP, K.OVS_KEY_ATTR_ICMP,
    K.OVS_KEY_ATTR_ICMPV6, K.OVS_KEY_ATTR_ARP, K.OVS_KEY_ATTR_ND, K.OVS_KEY_ATTR_MPLS, K.OVS_KEY_ATTR_NSH,
  ].reduce((m, t) => m | bit(t), 0n);
  allowed |= bit(K.OVS_KEY_ATTR_TUNNEL) | bit(K.OVS_KEY_ATTR_IN_PORT) | bit(K.OVS_KEY_ATTR_ETHERTYPE);
  const ethExact = mask.ethType === 0xffff;
  const protoExact = mask.proto === 0xff;
  const need = (t: number, allowIf: boolean): void => {
    expected |= bit(t);
    if (allowIf) allowed |= bit(t);
  };
  if (key.ethType === ETH_P_ARP || key.ethType === ETH_P_RARP) need(K.OVS_KEY_ATTR_ARP, ethExact);
  if (key.ethType === ETH_P_MPLS_UC || key.ethType === ETH_P_MPLS_MC) need(K.OVS_KEY_ATTR_MPLS, ethExact);
  const l4 = (ipv6: boolean): void => {
    if (key.frag === OVS_FRAG_TYPE_LATER) return;
    if (key.proto === IPPROTO_UDP) need(K.OVS_KEY_ATTR_UDP, protoExact);
    if (key.proto === IPPROTO_SCTP) need(K.OVS_KEY_ATTR_SCTP, protoExact);
    if (key.proto === IPPROTO_TCP) {
      need(K.OVS_KEY_ATTR_TCP, protoExact);
      need(K.OVS_KEY_ATTR_TCP_FLAGS, protoExact);
    }
    if (!ipv6 && key.proto === IPPROTO_ICMP) need(K.OVS_KEY_ATTR_ICMP, protoExact);
    if (ipv6 && key.proto === IPPROTO_ICMPV6) {
      need(K.OVS_KEY_ATTR_ICMPV6, protoExact);
      if (key.tpSrc === NDISC_NEIGHBOUR_SOLICITATION || key.tpSrc === NDISC_NEIGHBOUR_ADVERTISEMENT) {
        expected |= bit(K.OVS_KEY_ATTR_ND);
        // The conntrack original tuple shares the key's space with ND.
        allowed &= ~bit(K.OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV6);
        if (mask.tpSrc === 0xff) allowed |= bit(K.OVS_KEY_ATTR_ND);
      }
    }
  };
  if (key.ethType === ETH_P_IP) {
    need(K.OVS_KEY_ATTR_IPV4, ethExact);
    if (ethExact) allowed |= bit(K.OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV4);
    l4(false);
  }
  if (key.ethType === ETH_P_IPV6) {
    need(K.OVS_KEY_ATTR_IPV6, ethExact);
    if (ethExact) allowed |= bit(K.OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV6);
    l4(true);
  }
  if (key.ethType === ETH_P_NSH) need(K.OVS_KEY_ATTR_NSH, ethExact);
  if ((keyAttrs & expected) !== expected) fail(`Missing key (keys=${keyAttrs.toString(16)}, expected=${expected.toString(16)})`);
  if ((maskAttrs & allowed) !== maskAttrs) fail(`Unexpected mask (mask=${maskAttrs.toString(16)}, allowed=${allowed.toString(16)})`);
}

/** ip_tun_from_nlattr: one kind of tunnel options at most (the key holds one block). */
export function checkTunnelOptions(tunnel: Uint8Array): void {
  let blocks = 0;
  try {
    for (const at of parseAttrs(tunnel)) {
      if (at.type === K.OVS_TUNNEL_KEY_ATTR_GENEVE_OPTS || at.type === K.OVS_TUNNEL_KEY_ATTR_VXLAN_OPTS || at.type === K.OVS_TUNNEL_KEY_ATTR_ERSPAN_OPTS) blocks++;
    }
  } catch (err) {
    return fail(`Flow key attribute malformed: ${(err as Error).message}`);
  }
  if (blocks > 1) fail('Multiple metadata blocks provided');
}

const NSH_ATTR_LENS: Record<number, number> = { [K.OVS_NSH_KEY_ATTR_BASE]: K.NSH_BASE_SIZE, [K.OVS_NSH_KEY_ATTR_MD1]: K.NSH_MD1_SIZE };
const NSH_M_TYPE1 = 1;

/**
 * nsh_key_put_from_nlattr() for a match: known sub-attributes of their
 * sizes, no MD type 2 (the module cannot match it), and in a key MD type 1
 * context only with MD type 1. (The module returns ENOTSUPP for MD2, which
 * its caller turns into EINVAL.)
 */
function checkNsh(nsh: Uint8Array, isMask: boolean): void {
  let list: Attr[];
  try {
    list = parseAttrs(nsh);
  } catch (err) {
    return fail(`nsh attribute has unknown bytes: ${(err as Error).message}`);
  }
  let mdtype = 0;
  let md1 = false;
  for (const at of list) {
    if (at.type > K.OVS_NSH_KEY_ATTR_MD2) fail(`nsh attr ${at.type} is out of range max ${K.OVS_NSH_KEY_ATTR_MD2}`);
    const want = NSH_ATTR_LENS[at.type];
    if (want !== undefined && at.data.length !== want) fail(`nsh attr ${at.type} has unexpected len ${at.data.length} expected ${want}`);
    if (at.type === K.OVS_NSH_KEY_ATTR_BASE) mdtype = at.data[2];
    else if (at.type === K.OVS_NSH_KEY_ATTR_MD1) md1 = true;
    else if (at.type === K.OVS_NSH_KEY_ATTR_MD2) fail('nsh: a flow cannot match MD type 2 metadata');
    else fail(`Unknown nsh attribute ${at.type}`);
  }
  if (!isMask && md1 && mdtype !== NSH_M_TYPE1) fail(`nsh attribute has unmatched MD type ${mdtype}.`);
}

/**
 * Validates a flow match as the kernel does (ovs_nla_get_match). `mask`
 * undefined: a put without a mask, i.e. the key's exact mask; null: a key
 * naming a flow to get or delete, where only the key's own rules apply.
 * Throws DaemonError(EINVAL) with the module's log text.
 */
export function validateMatch(keyBytes: Uint8Array, maskBytes: Uint8Array | undefined | null): void {
  const key: Side = { attrs: 0n, a: new Map(), tci: [] };
  collect(keyBytes, key, false);
  foldKeyVlans(key);
  const tun = key.a.get(K.OVS_KEY_ATTR_TUNNEL);
  if (tun) checkTunnelOptions(tun);
  const nsh = key.a.get(K.OVS_KEY_ATTR_NSH);
  if (nsh) checkNsh(nsh, false);
  const et = key.a.get(K.OVS_KEY_ATTR_ETHERTYPE);
  // Without an Ethernet header the key is an L3 packet's, whose EtherType it must give.
  if (!(key.attrs & bit(K.OVS_KEY_ATTR_ETHERNET)) && !et) fail('Either Ethernet header or EtherType is required.');
  if (et && be16(et) < ETH_P_802_3_MIN) fail(`EtherType ${be16(et).toString(16)} is less than min ${ETH_P_802_3_MIN.toString(16)}`);
  const keyFields = fields(key, false);
  if (maskBytes === null) {
    matchValidate(key.attrs, keyFields, 0n, { ethType: 0, proto: 0, frag: 0, tpSrc: 0 });
    return;
  }
  if (maskBytes === undefined) {
    // The exact mask: every key attribute, every bit set.
    matchValidate(key.attrs, keyFields, key.attrs, { ethType: 0xffff, proto: 0xff, frag: 0xff, tpSrc: 0xff });
    return;
  }
  const mask: Side = { attrs: 0n, a: new Map(), tci: [] };
  collect(maskBytes, mask, true);
  foldMaskVlans(mask, key.tci);
  const nshMask = mask.a.get(K.OVS_KEY_ATTR_NSH);
  if (nshMask) checkNsh(nshMask, true);
  matchValidate(key.attrs, keyFields, mask.attrs, fields(mask, true));
}
