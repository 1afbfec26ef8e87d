// VXLAN (RFC 7348, with the group policy extension of
// draft-smith-vxlan-group-policy) and Geneve (RFC 8926) over IPv4/UDP, and GRE (RFC 2890)
// carrying Ethernet: what a received datagram says about its tunnel (the
// metadata the kernel's vxlan, geneve and gretap devices attach to the inner
// frame: udp_tun_rx_dst, ip_tun_rx_dst), and the datagram a frame leaves in,
// as those devices build it for OVS's set(tunnel(...)).
// IPv4 datagrams start at their IP header; frames at their Ethernet header.
import { be16, be32, putBe16, putBe32 } from './bytes.js';
import { csumReplace16, internetChecksum, l4ChecksumOk, setL4Checksum, setIpv4HeaderChecksum } from './checksum.js';
import { ETH_HLEN, ETH_P_IP, ETH_P_IPV6, IP_DF, IPPROTO_UDP, IPV4_HLEN, VLAN_HLEN } from './constants.js';
import { isVlanTpid } from './ethernet.js';

export const VXLAN_PORT = 4789;
export const GENEVE_PORT = 6081;
const UDP_HLEN = 8;
const VXLAN_HLEN = 8;
const GENEVE_HLEN = 8;
/** Transparent Ethernet bridging: the only payload OVS's geneve ports carry. */
const ETH_P_TEB = 0x6558;
/** Geneve option type bit: the receiver must understand the option. */
const GENEVE_CRIT_OPT_TYPE = 0x80;
/** What ip_tunnel_info_opts can hold (IP_TUNNEL_OPTS_MAX). */
export const TUNNEL_OPTS_MAX = 255;
/** The TTL a tunnel packet gets when the action leaves it 0 (the route's hop limit, sysctl ip_default_ttl). */
export const DEFAULT_TTL = 64;

/** Tunnel flags as the flow key matches them (a subset of the kernel's TUNNEL_*). */
export const TUN_F_KEY = 1;
export const TUN_F_CSUM = 2;
export const TUN_F_DF = 4;
export const TUN_F_OAM = 8;
export const TUN_F_GENEVE_OPT = 16;
/** The packet has VXLAN group policy metadata (the kernel's TUNNEL_VXLAN_OPT). */
export const TUN_F_VXLAN_OPT = 32;

// The group policy extension's bits in the first word of the VXLAN header,
// and where vxlan_parse_gbp_hdr puts them in the 32-bit metadata OVS matches
// (struct vxlan_metadata: the policy id in the low 16 bits).
const VXLAN_HF_GBP = 0x80000000;
const VXLAN_HF_VNI = 0x08000000;
const VXLAN_GBP_DONT_LEARN = 0x400000;
const VXLAN_GBP_POLICY_APPLIED = 0x80000;
const VXLAN_GBP_ID_MASK = 0xffff;
/** The policy's bits, at the same places in the header's first word and in the metadata. */
const VXLAN_GBP_MD_BITS = VXLAN_GBP_DONT_LEARN | VXLAN_GBP_POLICY_APPLIED | VXLAN_GBP_ID_MASK;
/** The header bits a GBP port reads (and so no longer counts as unknown flags). */
const VXLAN_GBP_USED_BITS = (VXLAN_HF_GBP | VXLAN_GBP_MD_BITS) >>> 0;
/** The length of a VXLAN packet's options: the 4-byte metadata every VXLAN tunnel's receive gives (udp_tun_rx_dst). */
export const VXLAN_OPTS_LEN = 4;

/** VXLAN group policy metadata ((flags << 16) | policy id) as TunnelMeta.opts holds it. */
export function vxlanOptsBytes(gbp: number): Uint8Array {
  const b = new Uint8Array(VXLAN_OPTS_LEN);
  putBe32(b, 0, gbp >>> 0);
  return b;
}

export type TunnelKind = 'vxlan' | 'geneve' | 'gre';

