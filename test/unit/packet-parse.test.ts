// The parser against the rules of the kernel's ovs_flow_key_extract()
// (net/openvswitch/flow.c): each case names the kernel behaviour it pins down.
import { describe, expect, it } from 'vitest';
import {
  buildFrame,
  describePacket,
  ETH_TYPE_NONE,
  extHdrFlags,
  FRAG_FIRST,
  FRAG_LATER,
  FRAG_NONE,
  IPV6_EXT_AUTH,
  IPV6_EXT_DEST,
  IPV6_EXT_FRAG,
  IPV6_EXT_HOP,
  IPV6_EXT_NONEXT,
  IPV6_EXT_ROUTER,
  IPV6_EXT_UNREP,
  IPV6_EXT_UNSEQ,
  Layer,
  layerNames,
  lseLabel,
  parseL3Packet,
  parsePacket,
  ParsedPacket,
  type FrameSpec,
  type Ipv6ExtSpec,
} from '../../src/packet/index.js';
import { kernelCutsShortIpv6Chain } from '../../src/packet/ipv6.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const parse = (spec: FrameSpec): ParsedPacket => parsePacket(buildFrame(spec));
const layers = (p: ParsedPacket): string => layerNames(p.layers);

const v4 = { kind: 'ipv4', src: '10.0.0.1', dst: '10.0.0.2' } as const;
const v6 = { kind: 'ipv6', src: 'fe80::1', dst: 'fe80::2' } as const;
const udp = { kind: 'udp', src: 1000, dst: 2000 } as const;
const tcp = { kind: 'tcp', src: 1000, dst: 2000 } as const;
const MACS = '020000000002 020000000001';

describe('Ethernet, VLAN and LLC (parse_vlan, parse_ethertype)', () => {
  it('reads an untagged frame', () => {
    const p = parse({ l3: v4, l4: udp, padTo: 60 });
    expect(layers(p)).toBe('eth,ipv4,udp');
    expect([p.ethType, p.l3, p.l4, p.l4HdrLen, p.payload]).toEqual([0x0800, 14, 34, 8, 42]);
    expect(toHex(p.ethSrc())).toBe('020000000001');
    expect(toHex(p.ethDst())).toBe('020000000002');
  });

  it('reads one 802.1Q tag and two tags (802.1ad outside)', () => {
    const one = parse({ vlans: [{ vid: 100, pcp: 5 }], l3: v4, l4: udp });
    expect(layers(one)).toBe('eth,vlan,ipv4,udp');
    expect([one.vlanTpid, one.vlanTci, one.l3]).toEqual([0x8100, (5 << 13) | 100, 18]);
    const two = parse({ vlans: [{ tpid: 0x88a8, vid: 10 }, { vid: 20 }], l3: v6, l4: tcp });
    expect(layers(two)).toBe('eth,vlan,cvlan,ipv6,tcp');
    expect([two.vlanTpid, two.vlanTci, two.cvlanTpid, two.cvlanTci, two.ethType, two.l3]).toEqual([0x88a8, 10, 0x8100, 20, 0x86dd, 22]);
  });

  it('takes a third tag as the EtherType', () => {
    const p = parse({ vlans: [{ vid: 1 }, { vid: 2 }, { vid: 3 }], l3: v4 });
    expect(layers(p)).toBe('eth,vlan,cvlan');
    expect([p.ethType, p.l3]).toEqual([0x8100, 22]);
  });

  it('does not take a tag without TCI and a type behind it: the TPID is the EtherType', () => {
    for (const n of [14, 16, 17]) {
      const p = parsePacket(hex(MACS + '8100 0064 0800').subarray(0, n));
      expect(layers(p)).toBe('eth');
      expect([p.ethType, p.l3, p.vlanTci, p.truncated]).toEqual([0x8100, 14, 0, Layer.VLAN]);
    }
    const p = parsePacket(hex(MACS + '8100 0064 0800'));
    expect([layers(p), p.ethType, p.vlanTci, p.l3]).toEqual(['eth,vlan', 0x0800, 100, 18]);
    const inner = parsePacket(hex(MACS + '88a8 000a 8100 0014'));
    expect([layers(inner), inner.ethType, inner.truncated, inner.l3]).toEqual(['eth,vlan', 0x8100, Layer.CVLAN, 18]);
  });

  it('keys a frame shorter than Ethernet as nothing', () => {
    for (let n = 0; n < 14; n++) {
      const p = parsePacket(new Uint8Array(n));
      expect([p.layers, p.truncated, p.l3]).toEqual([0, Layer.ETH, -1]);
    }
  });

  it('gives 802.2 LLC frames the type 0x05ff', () => {
    const stp = parse({ l3: { kind: 'llc', dsap: 0x42, ssap: 0x42, data: new Uint8Array(35) } });
    expect([layers(stp), stp.ethType, stp.l3]).toEqual(['eth,llc', ETH_TYPE_NONE, 14]);
    const short = parsePacket(hex(MACS + '0005 aaaa030000'));
    expect([layers(short), short.ethType, short.l3]).toEqual(['eth,llc', ETH_TYPE_NONE, 14]);
    // 0x0600 is the first EtherType, not a length.
    const xns = parse({ l3: { kind: 'raw', ethType: 0x0600, data: new Uint8Array(46) } });
    expect([layers(xns), xns.ethType]).toEqual(['eth', 0x0600]);
  });

  it('steps over LLC/SNAP with a zero OUI to its EtherType', () => {
    const p = parse({ snap: {}, l3: v4, l4: udp, payload: 3 });
    expect(layers(p)).toBe('eth,llc,snap,ipv4,udp');
    expect([p.ethType, p.l3, p.l4]).toEqual([0x0800, 22, 42]);
    const tagged = parse({ vlans: [{ vid: 7 }], snap: {}, l3: v6, l4: udp });
    expect([layers(tagged), tagged.l3]).toEqual(['eth,vlan,llc,snap,ipv6,udp', 26]);
  });

  it('does not step over SNAP with a nonzero OUI; steps over it but keys 0x05ff for a SNAP type below 0x600', () => {
    const cisco = parse({ snap: { oui: 0x00000c }, l3: v4, l4: udp });
    expect([layers(cisco), cisco.ethType, cisco.l3]).toEqual(['eth,llc', ETH_TYPE_NONE, 14]);
    const low = parse({ snap: {}, ethType: 0x0100, l3: { kind: 'raw', ethType: 0, data: new Uint8Array(8) } });
    expect([layers(low), low.ethType, low.l3]).toEqual(['eth,llc,snap', ETH_TYPE_NONE, 22]);
  });
});

