// The frames both datapaths are fed: one or more of every protocol the key
// extraction knows, and each of them cut at every header boundary (and one
// byte short of it), since the kernel's key stops where the packet does.
import { buildFrame } from '../../src/packet/build.js';
import { parsePacket } from '../../src/packet/parse.js';
import type { FrameSpec } from '../../src/packet/spec.js';
import { pushNsh, type NshHeader } from '../../src/packet/nsh.js';

const SRC4 = '10.81.0.1';
const DST4 = '10.81.0.2';
const SRC6 = 'fd00:81::1';
const DST6 = 'fd00:81::2';
const v4 = { kind: 'ipv4', src: SRC4, dst: DST4 } as const;
const v6 = { kind: 'ipv6', src: SRC6, dst: DST6 } as const;
const mac = (i: number) => `02:81:00:00:00:${i.toString(16).padStart(2, '0')}`;

const MD1 = new Uint8Array([0, 0, 0, 1, 0, 0, 0, 2, 0xde, 0xad, 0xbe, 0xef, 0xff, 0xff, 0xff, 0xfe]);
/** An MD type 2 TLV: class 0x0102, type 3, 4 bytes of value. */
const MD2 = new Uint8Array([1, 2, 3, 1, 0xa, 0xb, 0xc, 0xd]);
/** An NSH packet (header and what follows), then `edit` for the malformed ones. */
function nsh(h: Partial<NshHeader>, np: number, payload: number, edit?: (b: Uint8Array) => void): FrameSpec {
  const inner = Uint8Array.from({ length: payload }, (_, i) => (i * 7 + 1) & 0xff);
  const data = pushNsh(inner, { flags: 0, ttl: 63, mdtype: 1, path: 0x12345601, md: MD1, ...h }, np);
  edit?.(data);
  return { l3: { kind: 'raw', ethType: 0x894f, data } };
}