const IPPROTO_GRE = 47;
const GRE_CSUM = 0x8000;
const GRE_ROUTING = 0x4000;
const GRE_KEY = 0x2000;
const GRE_SEQ = 0x1000;
const GRE_VERSION = 0x0007;

/** One packet's IPv4 tunnel metadata (the kernel's ip_tunnel_key and options), numbers throughout. */
export interface TunnelMeta {
  /** The 64-bit tunnel id, high and low halves. */
  idHi: number;
  idLo: number;
  /** IPv4 addresses as unsigned 32-bit numbers. */
  src: number;
  dst: number;
  tos: number;
  ttl: number;
  /** TUN_F_* */
  flags: number;
  tpSrc: number;
  tpDst: number;
  /**
   * Geneve options as on the wire (empty: none); for VXLAN the 4-byte group
   * policy metadata, big-endian ((flags << 16) | policy id; zero without
   * TUN_F_VXLAN_OPT).
   */
  opts: Uint8Array;
}

export function emptyTunnelMeta(): TunnelMeta {
  return { idHi: 0, idLo: 0, src: 0, dst: 0, tos: 0, ttl: 0, flags: 0, tpSrc: 0, tpDst: 0, opts: NO_OPTS };
}

const NO_OPTS = new Uint8Array(0);
/** A VXLAN packet's metadata without a policy, shared (never written to). */
const NO_VXLAN_POLICY = new Uint8Array(VXLAN_OPTS_LEN);

/** Why a datagram carries no frame the tunnel port takes (the kernel drops it, and counts it as an rx error). */
export type DecapError = 'short' | 'wrong-protocol' | 'bad-checksum' | 'bad-header' | 'not-ethernet' | 'ecn';

/**
 * The inner frame of a VXLAN or Geneve datagram, and its tunnel metadata in
 * `out`; or why there is none. `ip` is a whole IPv4 datagram (reassembled).
 * `gbp`: the VXLAN port has the group policy extension.
 */
export function decapsulate(ip: Uint8Array, kind: TunnelKind, out: TunnelMeta, gbp = false): Uint8Array | DecapError {
  if (ip.length < IPV4_HLEN || ip[0] >> 4 !== 4) return 'short';
  const ihl = (ip[0] & 0xf) * 4;
  const total = Math.min(be16(ip, 2), ip.length);
  if (ihl < IPV4_HLEN) return 'short';
  if (kind === 'gre') return decapsulateGre(ip, ihl, total, out);
  if (total < ihl + UDP_HLEN) return 'short';
  if (ip[9] !== IPPROTO_UDP) return 'wrong-protocol';
  const udp = ihl;
  const udpLen = be16(ip, udp + 4);
  if (udpLen < UDP_HLEN || udp + udpLen > total) return 'short';
  const check = be16(ip, udp + 6);
  // The UDP layer checks what the raw socket hands over unchecked.
  if (!l4ChecksumOk(ip, 0, udp, udpLen, IPPROTO_UDP)) return 'bad-checksum';
  const h = udp + UDP_HLEN;
  const end = udp + udpLen;
  let inner: number;
  let flags = TUN_F_KEY;
  let opts: Uint8Array = NO_OPTS;
  if (kind === 'vxlan') {
    if (end - h < VXLAN_HLEN) return 'short';
    // Only the I flag (and on a GBP port the policy's bits) may be set and
    // the reserved fields must be zero: vxlan_rcv drops the rest.
    const word = be32(ip, h);
    if (!(word & VXLAN_HF_VNI) || ip[h + 7] || (word & ~(VXLAN_HF_VNI | (gbp ? VXLAN_GBP_USED_BITS : 0))) !== 0) return 'bad-header';
    out.idLo = (ip[h + 4] << 16) | (ip[h + 5] << 8) | ip[h + 6];
    // Every VXLAN packet carries the metadata (zero without a policy), as the
    // kernel's key does: only the flag tells them apart.
    opts = NO_VXLAN_POLICY;
    if (gbp && word & VXLAN_HF_GBP) {
      opts = vxlanOptsBytes(word & VXLAN_GBP_MD_BITS);
      flags |= TUN_F_VXLAN_OPT;
    }
    inner = h + VXLAN_HLEN;
  } else {
    if (end - h < GENEVE_HLEN) return 'short';
    if (ip[h] >> 6 !== 0) return 'bad-header';
    const optLen = (ip[h] & 0x3f) * 4;
    if (be16(ip, h + 2) !== ETH_P_TEB) return 'not-ethernet';
    if (end - h < GENEVE_HLEN + optLen) return 'short';
    if (ip[h + 1] & 0x80) flags |= TUN_F_OAM;
    out.idLo = (ip[h + 4] << 16) | (ip[h + 5] << 8) | ip[h + 6];
    if (optLen) {
      opts = ip.slice(h + GENEVE_HLEN, h + GENEVE_HLEN + optLen);
      flags |= TUN_F_GENEVE_OPT;
    }
    inner = h + GENEVE_HLEN + optLen;
  }
  if (end - inner < ETH_HLEN) return 'short';
  const frame = ip.subarray(inner, end);
  if (!ecnDecapsulate(ip[1], frame)) return 'ecn';
  if (check !== 0) flags |= TUN_F_CSUM;
  out.idHi = 0;
  out.src = be32(ip, 12);
  out.dst = be32(ip, 16);
  out.tos = ip[1];
  out.ttl = ip[8];
  out.flags = flags;
  out.tpSrc = be16(ip, udp);
  out.tpDst = be16(ip, udp + 2);
  out.opts = opts;
  return frame;
}

