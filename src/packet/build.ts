// Frames from a typed description, with lengths and checksums filled in: for
// tests (round trips, crafted edge cases) and for the datapath where it has to
// originate a packet. Two passes: sizes first, then one allocation and the
// writes, then checksums from the inside out (transport, then IPv4 header).
//
// Every length and checksum that is computed can be overridden, so malformed
// packets are described the same way as good ones.
import { writeArp } from './arp.js';
import { putBe16, putBe32 } from './bytes.js';
import { setIpv4HeaderChecksum, setL4Checksum, writeSctpChecksum } from './checksum.js';
import {
  ARP_ETH_HLEN,
  ARPOP_REQUEST,
  ETH_P_ARP,
  ETH_P_IP,
  ETH_P_IPV6,
  ETH_P_MPLS_UC,
  ETH_P_RARP,
  ETH_P_8021Q,
  IPPROTO_AH,
  IPPROTO_DSTOPTS,
  IPPROTO_FRAGMENT,
  IPPROTO_HOPOPTS,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_NONE,
  IPPROTO_ROUTING,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IP_DF,
  IP_MF,
  ND_MSG_LEN,
  NDISC_NEIGHBOUR_ADVERTISEMENT,
  NDISC_NEIGHBOUR_SOLICITATION,
} from './constants.js';
import { writeEthAddrs, writeLlcSnap, writeVlanTag } from './ethernet.js';
import { writeNd } from './icmpv6.js';
import { writeIpv4Header } from './ipv4.js';
import { ipv6OptionsLen, writeIpv6Fragment, writeIpv6Header, writeIpv6Options } from './ipv6.js';
import { writeIcmpHeader, writeSctpHeader, writeTcpHeader, writeUdpHeader } from './l4.js';
import { mplsLse, writeMplsLse } from './mpls.js';
import {
  ipv4U32,
  ipv6Bytes,
  macBytes,
  type FrameSpec,
  type Ipv6ExtSpec,
  type L3Spec,
  type L4Spec,
} from './spec.js';

const DEFAULT_SRC = '02:00:00:00:00:01';
const DEFAULT_DST = '02:00:00:00:00:02';
const EMPTY = new Uint8Array(0);

const pad4 = (n: number): number => (n + 3) & ~3;
const pad8 = (n: number): number => (n + 7) & ~7;

function l3EthType(l3: L3Spec | undefined): number {
  switch (l3?.kind) {
    case 'arp':
      return l3.rarp ? ETH_P_RARP : ETH_P_ARP;
    case 'ipv4':
      return ETH_P_IP;
    case 'ipv6':
      return ETH_P_IPV6;
    case 'raw':
      return l3.ethType;
    default:
      return 0;
  }
}

function l4Proto(l4: L4Spec | undefined): number {
  switch (l4?.kind) {
    case 'tcp':
      return IPPROTO_TCP;
    case 'udp':
      return IPPROTO_UDP;
    case 'sctp':
      return IPPROTO_SCTP;
    case 'icmp':
      return IPPROTO_ICMP;
    case 'icmpv6':
    case 'nd':
      return IPPROTO_ICMPV6;
    case 'raw':
      return l4.proto;
    default:
      return IPPROTO_NONE;
  }
}

function extType(e: Ipv6ExtSpec): number {
  switch (e.kind) {
    case 'hop':
      return IPPROTO_HOPOPTS;
    case 'dst':
      return IPPROTO_DSTOPTS;
    case 'routing':
      return IPPROTO_ROUTING;
    case 'fragment':
      return IPPROTO_FRAGMENT;
    case 'ah':
      return IPPROTO_AH;
  }
}

function extLen(e: Ipv6ExtSpec): number {
  switch (e.kind) {
    case 'hop':
    case 'dst':
      return ipv6OptionsLen(e.options?.length ?? 0);
    case 'routing':
      return pad8(4 + (e.data?.length ?? 4));
    case 'fragment':
      return 8;
    case 'ah':
      return pad8(12 + (e.icv?.length ?? 12));
  }
}

function l3Len(l3: L3Spec | undefined): number {
  switch (l3?.kind) {
    case undefined:
      return 0;
    case 'arp':
      return ARP_ETH_HLEN;
    case 'ipv4':
      return 20 + pad4(l3.options?.length ?? 0);
    case 'ipv6': {
      let n = 40;
      for (const e of l3.ext ?? []) n += extLen(e);
      return n;
    }
    case 'llc':
      return 3 + (l3.data?.length ?? 0);
    case 'raw':
      return l3.data?.length ?? 0;
  }
}