/** Named specs; the source MAC varies so that frames cut to 14 bytes stay distinct. */
export const SPECS: Record<string, FrameSpec> = {
  'eth raw 0x88b5': { l3: { kind: 'raw', ethType: 0x88b5, data: new Uint8Array(20) } },
  'eth 802.2 llc': { l3: { kind: 'llc', data: new Uint8Array(30) } },
  'eth snap ipv4 udp': { snap: {}, l3: v4, l4: { kind: 'udp', src: 1, dst: 2 }, payload: 8 },
  'vlan ipv4 udp': { vlans: [{ vid: 100, pcp: 5 }], l3: v4, l4: { kind: 'udp', src: 1000, dst: 2000 }, payload: 16 },
  'qinq ipv4 tcp': { vlans: [{ tpid: 0x88a8, vid: 10 }, { vid: 20, pcp: 3 }], l3: v4, l4: { kind: 'tcp', src: 80, dst: 8080, flags: 0x018 }, payload: 8 },
  'vlan vid0 arp': { vlans: [{ vid: 0, pcp: 2 }], l3: { kind: 'arp', op: 1, sha: mac(1), spa: SRC4, tpa: DST4 } },
  'arp request': { dst: 'ff:ff:ff:ff:ff:ff', l3: { kind: 'arp', op: 1, sha: mac(2), spa: SRC4, tpa: DST4 } },
  'arp reply': { l3: { kind: 'arp', op: 2, sha: mac(3), spa: DST4, tha: mac(4), tpa: SRC4 } },
  'arp op 300': { l3: { kind: 'arp', op: 300, sha: mac(3), spa: DST4, tha: mac(4), tpa: SRC4 } },
  rarp: { l3: { kind: 'arp', rarp: true, op: 3, sha: mac(5), tha: mac(5) } },
  'ipv4 options udp': { l3: { ...v4, tos: 0xb8, ttl: 7, options: new Uint8Array([0x94, 4, 0, 0, 0x01, 0x01, 0x07, 7, 4, 1, 2, 3, 4]) }, l4: { kind: 'udp', src: 53, dst: 5353 }, payload: 12 },
  'ipv4 frag first udp': { l3: { ...v4, mf: true, id: 77 }, l4: { kind: 'udp', src: 4000, dst: 4001 }, payload: 24 },
  'ipv4 frag later': { l3: { ...v4, fragOffset: 185, id: 77, proto: 17 }, payload: 32 },
  'ipv4 frag later last': { l3: { ...v4, fragOffset: 3, mf: false, id: 78, proto: 6 }, payload: 32 },
  'ipv4 tcp syn': { l3: v4, l4: { kind: 'tcp', src: 40000, dst: 22, flags: 0x002 }, payload: 0 },
  'ipv4 tcp synack': { l3: v4, l4: { kind: 'tcp', src: 22, dst: 40000, flags: 0x012 } },
  'ipv4 tcp fin psh urg': { l3: v4, l4: { kind: 'tcp', src: 1, dst: 2, flags: 0x029 }, payload: 5 },
  'ipv4 tcp rst ece cwr ns': { l3: v4, l4: { kind: 'tcp', src: 3, dst: 4, flags: 0x1c4 } },
  'ipv4 tcp options': { l3: v4, l4: { kind: 'tcp', src: 5, dst: 6, flags: 0x010, options: new Uint8Array([2, 4, 5, 0xb4, 1, 1, 4, 2]) } },
  'ipv4 tcp doff 4 (malformed)': { l3: v4, l4: { kind: 'tcp', src: 7, dst: 8, dataOffset: 16 }, payload: 8 },
  'ipv4 ihl 4 (malformed)': { l3: { ...v4, ihl: 16 }, l4: { kind: 'udp', src: 9, dst: 10 } },
  'ipv4 udp': { l3: { ...v4, ttl: 1 }, l4: { kind: 'udp', src: 5000, dst: 6000 }, payload: 18 },
  'ipv4 sctp': { l3: v4, l4: { kind: 'sctp', src: 2905, dst: 2906, vtag: 0x1234 }, payload: 16 },
  'ipv4 icmp echo': { l3: v4, l4: { kind: 'icmp', type: 8, code: 0, rest: 0x00010002 }, payload: 16 },
  'ipv4 icmp unreach': { l3: v4, l4: { kind: 'icmp', type: 3, code: 3 }, payload: 28 },
  'ipv4 gre (no l4 key)': { l3: v4, l4: { kind: 'raw', proto: 47, data: new Uint8Array(8) } },
  'ipv6 udp label': { l3: { ...v6, tclass: 0x2e, flowLabel: 0xabcde, hopLimit: 3 }, l4: { kind: 'udp', src: 546, dst: 547 }, payload: 10 },
  'ipv6 hop rt dst tcp': { l3: { ...v6, ext: [{ kind: 'hop' }, { kind: 'routing', segmentsLeft: 0 }, { kind: 'dst' }] }, l4: { kind: 'tcp', src: 443, dst: 50000, flags: 0x011 } },
  'ipv6 frag first udp': { l3: { ...v6, ext: [{ kind: 'fragment', offset: 0, more: true, id: 9 }] }, l4: { kind: 'udp', src: 7, dst: 8 }, payload: 16 },
  'ipv6 frag later': { l3: { ...v6, ext: [{ kind: 'fragment', offset: 100, more: true, id: 9, nextHeader: 17 }] }, payload: 24 },
  'ipv6 ah tcp': { l3: { ...v6, ext: [{ kind: 'ah', spi: 1, seq: 2 }] }, l4: { kind: 'tcp', src: 1, dst: 2, flags: 0x002 } },
  'ipv6 esp': { l3: v6, l4: { kind: 'raw', proto: 50, data: new Uint8Array(16) } },
  'ipv6 no next header': { l3: { ...v6, nextHeader: 59 }, payload: 8 },
  'ipv6 sctp': { l3: v6, l4: { kind: 'sctp', src: 1, dst: 2 } },
  'icmpv6 echo': { l3: v6, l4: { kind: 'icmpv6', type: 128, rest: 0x00050006 }, payload: 8 },
  'nd ns sll': { l3: { ...v6, dst: 'ff02::1:ff00:2', hopLimit: 255 }, l4: { kind: 'nd', type: 'ns', target: DST6, sll: mac(6) } },
  'nd na tll': { l3: { ...v6, hopLimit: 255 }, l4: { kind: 'nd', type: 'na', target: SRC6, tll: mac(7), solicited: true } },
  'nd ns no options': { l3: { ...v6, hopLimit: 255 }, l4: { kind: 'nd', type: 'ns', target: DST6 } },
  'nd ns bad option len (malformed)': { l3: { ...v6, hopLimit: 255 }, l4: { kind: 'nd', type: 'ns', target: DST6, options: new Uint8Array([1, 0, 1, 2, 3, 4, 5, 6]) } },
  'mpls one label': { mpls: [{ label: 100, tc: 3, ttl: 9 }], l3: v4, l4: { kind: 'udp', src: 1, dst: 2 } },
  'mpls four labels': { mpls: [{ label: 1 }, { label: 2 }, { label: 3 }, { label: 4 }], l3: v4, payload: 4 },
  'mpls multicast': { ethType: 0x8848, mpls: [{ label: 16, ttl: 1 }], payload: 4 },
  'vlan ipv6 icmpv6': { vlans: [{ vid: 4094 }], l3: v6, l4: { kind: 'icmpv6', type: 129 } },
  // NSH: the kernel keys a good header and drops the packet for a bad one.
  'nsh md1 ipv4': nsh({ flags: 2, ttl: 17 }, 1, 28),
  'nsh md2 ethernet': nsh({ mdtype: 2, md: MD2, path: 0xfffffe07, flags: 1 }, 3, 20),
  'nsh md2 no metadata': nsh({ mdtype: 2, md: new Uint8Array(0) }, 2, 12),
  'nsh md2 length field 0': nsh({ mdtype: 2, md: MD2 }, 4, 8, (b) => void (b[1] &= 0xc0)),
  'nsh unknown next protocol': nsh({ ttl: 0 }, 9, 4),
  'vlan nsh md1': { vlans: [{ vid: 7 }], ...nsh({}, 5, 8) },
  'nsh version 1 (dropped)': nsh({}, 1, 8, (b) => void (b[0] |= 0x40)),
  'nsh md1 length 28 (dropped)': nsh({}, 1, 8, (b) => void (b[1] += 1)),
  'nsh md type 3 (dropped)': nsh({ mdtype: 3 }, 1, 8),
  'nsh md type 0 (dropped)': nsh({ mdtype: 0, md: MD2 }, 1, 8),
  'nsh md2 longer than the frame (dropped)': nsh({ mdtype: 2, md: MD2 }, 1, 0, (b) => void (b[1] = (b[1] & 0xc0) | 20)),
};