describe('ARP', () => {
  it('reads an Ethernet/IPv4 request and RARP', () => {
    const p = parse({ l3: { kind: 'arp', op: 1, sha: '02:00:00:00:00:01', spa: '10.0.0.1', tpa: '10.0.0.2' }, padTo: 60 });
    expect(layers(p)).toBe('eth,arp');
    expect([p.arpOp, p.arpSpa(), p.arpTpa(), toHex(p.arpSha()), toHex(p.arpTha())]).toEqual([1, 0x0a000001, 0x0a000002, '020000000001', '000000000000']);
    expect(parse({ l3: { kind: 'arp', rarp: true, op: 3 } }).arpOp).toBe(3);
  });

  it('keeps a 16-bit opcode (the kernel keys it only below 0x100)', () => {
    expect(parse({ l3: { kind: 'arp', op: 0x1234 } }).arpOp).toBe(0x1234);
  });

  it('keys non-Ethernet/IPv4 ARP as zeros and a short one as absent', () => {
    for (const bad of [{ hrd: 6 }, { pro: 0x86dd }, { hln: 8 }, { pln: 16 }]) {
      const p = parse({ l3: { kind: 'arp', op: 1, ...bad } });
      expect([layers(p), p.malformed, p.arpOp]).toEqual(['eth', Layer.ARP, 0]);
    }
    const f = buildFrame({ l3: { kind: 'arp', op: 2 } });
    const p = parsePacket(f, f.length - 1);
    expect([layers(p), p.truncated]).toEqual(['eth', Layer.ARP]);
  });
});