function l4Len(l4: L4Spec | undefined): number {
  switch (l4?.kind) {
    case undefined:
      return 0;
    case 'tcp':
      return 20 + pad4(l4.options?.length ?? 0);
    case 'udp':
      return 8;
    case 'sctp':
      return 12 + (l4.chunks?.length ?? 0);
    case 'icmp':
    case 'icmpv6':
      return 8;
    case 'nd':
      return ND_MSG_LEN + (l4.sll !== undefined ? 8 : 0) + (l4.tll !== undefined ? 8 : 0) + (l4.options?.length ?? 0);
    case 'raw':
      return l4.data?.length ?? 0;
  }
}

function payloadBytes(p: FrameSpec['payload']): Uint8Array {
  if (p === undefined) return EMPTY;
  if (typeof p !== 'number') return p;
  const out = new Uint8Array(p);
  for (let i = 0; i < p; i++) out[i] = i;
  return out;
}

/** Builds the frame a spec describes. Throws RangeError for address text that does not parse. */
export function buildFrame(spec: FrameSpec): Uint8Array {
  const { l3, l4 } = spec;
  const payload = payloadBytes(spec.payload);
  const vlans = spec.vlans ?? [];
  const mpls = spec.mpls ?? [];
  const nL3 = l3Len(l3);
  const nL4 = l4Len(l4);
  const l2Len = 14 + 4 * vlans.length + (spec.snap ? 8 : 0) + 4 * mpls.length;
  const dataLen = l2Len + nL3 + nL4 + payload.length;
  const b = new Uint8Array(Math.max(dataLen, spec.padTo ?? 0));

  // L2
  let off = writeEthAddrs(b, 0, macBytes(spec.dst ?? DEFAULT_DST), macBytes(spec.src ?? DEFAULT_SRC));
  for (const v of vlans) {
    const tci = v.tci ?? (((v.pcp ?? 0) & 7) << 13) | (((v.dei ?? 0) & 1) << 12) | ((v.vid ?? 0) & 0xfff);
    off = writeVlanTag(b, off, v.tpid ?? ETH_P_8021Q, tci);
  }
  const innerType = spec.ethType ?? (mpls.length ? ETH_P_MPLS_UC : l3EthType(l3));
  if (spec.snap) {
    // The 802.3 length counts the LLC header and what follows, not padding.
    putBe16(b, off, dataLen - off - 2);
    off = writeLlcSnap(b, off + 2, spec.snap.oui ?? 0, innerType, spec.snap.ctrl ?? 3);
  } else if (l3?.kind === 'llc' && spec.ethType === undefined) {
    putBe16(b, off, dataLen - off - 2);
    off += 2;
  } else {
    putBe16(b, off, innerType);
    off += 2;
  }
  for (let i = 0; i < mpls.length; i++) {
    const m = mpls[i];
    off = writeMplsLse(b, off, mplsLse(m.label, m.tc ?? 0, m.bos ?? i === mpls.length - 1, m.ttl ?? 64));
  }

  // L3
  const l3Off = off;
  const l4Off = l3Off + nL3;
  const proto = l4Proto(l4);
  const ipPayloadLen = nL4 + payload.length;
  switch (l3?.kind) {
    case 'arp': {
      const zero = new Uint8Array(6);
      writeArp(
        b,
        off,
        l3.op ?? ARPOP_REQUEST,
        l3.sha !== undefined ? macBytes(l3.sha) : zero,
        ipv4U32(l3.spa ?? 0),
        l3.tha !== undefined ? macBytes(l3.tha) : zero,
        ipv4U32(l3.tpa ?? 0),
        l3.hrd,
        l3.pro,
        l3.hln,
        l3.pln,
      );
      break;
    }
    case 'ipv4': {
      const hl = nL3;
      const frag = (l3.df ? IP_DF : 0) | (l3.mf ? IP_MF : 0) | ((l3.fragOffset ?? 0) & 0x1fff);
      writeIpv4Header(
        b,
        off,
        l3.ihl ?? hl,
        l3.tos ?? 0,
        l3.totalLength ?? hl + ipPayloadLen,
        l3.id ?? 0,
        frag,
        l3.ttl ?? 64,
        l3.proto ?? proto,
        ipv4U32(l3.src),
        ipv4U32(l3.dst),
      );
      if (l3.options) b.set(l3.options, off + 20);
      break;
    }
    case 'ipv6': {
      const ext = l3.ext ?? [];
      const first = l3.nextHeader ?? (ext.length ? extType(ext[0]) : proto);
      let at = writeIpv6Header(
        b,
        off,
        l3.tclass ?? 0,
        l3.flowLabel ?? 0,
        l3.payloadLength ?? nL3 - 40 + ipPayloadLen,
        first,
        l3.hopLimit ?? 64,
        ipv6Bytes(l3.src),
        ipv6Bytes(l3.dst),
      );
      for (let i = 0; i < ext.length; i++) {
        const e = ext[i];
        const next = e.nextHeader ?? (i + 1 < ext.length ? extType(ext[i + 1]) : proto);
        at = writeExt(b, at, e, next);
      }
      break;
    }
    case 'llc':
      b[off] = l3.dsap ?? 0x42;
      b[off + 1] = l3.ssap ?? 0x42;
      b[off + 2] = l3.ctrl ?? 0x03;
      if (l3.data) b.set(l3.data, off + 3);
      break;
    case 'raw':
      if (l3.data) b.set(l3.data, off);
      break;
  }

  // L4
  off = l4Off;
  const l4Total = nL4 + payload.length;
  switch (l4?.kind) {
    case 'tcp':
      writeTcpHeader(b, off, l4.src, l4.dst, l4.seq ?? 0, l4.ack ?? 0, l4.dataOffset ?? nL4, l4.flags ?? 0, l4.window ?? 65535, l4.urgent ?? 0);
      if (l4.options) b.set(l4.options, off + 20);
      break;
    case 'udp':
      writeUdpHeader(b, off, l4.src, l4.dst, l4.length ?? l4Total);
      break;
    case 'sctp':
      writeSctpHeader(b, off, l4.src, l4.dst, l4.vtag ?? 0);
      if (l4.chunks) b.set(l4.chunks, off + 12);
      break;
    case 'icmp':
    case 'icmpv6':
      writeIcmpHeader(b, off, l4.type, l4.code ?? 0, l4.rest ?? 0);
      break;
    case 'nd': {
      const type = l4.type === 'ns' ? NDISC_NEIGHBOUR_SOLICITATION : NDISC_NEIGHBOUR_ADVERTISEMENT;
      const flags = (l4.router ? 0x80 : 0) | (l4.solicited ? 0x40 : 0) | (l4.override ? 0x20 : 0);
      const end = writeNd(
        b,
        off,
        type,
        flags,
        ipv6Bytes(l4.target),
        l4.sll !== undefined ? macBytes(l4.sll) : undefined,
        l4.tll !== undefined ? macBytes(l4.tll) : undefined,
      );
      if (l4.options) b.set(l4.options, end);
      break;
    }
    case 'raw':
      if (l4.data) b.set(l4.data, off);
      break;
  }
  b.set(payload, l4Off + nL4);

  // Checksums, inside out: the transport checksum does not cover the IPv4
  // header checksum, but a pseudo-header reads the addresses written above.
  if (l4 && l4.kind !== 'raw' && (l3?.kind === 'ipv4' || l3?.kind === 'ipv6')) {
    const given = 'checksum' in l4 ? l4.checksum : undefined;
    if (given === undefined) {
      setL4Checksum(b, l3Off, l4Off, l4Total, proto);
    } else if (l4.kind === 'sctp') {
      writeSctpChecksum(b, l4Off, given as number);
    } else {
      const at = l4.kind === 'tcp' ? 16 : l4.kind === 'udp' ? 6 : 2;
      putBe16(b, l4Off + at, given === 'none' ? 0 : given);
    }
  }
  if (l3?.kind === 'ipv4') {
    if (l3.checksum === undefined) setIpv4HeaderChecksum(b, l3Off);
    else putBe16(b, l3Off + 10, l3.checksum);
  }
  return b;
}

function writeExt(b: Uint8Array, off: number, e: Ipv6ExtSpec, next: number): number {
  switch (e.kind) {
    case 'hop':
    case 'dst':
      return writeIpv6Options(b, off, next, e.options ?? EMPTY);
    case 'routing': {
      const data = e.data ?? new Uint8Array(4);
      const total = extLen(e);
      b[off] = next;
      b[off + 1] = total / 8 - 1;
      b[off + 2] = e.routingType ?? 4;
      b[off + 3] = e.segmentsLeft ?? 0;
      b.set(data, off + 4);
      return off + total;
    }
    case 'fragment':
      return writeIpv6Fragment(b, off, next, e.offset ?? 0, e.more ?? false, e.id ?? 0);
    case 'ah': {
      const icv = e.icv ?? new Uint8Array(12);
      const total = extLen(e);
      b[off] = next;
      // AH counts its length in 4-byte units, minus 2 (RFC 4302).
      b[off + 1] = total / 4 - 2;
      b[off + 2] = 0;
      b[off + 3] = 0;
      putBe32(b, off + 4, e.spi ?? 0x100);
      putBe32(b, off + 8, e.seq ?? 1);
      b.set(icv, off + 12);
      return off + total;
    }
  }
}
