// One frame in, one ParsedPacket out: Ethernet, then the network header its
// EtherType names, then the transport header, stopping where the frame stops.
// The rules are the kernel's key_extract(): what the kernel would key as zero
// is left zero here and its layer bit unset, and nothing throws.
import { parseArp } from './arp.js';
import {
  ETH_P_ARP,
  ETH_P_IP,
  ETH_P_IPV6,
  ETH_P_MPLS_MC,
  ETH_P_MPLS_UC,
  ETH_P_NSH,
  ETH_P_RARP,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
} from './constants.js';
import { parseEthernet } from './ethernet.js';
import { parseIcmpv6 } from './icmpv6.js';
import { parseIpv4 } from './ipv4.js';
import { parseIpv6 } from './ipv6.js';
import { parseIcmp, parseSctp, parseTcp, parseUdp } from './l4.js';
import { parseMpls } from './mpls.js';
import { parseNsh } from './nsh.js';
import { Layer, ParsedPacket } from './result.js';

/**
 * Parses the Ethernet frame buf[0..len). Pass `out` to reuse one result object
 * across packets (nothing else is allocated); it is returned.
 */
export function parsePacket(buf: Uint8Array, len = buf.length, out: ParsedPacket = new ParsedPacket()): ParsedPacket {
  out.reset(buf, len > buf.length ? buf.length : len);
  parseEthernet(out);
  if (out.layers & Layer.ETH) parseNetwork(out);
  return out;
}

/**
 * Parses a frame without an Ethernet header (an L3 packet, as after pop_eth or
 * from an L3 tunnel: the kernel's MAC_PROTO_NONE), whose type is `ethType`.
 */
export function parseL3Packet(buf: Uint8Array, ethType: number, len = buf.length, out: ParsedPacket = new ParsedPacket()): ParsedPacket {
  out.reset(buf, len > buf.length ? buf.length : len);
  out.ethType = ethType;
  out.l3 = 0;
  parseNetwork(out);
  return out;
}

function parseNetwork(p: ParsedPacket): void {
  switch (p.ethType) {
    case ETH_P_IP:
      if (!parseIpv4(p)) return;
      switch (p.ipProto) {
        case IPPROTO_TCP:
          return parseTcp(p);
        case IPPROTO_UDP:
          return parseUdp(p);
        case IPPROTO_SCTP:
          return parseSctp(p);
        case IPPROTO_ICMP:
          return parseIcmp(p);
      }
      return;
    case ETH_P_IPV6:
      if (!parseIpv6(p)) return;
      switch (p.ipProto) {
        case IPPROTO_TCP:
          return parseTcp(p);
        case IPPROTO_UDP:
          return parseUdp(p);
        case IPPROTO_SCTP:
          return parseSctp(p);
        case IPPROTO_ICMPV6:
          return parseIcmpv6(p);
      }
      return;
    case ETH_P_ARP:
    case ETH_P_RARP:
      return parseArp(p);
    case ETH_P_MPLS_UC:
    case ETH_P_MPLS_MC:
      return parseMpls(p);
    case ETH_P_NSH:
      return parseNsh(p);
  }
}