describe('MPLS', () => {
  it('walks the stack to the bottom-of-stack entry', () => {
    const p = parse({ mpls: [{ label: 100, tc: 1, ttl: 9 }, { label: 200 }], l3: v4, l4: udp });
    expect(layers(p)).toBe('eth,mpls');
    expect([p.ethType, p.l3, p.mplsCount, p.mplsEnd]).toEqual([0x8847, 14, 2, 22]);
    expect(p.mplsLse(0)).toBe(((100 << 12) | (1 << 9) | 9) >>> 0);
    expect(lseLabel(p.mplsLse(1))).toBe(200);
    const deep = parse({ ethType: 0x8848, mpls: [1, 2, 3, 4, 5].map((label) => ({ label })) });
    expect([layers(deep), deep.mplsCount, deep.mplsEnd]).toEqual(['eth,mpls', 5, 34]);
  });

  it('reports a stack without bottom as truncated with the entries read', () => {
    const f = buildFrame({ mpls: [{ label: 1, bos: false }, { label: 2, bos: false }] });
    const p = parsePacket(f);
    expect([layers(p), p.truncated, p.mplsCount, p.mplsEnd]).toEqual(['eth', Layer.MPLS, 2, -1]);
  });
});

describe('IPv4 (check_iphdr)', () => {
  it('reads the header fields', () => {
    const p = parse({ l3: { ...v4, tos: 0xb8, ttl: 7, id: 99, df: true }, l4: udp });
    expect([p.ipProto, p.ipTos, p.ipTtl, p.ipFrag, p.ipHdrLen, p.ipTotalLen, p.ipv4Src(), p.ipv4Dst()]).toEqual([17, 0xb8, 7, FRAG_NONE, 20, 28, 0x0a000001, 0x0a000002]);
  });

  it('steps over options to the transport header', () => {
    const p = parse({ l3: { ...v4, options: new Uint8Array([0x94, 4, 0, 0, 1]) }, l4: tcp });
    expect([layers(p), p.ipHdrLen, p.l4, p.tpSrc]).toEqual(['eth,ipv4,tcp', 28, 42, 1000]);
  });

  it('keys an IHL below 5 or a header past the frame as all zeros', () => {
    const small = parse({ l3: { ...v4, ihl: 16, ttl: 9 }, l4: udp });
    expect([layers(small), small.malformed, small.ipTtl, small.ipProto, small.l4]).toEqual(['eth', Layer.IPV4, 0, 0, -1]);
    const big = parse({ l3: { ...v4, ihl: 60 }, l4: udp, payload: 10 });
    expect([layers(big), big.truncated, big.ipProto]).toEqual(['eth', Layer.IPV4, 0]);
    const f = buildFrame({ l3: v4 });
    expect(parsePacket(f, 33).truncated).toBe(Layer.IPV4);
  });

  it('checks neither the version nor the total length', () => {
    const f = buildFrame({ l3: { ...v4, totalLength: 1500 }, l4: udp });
    f[14] = 0x55;
    const p = parsePacket(f);
    expect([layers(p), p.ipTotalLen]).toEqual(['eth,ipv4,udp', 1500]);
  });

  it('makes MF with offset 0 a FIRST fragment, keyed down to the ports', () => {
    const p = parse({ l3: { ...v4, mf: true }, l4: udp });
    expect([layers(p), p.ipFrag, p.ipMoreFrags, p.tpDst]).toEqual(['eth,ipv4,udp', FRAG_FIRST, 1, 2000]);
  });

  it('makes any offset a LATER fragment and does not look past the IP header', () => {
    const p = parse({ l3: { ...v4, fragOffset: 185, mf: true }, l4: udp, payload: 8 });
    expect([layers(p), p.ipFrag, p.ipFragOff, p.ipProto, p.tpSrc, p.l4, p.l4Proto]).toEqual(['eth,ipv4', FRAG_LATER, 185, 17, 0, 34, 17]);
  });

  it('parses ICMP only over IPv4 and reads type and code into the ports', () => {
    const p = parse({ l3: v4, l4: { kind: 'icmp', type: 3, code: 4 } });
    expect([layers(p), p.tpSrc, p.tpDst]).toEqual(['eth,ipv4,icmp', 3, 4]);
    const q = parse({ l3: v4, l4: { kind: 'icmpv6', type: 128 } });
    expect(layers(q)).toBe('eth,ipv4');
    const r = parse({ l3: v6, l4: { kind: 'icmp', type: 8 } });
    expect(layers(r)).toBe('eth,ipv6');
  });

  it('works without an Ethernet header (MAC_PROTO_NONE)', () => {
    const f = buildFrame({ l3: v4, l4: udp });
    const p = parseL3Packet(f.subarray(14), 0x0800);
    expect([layers(p), p.l3, p.l4, p.tpDst]).toEqual(['ipv4,udp', 0, 20, 2000]);
  });
});