const ECN_CE = 3;
const ECN_ECT_1 = 1;
const ECN_ECT_0 = 2;

/** The offset of an IP frame's IP header (past VLAN tags) and its version, or -1. */
function innerIp(frame: Uint8Array): [number, number] {
  let off = 12;
  while (off + 2 <= frame.length && isVlanTpid(be16(frame, off))) off += VLAN_HLEN;
  if (off + 2 > frame.length) return [-1, 0];
  const t = be16(frame, off);
  const l3 = off + 2;
  if (t === ETH_P_IP && frame.length >= l3 + IPV4_HLEN) return [l3, 4];
  if (t === ETH_P_IPV6 && frame.length >= l3 + 40) return [l3, 6];
  return [-1, 0];
}

/**
 * The outer header's ECN applied to the inner frame as the kernel's tunnels
 * do on receive (INET_ECN_decapsulate): a congestion mark is copied onto an
 * ECN-capable inner packet, ECT(1) onto ECT(0); false when the outer packet
 * is marked but the inner one cannot carry it (the datagram is dropped).
 * The frame is changed in place, its IPv4 checksum kept right.
 */
export function ecnDecapsulate(outerTos: number, frame: Uint8Array): boolean {
  const [l3, version] = innerIp(frame);
  if (l3 < 0) return true;
  const outer = outerTos & 3;
  const inner = version === 4 ? frame[l3 + 1] & 3 : (frame[l3 + 1] >> 4) & 3;
  if (inner === 0) return outer !== ECN_CE;
  const want = outer === ECN_CE ? ECN_CE : outer === ECN_ECT_1 && inner === ECN_ECT_0 ? ECN_ECT_1 : inner;
  if (want === inner) return true;
  if (version === 4) {
    const old = be16(frame, l3);
    frame[l3 + 1] = (frame[l3 + 1] & ~3) | want;
    putBe16(frame, l3 + 10, csumReplace16(be16(frame, l3 + 10), old, be16(frame, l3)));
  } else {
    frame[l3 + 1] = (frame[l3 + 1] & ~0x30) | (want << 4);
  }
  return true;
}

