// Flow keys shaped as the kernel sends them up in MISS upcalls (metadata
// first, then the packet's headers), for the switch's tests.
import type { FlowKey } from '../../src/ovs/keys.js';

const META = (inPort: number): FlowKey => ({
  priority: 0, inPort, skbMark: 0, ctState: 0, ctZone: 0, ctMark: 0, ctLabels: 0n, recircId: 0, dpHash: 0,
});

export interface L2 {
  inPort?: number;
  src?: string;
  dst?: string;
}

const eth = (o: L2): FlowKey => ({ ...META(o.inPort ?? 1), ethernet: { src: o.src ?? '00:00:00:00:00:01', dst: o.dst ?? '00:00:00:00:00:02' } });

export function ipv4Key(o: L2 & { src4?: string; dst4?: string; proto?: number; frag?: number; sport?: number; dport?: number; icmpType?: number } = {}): FlowKey {
  const proto = o.proto ?? 6;
  const frag = o.frag ?? 0;
  const k: FlowKey = {
    ...eth(o),
    ethertype: 0x0800,
    ipv4: { src: o.src4 ?? '10.0.0.1', dst: o.dst4 ?? '10.0.0.2', proto, tos: 0, ttl: 64, frag },
  };
  if (frag === 2) return k;
  if (proto === 6) {
    k.tcp = { src: o.sport ?? 1000, dst: o.dport ?? 80 };
    k.tcpFlags = 0x002;
  } else if (proto === 17) k.udp = { src: o.sport ?? 1000, dst: o.dport ?? 53 };
  else if (proto === 132) k.sctp = { src: o.sport ?? 1000, dst: o.dport ?? 9 };
  else if (proto === 1) k.icmp = { type: o.icmpType ?? 8, code: 0 };
  return k;
}

export function ipv6Key(o: L2 & { src6?: string; dst6?: string; proto?: number; frag?: number; sport?: number; dport?: number; icmpType?: number; target?: string } = {}): FlowKey {
  const proto = o.proto ?? 58;
  const frag = o.frag ?? 0;
  const k: FlowKey = {
    ...eth(o),
    ethertype: 0x86dd,
    ipv6: { src: o.src6 ?? 'fe80::1', dst: o.dst6 ?? 'ff02::1:ff00:2', label: 0, proto, tclass: 0, hlimit: 255, frag },
  };
  if (frag === 2) return k;
  if (proto === 58) {
    const type = o.icmpType ?? 135;
    k.icmpv6 = { type, code: 0 };
    if (type === 135 || type === 136) k.nd = { target: o.target ?? 'fe80::2', sll: type === 135 ? '00:00:00:00:00:01' : '00:00:00:00:00:00', tll: '00:00:00:00:00:00' };
  } else if (proto === 6) {
    k.tcp = { src: o.sport ?? 1000, dst: o.dport ?? 80 };
    k.tcpFlags = 0x002;
  } else if (proto === 17) k.udp = { src: o.sport ?? 1000, dst: o.dport ?? 53 };
  return k;
}

export function arpKey(o: L2 & { op?: number; sip?: string; tip?: string } = {}): FlowKey {
  return {
    ...eth({ dst: 'ff:ff:ff:ff:ff:ff', ...o }),
    ethertype: 0x0806,
    arp: { sip: o.sip ?? '10.0.0.1', tip: o.tip ?? '10.0.0.2', op: o.op ?? 1, sha: o.src ?? '00:00:00:00:00:01', tha: '00:00:00:00:00:00' },
  };
}

/** The same headers behind an 802.1Q tag. */
export function tagged(inner: FlowKey, vid: number, pcp = 0): FlowKey {
  const { priority, inPort, skbMark, ctState, ctZone, ctMark, ctLabels, recircId, dpHash, ethernet, ...rest } = inner;
  return {
    priority, inPort, skbMark, ctState, ctZone, ctMark, ctLabels, recircId, dpHash, ethernet,
    ethertype: 0x8100,
    vlan: { vid, pcp, cfi: 1 },
    encap: rest,
  };
}