describe('transport headers', () => {
  it('reads all 12 TCP flag bits and the data offset', () => {
    const p = parse({ l3: v4, l4: { ...tcp, flags: 0xfff, options: new Uint8Array([2, 4, 5, 0xb4, 1, 1, 4, 2]) }, payload: 5 });
    expect([layers(p), p.tcpFlags, p.l4HdrLen, p.payload, p.payloadView().length]).toEqual(['eth,ipv4,tcp', 0xfff, 28, 62, 5]);
  });

  it('keys a TCP data offset below 5, or one past the frame, as zeros', () => {
    const small = parse({ l3: v4, l4: { ...tcp, flags: 2, dataOffset: 16 }, payload: 20 });
    expect([layers(small), small.malformed, small.tpSrc, small.tcpFlags]).toEqual(['eth,ipv4', Layer.TCP, 0, 0]);
    const big = parse({ l3: v4, l4: { ...tcp, flags: 2, dataOffset: 60 }, payload: 20 });
    expect([layers(big), big.truncated, big.tpSrc, big.tcpFlags]).toEqual(['eth,ipv4', Layer.TCP, 0, 0]);
  });

  it('needs 8 bytes of UDP, 12 of SCTP, 8 of ICMP', () => {
    for (const [l4, need] of [
      [udp, 8],
      [{ kind: 'sctp', src: 1, dst: 2 }, 12],
      [{ kind: 'icmp', type: 0 }, 8],
    ] as const) {
      const f = buildFrame({ l3: v4, l4 });
      expect(parsePacket(f, 34 + need).layers & ~(Layer.ETH | Layer.IPV4)).not.toBe(0);
      const p = parsePacket(f, 34 + need - 1);
      expect([layers(p), p.tpSrc, p.tpDst]).toEqual(['eth,ipv4', 0, 0]);
      expect(p.truncated).not.toBe(0);
    }
    const s = parse({ l3: v6, l4: { kind: 'sctp', src: 5, dst: 6 } });
    expect([layers(s), s.tpSrc, s.tpDst]).toEqual(['eth,ipv6,sctp', 5, 6]);
  });
});

