// One line per packet for logs, test failures and monitors: what was parsed,
// in wire order, and where the parse stopped. Not a hot path.
import { ipv4FromU32, ipv6FromBytes, macFromBytes } from '../ovs/addr.js';
import { FRAG_FIRST, FRAG_LATER } from './constants.js';
import { Layer, layerNames, type ParsedPacket } from './result.js';

const hex4 = (n: number): string => '0x' + n.toString(16).padStart(4, '0');

export function describePacket(p: ParsedPacket): string {
  const b = p.buf;
  const out: string[] = [];
  if (p.has(Layer.ETH)) out.push(`eth ${macFromBytes(b, 6)} > ${macFromBytes(b, 0)}`);
  if (p.has(Layer.VLAN)) out.push(`vlan ${p.vlanTci & 0xfff} pcp ${p.vlanTci >>> 13}${p.vlanTpid === 0x8100 ? '' : ` (${hex4(p.vlanTpid)})`}`);
  if (p.has(Layer.CVLAN)) out.push(`vlan ${p.cvlanTci & 0xfff} pcp ${p.cvlanTci >>> 13}${p.cvlanTpid === 0x8100 ? '' : ` (${hex4(p.cvlanTpid)})`}`);
  if (p.has(Layer.LLC)) out.push(p.has(Layer.SNAP) ? 'llc snap' : 'llc');
  if (p.has(Layer.ETH) && !(p.layers & (Layer.ARP | Layer.IPV4 | Layer.IPV6 | Layer.MPLS))) out.push(`type ${hex4(p.ethType)}`);
  if (p.has(Layer.MPLS) || p.mplsCount > 0) {
    const labels: number[] = [];
    for (let i = 0; i < p.mplsCount; i++) labels.push(p.mplsLse(i) >>> 12);
    out.push(`mpls ${labels.join(',')}`);
  }
  if (p.has(Layer.ARP)) out.push(`arp op ${p.arpOp} ${ipv4FromU32(p.arpSpa())} > ${ipv4FromU32(p.arpTpa())}`);
  const frag = p.ipFrag === FRAG_FIRST ? ' frag first' : p.ipFrag === FRAG_LATER ? ' frag later' : '';
  if (p.has(Layer.IPV4)) out.push(`ipv4 ${ipv4FromU32(p.ipv4Src())} > ${ipv4FromU32(p.ipv4Dst())} proto ${p.ipProto} ttl ${p.ipTtl}${frag}`);
  if (p.has(Layer.IPV6)) out.push(`ipv6 ${ipv6FromBytes(b, p.l3 + 8)} > ${ipv6FromBytes(b, p.l3 + 24)} proto ${p.ipProto} hlim ${p.ipTtl}${frag}`);
  if (p.has(Layer.TCP)) out.push(`tcp ${p.tpSrc} > ${p.tpDst} flags ${hex4(p.tcpFlags)}`);
  if (p.has(Layer.UDP)) out.push(`udp ${p.tpSrc} > ${p.tpDst}`);
  if (p.has(Layer.SCTP)) out.push(`sctp ${p.tpSrc} > ${p.tpDst}`);
  if (p.has(Layer.ICMP)) out.push(`icmp type ${p.tpSrc} code ${p.tpDst}`);
  if (p.has(Layer.ICMPV6)) out.push(`icmpv6 type ${p.tpSrc} code ${p.tpDst}`);
  if (p.has(Layer.ND)) {
    let nd = `nd target ${ipv6FromBytes(b, p.ndTarget)}`;
    if (p.ndSll >= 0) nd += ` sll ${macFromBytes(b, p.ndSll)}`;
    if (p.ndTll >= 0) nd += ` tll ${macFromBytes(b, p.ndTll)}`;
    out.push(nd);
  }
  if (p.truncated) out.push(`[truncated ${layerNames(p.truncated)}]`);
  if (p.malformed) out.push(`[malformed ${layerNames(p.malformed)}]`);
  return `${out.join(', ')} (${p.len} bytes)`;
}