/** GRE with Ethernet inside (gre_parse_header, then the collect_md gretap device's checks in ip_tunnel_rcv). */
function decapsulateGre(ip: Uint8Array, g: number, total: number, out: TunnelMeta): Uint8Array | DecapError {
  if (ip[9] !== IPPROTO_GRE) return 'wrong-protocol';
  if (total - g < 4) return 'short';
  const f = be16(ip, g);
  if (f & (GRE_ROUTING | GRE_VERSION)) return 'bad-header';
  const hlen = 4 + (f & GRE_KEY ? 4 : 0) + (f & GRE_SEQ ? 4 : 0);
  if (total - g < hlen) return 'short';
  // OVS's gre_sys device expects no checksums (its i_flags lack one), and
  // ip_tunnel_rcv drops a packet whose checksum flag differs from them.
  if (f & GRE_CSUM) return 'bad-checksum';
  if (be16(ip, g + 2) !== ETH_P_TEB) return 'not-ethernet';
  const inner = g + hlen;
  if (total - inner < ETH_HLEN) return 'short';
  const frame = ip.subarray(inner, total);
  if (!ecnDecapsulate(ip[1], frame)) return 'ecn';
  out.idHi = 0;
  out.idLo = f & GRE_KEY ? be32(ip, g + 4) : 0;
  out.src = be32(ip, 12);
  out.dst = be32(ip, 16);
  out.tos = ip[1];
  out.ttl = ip[8];
  out.flags = f & GRE_KEY ? TUN_F_KEY : 0;
  out.tpSrc = 0;
  out.tpDst = 0;
  out.opts = NO_OPTS;
  return frame;
}

/** The TOS/traffic class of an IP frame (past VLAN tags), 0 for anything else. */
function innerTos(frame: Uint8Array): number {
  const [l3, version] = innerIp(frame);
  if (l3 < 0) return 0;
  return version === 4 ? frame[l3 + 1] : ((frame[l3] & 0x0f) << 4) | (frame[l3 + 1] >> 4);
}

/**
 * The outer TOS: the action's, with the inner packet's ECN bits copied out
 * (a congestion mark becomes ECT(0)), as ip_tunnel_ecn_encap does.
 */
export function outerTos(tos: number, frame: Uint8Array): number {
  const ecn = innerTos(frame) & 3;
  return (tos & ~3) | (ecn === 3 ? 2 : ecn);
}

/**
 * The UDP source port the kernel would pick from the inner flow's hash, in
 * [min, max]: the same for every packet of a flow, spread across flows so that
 * the underlay's ECMP can tell them apart. `hash` is any 32-bit flow hash.
 */
export function sourcePort(hash: number, min: number, max: number): number {
  return Math.floor(((hash >>> 0) * (max - min)) / 0x100000000) + min;
}

/**
 * `frame` in a VXLAN or Geneve datagram for `t`, from `src` (the action's
 * source address, or the route's). The IP id, and a source address left 0,
 * are for the kernel to fill in (raw socket with IP_HDRINCL); the header
 * checksum is computed here anyway, so the datagram is whole as it stands.
 * `gbp`: the VXLAN port has the group policy extension, which writes the
 * tunnel's policy metadata (when it has any) into the header.
 */