describe('IPv6 (parse_ipv6hdr, ipv6_find_hdr)', () => {
  it('reads traffic class, flow label, hop limit and addresses', () => {
    const p = parse({ l3: { ...v6, tclass: 0xa5, flowLabel: 0xfedcb, hopLimit: 3 }, l4: udp });
    expect(layers(p)).toBe('eth,ipv6,udp');
    expect([p.ipTos, p.ipv6Label, p.ipTtl, p.ipProto, p.ipFrag, p.l4, p.ipv6Exthdrs]).toEqual([0xa5, 0xfedcb, 3, 17, FRAG_NONE, 54, 0]);
    expect(toHex(p.ipv6Src())).toBe('fe800000000000000000000000000001');
    expect(toHex(p.ipv6Dst())).toBe('fe800000000000000000000000000002');
  });

  it('keys a header cut short as zeros', () => {
    const f = buildFrame({ l3: { ...v6, hopLimit: 9 }, l4: udp });
    const p = parsePacket(f, 53);
    expect([layers(p), p.truncated, p.ipTtl, p.ipProto]).toEqual(['eth', Layer.IPV6, 0, 0]);
  });

  it('walks hop-by-hop, destination, routing, fragment and AH headers to the transport header', () => {
    const ext: Ipv6ExtSpec[] = [
      { kind: 'hop', options: new Uint8Array([5, 2, 0, 0]) },
      { kind: 'dst', options: new Uint8Array(10) },
      { kind: 'routing', segmentsLeft: 0, data: new Uint8Array(20) },
      { kind: 'fragment', offset: 0, more: true, id: 7 },
      { kind: 'ah', icv: new Uint8Array(12) },
    ];
    const p = parse({ l3: { ...v6, ext }, l4: tcp, payload: 4 });
    // 40 + 8 + 16 + 24 + 8 + 24
    expect(layers(p)).toBe('eth,ipv6,ipv6_ext,tcp');
    expect([p.ipProto, p.ipFrag, p.ipMoreFrags, p.ipHdrLen, p.l4, p.ipv6FragHdr, p.tpDst]).toEqual([6, FRAG_FIRST, 1, 120, 134, 102, 2000]);
  });

  it('stops at ESP and at "no next header", which become the protocol', () => {
    const esp = parse({ l3: { ...v6, ext: [{ kind: 'dst' }] }, l4: { kind: 'raw', proto: 50, data: new Uint8Array(16) } });
    expect([layers(esp), esp.ipProto, esp.l4]).toEqual(['eth,ipv6,ipv6_ext', 50, 62]);
    const none = parse({ l3: { ...v6, nextHeader: 59 }, payload: 8 });
    expect([layers(none), none.ipProto, none.ipv6Exthdrs]).toEqual(['eth,ipv6', 59, IPV6_EXT_NONEXT]);
  });

  it('keys a later fragment with protocol 44 and nothing past the fragment header', () => {
    const p = parse({ l3: { ...v6, ext: [{ kind: 'hop' }, { kind: 'fragment', offset: 100, id: 1 }] }, l4: udp, payload: 8 });
    expect(layers(p)).toBe('eth,ipv6,ipv6_ext');
    expect([p.ipFrag, p.ipProto, p.ipFragOff, p.l4, p.l4Proto, p.tpSrc]).toEqual([FRAG_LATER, 44, 100, 70, 17, 0]);
  });

  it('keys a later fragment followed by another extension header as FIRST with protocol 59 (lookup fails early)', () => {
    const p = parse({ l3: { ...v6, ext: [{ kind: 'fragment', offset: 100 }, { kind: 'dst' }] }, l4: udp });
    expect([layers(p), p.ipFrag, p.ipProto, p.malformed, p.l4]).toEqual(['eth,ipv6', FRAG_FIRST, 59, Layer.IPV6_EXT, -1]);
  });

  it('keys a chain cut short with protocol 59, keeping the fixed header', () => {
    const f = buildFrame({ l3: { ...v6, hopLimit: 5, ext: [{ kind: 'hop' }, { kind: 'routing' }, { kind: 'fragment', more: true }] }, l4: udp });
    const cases: [number, number][] = [
      [55, FRAG_NONE], // hop: 1 of 2 bytes
      [63, FRAG_NONE], // routing: 1 of 4 bytes
      [65, FRAG_NONE], // routing: 3 of 4 bytes
      [70, FRAG_NONE], // fragment: 0 bytes
      [71, FRAG_NONE], // fragment: 1 byte
      [72, FRAG_FIRST], // fragment: next header and reserved read, offset not: already a fragment
      [73, FRAG_FIRST],
    ];
    for (const [n, frag] of cases) {
      const p = parsePacket(f, n);
      expect([n, layers(p), p.truncated, p.ipProto, p.ipFrag, p.ipTtl]).toEqual([n, 'eth,ipv6', Layer.IPV6_EXT, 59, frag, 5]);
    }
    // The fragment header read but cut before its end: still protocol 59.
    const cut = parsePacket(f, 77);
    expect([layers(cut), cut.ipProto, cut.ipFrag, cut.truncated]).toEqual(['eth,ipv6', 59, FRAG_FIRST, Layer.IPV6_EXT]);
    const whole = parsePacket(f, 80);
    expect([layers(whole), whole.ipProto, whole.ipFrag, whole.truncated]).toEqual(['eth,ipv6,ipv6_ext', 17, FRAG_FIRST, Layer.UDP]);
  });

  // Measured (test/diff/miss-keys.test.ts): 6.12 does not check that the
  // last extension header fits; the transport header is then just absent.
  it('as 6.12.107: does not check that an extension header fits', () => {
    const f = buildFrame({ l3: { ...v6, ext: [{ kind: 'hop', options: new Uint8Array(100) }] }, l4: tcp });
    const out = new ParsedPacket();
    out.ipv6ChainMustFit = false;
    const p = parsePacket(f, 60, out);
    expect([layers(p), p.ipProto, p.l4, p.truncated]).toEqual(['eth,ipv6,ipv6_ext', 6, 158, Layer.TCP]);
    // A setting: reusing the result keeps it.
    expect(parsePacket(f, 61, out).ipv6ChainMustFit).toBe(false);
    // Releases as the test VM measured them, and the ones around them.
    const releases = ['6.1.0-56-amd64', '6.12.107+deb13-amd64', '6.12.116', '6.12.117+deb13-amd64', '6.12', '6.18.44', '5.10.0', 'odd'];
    expect(releases.map(kernelCutsShortIpv6Chain)).toEqual([true, false, false, true, false, true, true, true]);
  });

  // Measured on the 6.1 module (test/diff/miss-keys.test.ts): a chain whose
  // last extension header does not fit is keyed as protocol 59.
  it('as 6.1 (the default): keys the upper layer only when every extension header fits', () => {
    const f = buildFrame({ l3: { ...v6, ext: [{ kind: 'hop', options: new Uint8Array(100) }] }, l4: tcp });
    const p = parsePacket(f, 60);
    expect([layers(p), p.ipProto, p.truncated]).toEqual(['eth,ipv6', 59, Layer.IPV6_EXT]);
    const q = parsePacket(f, 160);
    expect([layers(q), q.ipProto, q.l4, q.truncated]).toEqual(['eth,ipv6,ipv6_ext', 6, 158, Layer.TCP]);
  });

  it('computes OVS_KEY_ATTR_IPV6_EXTHDRS as get_ipv6_ext_hdrs() does', () => {
    const flags = (ext: Ipv6ExtSpec[], nextHeader?: number): number => parse({ l3: { ...v6, ext, nextHeader }, l4: udp }).ipv6Exthdrs;
    const H = IPV6_EXT_HOP;
    const D = IPV6_EXT_DEST;
    const R = IPV6_EXT_ROUTER;
    const F = IPV6_EXT_FRAG;
    const A = IPV6_EXT_AUTH;
    expect(flags([])).toBe(0);
    expect(flags([{ kind: 'hop' }, { kind: 'dst' }, { kind: 'routing' }, { kind: 'fragment' }, { kind: 'dst' }])).toBe(H | D | R | F);
    expect(flags([{ kind: 'dst' }, { kind: 'hop' }])).toBe(D | IPV6_EXT_UNSEQ);
    expect(flags([{ kind: 'hop' }, { kind: 'hop' }])).toBe(H | IPV6_EXT_UNREP | IPV6_EXT_UNSEQ);
    // A repeat is also out of order: ROUTER is not in its own allowed set.
    expect(flags([{ kind: 'routing' }, { kind: 'routing' }])).toBe(R | IPV6_EXT_UNREP | IPV6_EXT_UNSEQ);
    expect(flags([{ kind: 'routing' }, { kind: 'dst' }])).toBe(R | D | IPV6_EXT_UNSEQ);
    expect(flags([{ kind: 'dst' }, { kind: 'dst' }, { kind: 'dst' }])).toBe(D | IPV6_EXT_UNREP);
    expect(flags([{ kind: 'dst' }, { kind: 'dst' }, { kind: 'fragment' }])).toBe(D | F | IPV6_EXT_UNSEQ);
    expect(flags([{ kind: 'fragment' }, { kind: 'routing' }])).toBe(F | R | IPV6_EXT_UNSEQ);
    expect(flags([], 59)).toBe(IPV6_EXT_NONEXT);
    expect(flags([{ kind: 'hop', nextHeader: 59 }])).toBe(H | IPV6_EXT_NONEXT);
    // The kernel's AH check lists IPPROTO_FRAGMENT (44 = AUTH|DEST|ROUTER) for
    // the FRAG bit, so a fragment header before AH counts as out of order.
    expect(flags([{ kind: 'routing' }, { kind: 'ah', icv: new Uint8Array(4) }])).toBe(R | A);
    expect(flags([{ kind: 'fragment' }, { kind: 'ah', icv: new Uint8Array(4) }])).toBe(F | A | IPV6_EXT_UNSEQ);
    // ESP stops the walk before it is counted.
    expect(flags([{ kind: 'hop', nextHeader: 50 }])).toBe(H);
  });

  it('steps over AH as (len + 1) * 8 bytes when summing extension headers, as the kernel does', () => {
    // AH of 16 bytes (length byte 2) at 54, a 16-byte routing header at 70,
    // UDP at 86. The sum takes AH for 24 bytes and reads a "next header" at
    // 78, inside the routing data, where we put 44: a fragment header that is
    // not there gets counted. The protocol walk (ipv6_find_hdr) is right.
    const data = new Uint8Array(12);
    data[4] = 44;
    const f = buildFrame({ l3: { ...v6, ext: [{ kind: 'ah', icv: new Uint8Array(4) }, { kind: 'routing', data }] }, l4: udp });
    const p = parsePacket(f);
    expect([p.ipv6Exthdrs, p.ipProto, p.l4]).toEqual([IPV6_EXT_AUTH | IPV6_EXT_ROUTER | IPV6_EXT_UNSEQ | IPV6_EXT_FRAG, 17, 86]);
    expect(extHdrFlags(f, 14, f.length)).toBe(p.ipv6Exthdrs);
  });
});