/** Offsets where a header ends or starts, as the parser saw them. */
function boundaries(f: Uint8Array): number[] {
  const pp = parsePacket(f, f.length);
  const out = new Set<number>([14, 18, 22]);
  for (const o of [pp.l3, pp.mplsEnd, pp.l4]) if (o > 0) out.add(o);
  if (pp.l4 > 0 && pp.l4HdrLen > 0) out.add(pp.l4 + pp.l4HdrLen);
  if (pp.l3 > 0) for (const n of [8, 20, 24, 28, 40, 48]) out.add(pp.l3 + n);
  return [...out].flatMap((n) => [n - 1, n]).filter((n) => n >= 14 && n < f.length);
}

export interface CorpusFrame {
  name: string;
  frame: Uint8Array;
}

/** Every spec whole and cut at its boundaries, each frame once. */
export function corpus(): CorpusFrame[] {
  const out: CorpusFrame[] = [];
  const seen = new Set<string>();
  let i = 0;
  for (const [name, spec] of Object.entries(SPECS)) {
    const whole = buildFrame({ src: mac(0x40 + i++), dst: spec.dst ?? mac(0x80), ...spec });
    for (const len of [whole.length, ...boundaries(whole)]) {
      const frame = whole.slice(0, len);
      const h = Buffer.from(frame).toString('hex');
      if (seen.has(h)) continue;
      seen.add(h);
      out.push({ name: len === whole.length ? name : `${name} cut at ${len}`, frame });
    }
  }
  return out;
}