export function encapsulate(frame: Uint8Array, kind: TunnelKind, t: TunnelMeta, srcPort: number, dstPort: number, src = t.src, gbp = false): Uint8Array {
  if (kind === 'gre') return encapsulateGre(frame, t, src);
  const opts = kind === 'geneve' && t.flags & TUN_F_GENEVE_OPT ? t.opts : NO_OPTS;
  const hdr = kind === 'vxlan' ? VXLAN_HLEN : GENEVE_HLEN + opts.length;
  const udpLen = UDP_HLEN + hdr + frame.length;
  const out = new Uint8Array(IPV4_HLEN + udpLen);
  outerHeader(out, frame, t, IPPROTO_UDP, src);
  const udp = IPV4_HLEN;
  putBe16(out, udp, srcPort);
  putBe16(out, udp + 2, dstPort);
  putBe16(out, udp + 4, udpLen);
  const h = udp + UDP_HLEN;
  // Both headers put the VNI, the low 24 bits of the tunnel id, in bytes 4-6.
  if (kind === 'vxlan') {
    // vxlan_build_gbp_hdr: nothing for a zero policy (any bit of it counts, even one the header has no room for).
    const md = gbp && t.flags & TUN_F_VXLAN_OPT && t.opts.length >= VXLAN_OPTS_LEN ? be32(t.opts, 0) : 0;
    putBe32(out, h, (VXLAN_HF_VNI | (md ? VXLAN_HF_GBP | (md & VXLAN_GBP_MD_BITS) : 0)) >>> 0);
  } else {
    let critical = false;
    for (let i = 0; i + 4 <= opts.length; i += 4 + (opts[i + 3] & 0x1f) * 4) if (opts[i + 2] & GENEVE_CRIT_OPT_TYPE) critical = true;
    out[h] = opts.length / 4;
    out[h + 1] = (t.flags & TUN_F_OAM ? 0x80 : 0) | (critical ? 0x40 : 0);
    putBe16(out, h + 2, ETH_P_TEB);
    out.set(opts, h + GENEVE_HLEN);
  }
  out[h + 4] = (t.idLo >>> 16) & 0xff;
  out[h + 5] = (t.idLo >>> 8) & 0xff;
  out[h + 6] = t.idLo & 0xff;
  out.set(frame, h + hdr);
  // The pseudo-header needs the source address: the caller supplies the route's when the action has none.
  if (t.flags & TUN_F_CSUM) setL4Checksum(out, 0, udp, udpLen, IPPROTO_UDP);
  return out;
}

/** GRE as gre_fb_xmit builds it: a key when the tunnel has one (its low 32 bits), a checksum when asked, no sequence numbers. */
function encapsulateGre(frame: Uint8Array, t: TunnelMeta, src: number): Uint8Array {
  const hlen = 4 + (t.flags & TUN_F_CSUM ? 4 : 0) + (t.flags & TUN_F_KEY ? 4 : 0);
  const out = new Uint8Array(IPV4_HLEN + hlen + frame.length);
  outerHeader(out, frame, t, IPPROTO_GRE, src);
  const g = IPV4_HLEN;
  putBe16(out, g, (t.flags & TUN_F_CSUM ? GRE_CSUM : 0) | (t.flags & TUN_F_KEY ? GRE_KEY : 0));
  putBe16(out, g + 2, ETH_P_TEB);
  if (t.flags & TUN_F_KEY) putBe32(out, g + 4 + (t.flags & TUN_F_CSUM ? 4 : 0), t.idLo);
  out.set(frame, g + hlen);
  if (t.flags & TUN_F_CSUM) putBe16(out, g + 4, internetChecksum(out, g, out.length - g));
  return out;
}

/** The outer IPv4 header (total length set; id left 0 for the kernel). */
function outerHeader(out: Uint8Array, frame: Uint8Array, t: TunnelMeta, proto: number, src: number): void {
  out[0] = 0x45;
  out[1] = outerTos(t.tos, frame);
  putBe16(out, 2, out.length);
  putBe16(out, 6, t.flags & TUN_F_DF ? IP_DF : 0);
  out[8] = t.ttl || DEFAULT_TTL;
  out[9] = proto;
  putBe32(out, 12, src);
  putBe32(out, 16, t.dst);
  setIpv4HeaderChecksum(out, 0);
}

/** The IPv4 header checksum is right (for tests and for datagrams read back). */
export function ipv4HeaderOk(ip: Uint8Array): boolean {
  return internetChecksum(ip, 0, (ip[0] & 0xf) * 4) === 0;
}