describe('ICMPv6 and neighbour discovery (parse_icmpv6)', () => {
  const target = 'fe80::abcd';
  it('reads type and code into the ports', () => {
    const p = parse({ l3: v6, l4: { kind: 'icmpv6', type: 128, code: 0, rest: 0x10002 } });
    expect([layers(p), p.tpSrc, p.tpDst, p.ndTarget]).toEqual(['eth,ipv6,icmpv6', 128, 0, -1]);
  });

  it('reads the target and the link-layer address options of NS and NA', () => {
    const ns = parse({ l3: v6, l4: { kind: 'nd', type: 'ns', target, sll: '02:aa:bb:cc:dd:ee' } });
    expect(layers(ns)).toBe('eth,ipv6,icmpv6,nd');
    expect([ns.tpSrc, ns.ndTarget, ns.ndSll, ns.ndTll, ns.l4HdrLen]).toEqual([135, 62, 80, -1, 24]);
    expect(toHex(ns.ndTargetAddr()!)).toBe('fe80000000000000000000000000abcd');
    expect(toHex(ns.ndSllAddr()!)).toBe('02aabbccddee');
    const na = parse({ l3: v6, l4: { kind: 'nd', type: 'na', target, tll: '02:00:00:00:00:09', solicited: true } });
    expect([na.tpSrc, na.ndSll, toHex(na.ndTllAddr()!)]).toEqual([136, -1, '020000000009']);
  });

  it('is not ND with a nonzero code', () => {
    const f = buildFrame({ l3: v6, l4: { kind: 'nd', type: 'ns', target, sll: '02:00:00:00:00:01' } });
    f[55] = 1;
    const p = parsePacket(f);
    expect([layers(p), p.tpDst, p.ndTarget]).toEqual(['eth,ipv6,icmpv6', 1, -1]);
  });

  it('needs the whole 24-byte message for the target', () => {
    const f = buildFrame({ l3: v6, l4: { kind: 'nd', type: 'ns', target } });
    const p = parsePacket(f, f.length - 1);
    expect([layers(p), p.truncated, p.tpSrc, p.ndTarget]).toEqual(['eth,ipv6,icmpv6', Layer.ND, 135, -1]);
  });

  it('voids target and addresses on a second nonzero link-layer address option of a kind', () => {
    const opts = new Uint8Array([1, 1, 2, 0, 0, 0, 0, 9]);
    const p = parse({ l3: v6, l4: { kind: 'nd', type: 'ns', target, sll: '02:00:00:00:00:01', tll: '02:00:00:00:00:02', options: opts } });
    expect([layers(p), p.malformed, p.tpSrc, p.ndTarget, p.ndSll, p.ndTll]).toEqual(['eth,ipv6,icmpv6', Layer.ND, 135, -1, -1, -1]);
    // A first option carrying the zero address does not count as seen.
    const q = parse({ l3: v6, l4: { kind: 'nd', type: 'ns', target, sll: '00:00:00:00:00:00', options: opts } });
    expect([layers(q), toHex(q.ndSllAddr()!)]).toEqual(['eth,ipv6,icmpv6,nd', '020000000009']);
  });

  it('ignores link-layer options of another length and stops at a zero or overlong one, keeping what it found', () => {
    const long = new Uint8Array([1, 2, 2, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0]);
    const a = parse({ l3: v6, l4: { kind: 'nd', type: 'na', target, options: long } });
    expect([layers(a), a.ndSll, a.malformed]).toEqual(['eth,ipv6,icmpv6,nd', -1, 0]);
    const zero = new Uint8Array([9, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 0, 0, 0, 0, 1]);
    const b = parse({ l3: v6, l4: { kind: 'nd', type: 'ns', target, tll: '02:00:00:00:00:05', options: zero } });
    expect([layers(b), b.malformed, b.ndSll, toHex(b.ndTllAddr()!)]).toEqual(['eth,ipv6,icmpv6,nd', Layer.ND, -1, '020000000005']);
    const over = new Uint8Array([1, 3, 2, 0, 0, 0, 0, 1]);
    const c = parse({ l3: v6, l4: { kind: 'nd', type: 'ns', target, options: over } });
    expect([layers(c), c.truncated, c.ndSll, c.ndTarget]).toEqual(['eth,ipv6,icmpv6,nd', Layer.ND, -1, 62]);
  });

  it('reads options up to the end of the frame, past the IPv6 payload length', () => {
    const p = parse({ l3: { ...v6, payloadLength: 24 }, l4: { kind: 'nd', type: 'ns', target, sll: '02:00:00:00:00:0a' } });
    expect(toHex(p.ndSllAddr()!)).toBe('02000000000a');
  });
});

