// src/packet: parse and build Ethernet frames (VLAN, LLC/SNAP, MPLS, ARP,
// IPv4, IPv6 with extension headers, TCP, UDP, SCTP, ICMP, ICMPv6/ND) and
// compute their checksums. Parsing follows the kernel's flow key extraction so
// the fallback datapath keys packets exactly as the openvswitch module does.
export * from './constants.js';
export { be16, be32, putBe16, putBe32 } from './bytes.js';
export { Layer, layerNames, ParsedPacket } from './result.js';
export { parsePacket, parseL3Packet } from './parse.js';
export { describePacket } from './format.js';
export {
  macBytes,
  ipv4U32,
  ipv6Bytes,
  type FrameSpec,
  type VlanSpec,
  type MplsSpec,
  type L3Spec,
  type ArpSpec,
  type Ipv4Spec,
  type Ipv6Spec,
  type Ipv6ExtSpec,
  type LlcSpec,
  type RawL3Spec,
  type L4Spec,
  type TcpSpec,
  type UdpSpec,
  type SctpSpec,
  type IcmpSpec,
  type NdSpec,
  type RawL4Spec,
  type MacInput,
  type Ipv4Input,
  type Ipv6Input,
} from './spec.js';
export { buildFrame } from './build.js';
export * from './checksum.js';
export { crc32c, crc32cUpdate } from './crc32c.js';
export { isVlanTpid, writeEthAddrs, writeVlanTag, writeLlcSnap } from './ethernet.js';
export { writeArp } from './arp.js';
export { mplsLse, lseLabel, lseTc, lseBos, lseTtl, writeMplsLse } from './mpls.js';
export { writeIpv4Header } from './ipv4.js';
export { isIpv6ExtHdr, extHdrFlags, writeIpv6Header, writeIpv6Options, writeIpv6Fragment, ipv6OptionsLen } from './ipv6.js';
export { writeTcpHeader, writeUdpHeader, writeSctpHeader, writeIcmpHeader } from './l4.js';
export { writeNd, writeLlOption } from './icmpv6.js';