describe('builder layout', () => {
  it('writes tags, LLC/SNAP and MPLS in order', () => {
    const f = buildFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: '00:11:22:33:44:55', vlans: [{ tpid: 0x88a8, pcp: 7, dei: 1, vid: 0xabc }], snap: {}, mpls: [{ label: 0xfffff, tc: 7, ttl: 255 }] });
    expect(toHex(f)).toBe('ffffffffffff 001122334455 88a8 fabc 000c aaaa03 000000 8847 ffffffff'.replace(/\s+/g, ''));
  });

  it('writes IPv6 extension headers with their length conventions and padding', () => {
    const f = buildFrame({
      l3: {
        ...v6,
        ext: [
          { kind: 'hop', options: new Uint8Array([5, 2, 0, 0]) },
          { kind: 'dst', options: new Uint8Array([0xc9, 1, 0xff]) },
          { kind: 'routing', routingType: 0, segmentsLeft: 1, data: new Uint8Array(4) },
          { kind: 'fragment', offset: 0x1fff, more: true, id: 0xdeadbeef },
          { kind: 'ah', spi: 1, seq: 2, icv: new Uint8Array(4) },
        ],
      },
    });
    expect(toHex(f.subarray(54))).toBe(
      [
        '3c00 05020000 0100', // hop: next dst, 8 bytes, option then PadN(0)
        '2b00 c901ff 010100', // dst: next routing, 8 bytes, option then PadN(1)
        '2c00 0001 00000000', // routing: next fragment, 8 bytes, type 0, 1 segment left
        '3300 fff9 deadbeef', // fragment: next AH, offset 8191, M
        '3b02 0000 00000001 00000002 00000000', // AH: no next header, (16 / 4) - 2
      ]
        .join('')
        .replace(/\s+/g, ''),
    );
    // A later fragment followed by AH: the kernel's FIRST / protocol 59 case.
    const p = parsePacket(f);
    expect([p.ipTotalLen, p.ipFrag, p.ipProto]).toEqual([40 + 48, FRAG_FIRST, 59]);
  });
});

describe('describePacket', () => {
  it('says what was parsed and where it stopped, in one line', () => {
    const f = buildFrame({ vlans: [{ vid: 5 }], l3: { ...v4, mf: true }, l4: { ...tcp, flags: 0x12 } });
    expect(describePacket(parsePacket(f))).toBe(
      'eth 02:00:00:00:00:01 > 02:00:00:00:00:02, vlan 5 pcp 0, ipv4 10.0.0.1 > 10.0.0.2 proto 6 ttl 64 frag first, tcp 1000 > 2000 flags 0x0012 (58 bytes)',
    );
    expect(describePacket(parsePacket(f, 30))).toBe('eth 02:00:00:00:00:01 > 02:00:00:00:00:02, vlan 5 pcp 0, type 0x0800, [truncated ipv4] (30 bytes)');
    const nd = buildFrame({ l3: v6, l4: { kind: 'nd', type: 'na', target: 'fe80::9', tll: '02:00:00:00:00:09' } });
    expect(describePacket(parsePacket(nd))).toBe(
      'eth 02:00:00:00:00:01 > 02:00:00:00:00:02, ipv6 fe80::1 > fe80::2 proto 58 hlim 64, icmpv6 type 136 code 0, nd target fe80::9 tll 02:00:00:00:00:09 (86 bytes)',
    );
  });
});
