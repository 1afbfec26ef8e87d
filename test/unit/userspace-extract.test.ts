// Key extraction of the fallback datapath: the kernel's key for frames of
// every protocol, the kernel's own MISS upcall key reproduced from its frame,
// truncation at every byte never throwing, and the flat table key written
// from the packet equal to the one written from the typed key.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AttrWriter } from '../../src/netlink/attr.js';
import { parseMessages } from '../../src/netlink/message.js';
import { decodeKey, encodeKey } from '../../src/ovs/key-codec.js';
import { decodeUpcall } from '../../src/ovs/packet.js';
import type { FlowKey } from '../../src/ovs/keys.js';
import { buildFrame, parsePacket, type FrameSpec } from '../../src/packet/index.js';
import { parseL3Packet } from '../../src/packet/parse.js';
import { extractKey, type CtMeta } from '../../src/userspace/extract.js';
import { FlatKey, writeFlatFromKey, writeFlatFromPacket } from '../../src/userspace/flat-key.js';

const A = '00:00:00:00:00:0a';
const B = '00:00:00:00:00:0b';

const frames: Record<string, FrameSpec> = {
  arp: { src: A, dst: 'ff:ff:ff:ff:ff:ff', l3: { kind: 'arp', op: 1, sha: A, spa: '10.0.0.1', tpa: '10.0.0.2' } },
  rarp: { src: A, dst: B, l3: { kind: 'arp', rarp: true, op: 3, sha: A, tha: B } },
  tcp: { src: A, dst: B, l3: { kind: 'ipv4', src: '10.0.0.1', dst: '10.0.0.2', ttl: 64, tos: 0x10 }, l4: { kind: 'tcp', src: 1234, dst: 80, flags: 0x12 } },
  udp: { src: A, dst: B, l3: { kind: 'ipv4', src: '10.0.0.1', dst: '10.0.0.2' }, l4: { kind: 'udp', src: 53, dst: 5353 }, payload: 10 },
  sctp: { src: A, dst: B, l3: { kind: 'ipv4', src: '10.0.0.1', dst: '10.0.0.2' }, l4: { kind: 'sctp', src: 9, dst: 10 } },
  icmp: { src: A, dst: B, l3: { kind: 'ipv4', src: '10.0.0.1', dst: '10.0.0.2' }, l4: { kind: 'icmp', type: 8 } },
  fragFirst: { src: A, dst: B, l3: { kind: 'ipv4', src: '10.0.0.1', dst: '10.0.0.2', mf: true }, l4: { kind: 'udp', src: 1, dst: 2 } },
  fragLater: { src: A, dst: B, l3: { kind: 'ipv4', src: '10.0.0.1', dst: '10.0.0.2', fragOffset: 100, proto: 17 }, payload: 16 },
  vlan: { src: A, dst: B, vlans: [{ vid: 10, pcp: 3 }], l3: { kind: 'ipv4', src: '10.0.0.1', dst: '10.0.0.2' }, l4: { kind: 'udp', src: 1, dst: 2 } },
  qinq: { src: A, dst: B, vlans: [{ tpid: 0x88a8, vid: 100 }, { vid: 20 }], l3: { kind: 'arp', op: 2 } },
  ipv6Tcp: { src: A, dst: B, l3: { kind: 'ipv6', src: 'fe80::1', dst: 'fe80::2', flowLabel: 0x12345 }, l4: { kind: 'tcp', src: 5, dst: 6, flags: 2 } },
  ipv6Frag: { src: A, dst: B, l3: { kind: 'ipv6', src: '::1', dst: '::2', ext: [{ kind: 'hop' }, { kind: 'fragment', offset: 10 }] }, l4: { kind: 'udp', src: 1, dst: 2 } },
  ns: { src: A, dst: '33:33:ff:00:00:02', l3: { kind: 'ipv6', src: 'fe80::1', dst: 'ff02::1:ff00:2' }, l4: { kind: 'nd', type: 'ns', target: 'fe80::2', sll: A } },
  na: { src: B, dst: A, l3: { kind: 'ipv6', src: 'fe80::2', dst: 'fe80::1' }, l4: { kind: 'nd', type: 'na', target: 'fe80::2', tll: B } },
  echo6: { src: A, dst: B, l3: { kind: 'ipv6', src: '::1', dst: '::2' }, l4: { kind: 'icmpv6', type: 128 } },
  mpls: { src: A, dst: B, mpls: [{ label: 100 }, { label: 200, ttl: 5 }], l3: { kind: 'ipv4', src: '1.1.1.1', dst: '2.2.2.2' } },
  llc: { src: A, dst: B, l3: { kind: 'llc', data: new Uint8Array(20) } },
};

const keyOf = (spec: FrameSpec, inPort = 1) => extractKey(parsePacket(buildFrame(spec)), { inPort });

function flatOfPacket(frame: Uint8Array, inPort = 1, ct?: CtMeta): Uint8Array {
  const k = new FlatKey();
  writeFlatFromPacket(parsePacket(frame), { inPort, ct }, k);
  return k.bytes.slice();
}

function flatOfKey(frame: Uint8Array, inPort = 1, ct?: CtMeta): Uint8Array {
  const k = new FlatKey();
  writeFlatFromKey(extractKey(parsePacket(frame), { inPort, ct }), k);
  return k.bytes.slice();
}

describe('userspace key extraction', () => {
  it('reproduces the key of a MISS upcall the kernel sent, byte for byte', () => {
    for (const dir of ['kernel-6.1', 'kernel-6.12']) {
      const line = readFileSync(join(__dirname, '..', 'fixtures', dir, 'upcall-miss.hex'), 'utf8')
        .split('\n')
        .find((l) => l.trim() && !l.startsWith('#'))!;
      const u = decodeUpcall(parseMessages(new Uint8Array(Buffer.from(line.trim(), 'hex')))[0]);
      const kernelKey = decodeKey(u.key);
      const ours = extractKey(parsePacket(u.packet), { inPort: kernelKey.inPort! });
      expect(ours).toEqual(kernelKey);
      const w = new AttrWriter(256);
      encodeKey(w, ours);
      expect(Buffer.from(w.finish()).toString('hex')).toBe(Buffer.from(u.key).toString('hex'));
    }
  });

  it('keys each protocol the way the kernel does', () => {
    expect(keyOf(frames.arp)).toMatchObject({ ethertype: 0x0806, arp: { sip: '10.0.0.1', tip: '10.0.0.2', op: 1, sha: A } });
    expect(keyOf(frames.tcp)).toMatchObject({ ipv4: { proto: 6, ttl: 64, tos: 0x10, frag: 0 }, tcp: { src: 1234, dst: 80 }, tcpFlags: 0x12 });
    expect(keyOf(frames.udp).udp).toEqual({ src: 53, dst: 5353 });
    expect(keyOf(frames.udp).tcpFlags).toBeUndefined();
    expect(keyOf(frames.sctp).sctp).toEqual({ src: 9, dst: 10 });
    expect(keyOf(frames.icmp).icmp).toEqual({ type: 8, code: 0 });
    expect(keyOf(frames.fragFirst)).toMatchObject({ ipv4: { frag: 1 }, udp: { src: 1, dst: 2 } });
    const later = keyOf(frames.fragLater);
    expect(later.ipv4!.frag).toBe(2);
    expect(later.udp).toBeUndefined();
    const v = keyOf(frames.vlan);
    expect(v).toMatchObject({ ethertype: 0x8100, vlan: { vid: 10, pcp: 3, cfi: 1 }, encap: { ethertype: 0x0800, udp: { src: 1, dst: 2 } } });
    expect(Object.keys(v).slice(-3)).toEqual(['ethertype', 'vlan', 'encap']);
    const q = keyOf(frames.qinq);
    expect(q).toMatchObject({ ethertype: 0x88a8, vlan: { vid: 100 }, encap: { ethertype: 0x8100, vlan: { vid: 20 }, encap: { ethertype: 0x0806, arp: { op: 2 } } } });
    expect(keyOf(frames.ipv6Tcp)).toMatchObject({ ipv6: { label: 0x12345, proto: 6 }, tcp: { src: 5, dst: 6 }, tcpFlags: 2 });
    const f6 = keyOf(frames.ipv6Frag);
    expect(f6.ipv6!.frag).toBe(2);
    expect(f6.ipv6Exthdrs).not.toBe(0);
    expect(keyOf(frames.ns)).toMatchObject({ icmpv6: { type: 135, code: 0 }, nd: { target: 'fe80::2', sll: A, tll: '00:00:00:00:00:00' } });
    expect(keyOf(frames.na).nd).toEqual({ target: 'fe80::2', sll: '00:00:00:00:00:00', tll: B });
    expect(keyOf(frames.echo6).nd).toBeUndefined();
    expect(keyOf(frames.mpls).mpls!.map((l) => l.label)).toEqual([100, 200]);
    expect(keyOf(frames.llc).ethertype).toBeUndefined();
  });

  it('zeroes what a truncated header would have given, and never throws', () => {
    const tcp = buildFrame(frames.tcp);
    const k = extractKey(parsePacket(tcp, 14 + 20 + 10), { inPort: 1 });
    expect(k.tcp).toEqual({ src: 0, dst: 0 });
    const short = extractKey(parsePacket(tcp, 14 + 10), { inPort: 1 });
    expect(short.ipv4).toEqual({ src: '0.0.0.0', dst: '0.0.0.0', proto: 0, tos: 0, ttl: 0, frag: 0 });
    expect(short.tcp).toBeUndefined();
    for (const spec of Object.values(frames)) {
      const f = buildFrame(spec);
      for (let n = 0; n <= f.length; n++) {
        const cut = f.slice(0, n);
        expect(() => extractKey(parsePacket(cut), { inPort: 3 })).not.toThrow();
        // Both ways into the table's key agree at every length, except where
        // a tag was cut short: the kernel then reports a zero TPID, which
        // loses the type its own table keys that packet by (and which it
        // refuses as a flow key anyway).
        if (!cutTag(extractKey(parsePacket(cut), { inPort: 3 }))) expect(flatOfPacket(cut)).toEqual(flatOfKey(cut));
      }
    }
  });
});

describe('conntrack fields in the key', () => {
  const v4: CtMeta = { state: 0x22, zone: 7, mark: 0x1234, labels: (1n << 127n) | 5n, orig: { ipv6: false, src: new Uint8Array([10, 0, 0, 1]), dst: new Uint8Array([10, 0, 0, 2]), srcPort: 53, dstPort: 5353, proto: 17 } };
  const v6: CtMeta = { ...v4, orig: { ipv6: true, src: new Uint8Array(16).fill(0xfe), dst: new Uint8Array(16).fill(0x01), srcPort: 128, dstPort: 0, proto: 58 } };

  it('reports ct_state, zone, mark, labels and the original tuple of its own IP version, right after the ct fields', () => {
    const k = extractKey(parsePacket(buildFrame(frames.udp)), { inPort: 1, ct: v4 });
    expect(Object.keys(k).slice(5, 10)).toEqual(['ctState', 'ctZone', 'ctMark', 'ctLabels', 'ctOrigTupleIpv4']);
    expect(k).toMatchObject({ ctState: 0x22, ctZone: 7, ctMark: 0x1234, ctLabels: (1n << 127n) | 5n, ctOrigTupleIpv4: { src: '10.0.0.1', dst: '10.0.0.2', srcPort: 53, dstPort: 5353, proto: 17 } });
    expect(extractKey(parsePacket(buildFrame(frames.echo6)), { inPort: 1, ct: v6 }).ctOrigTupleIpv6).toEqual({ src: 'fefe:fefe:fefe:fefe:fefe:fefe:fefe:fefe', dst: '101:101:101:101:101:101:101:101', srcPort: 128, dstPort: 0, proto: 58 });
    // An IPv6 connection's tuple on an IPv4 packet, and any tuple on ARP or MPLS: not reported.
    for (const [spec, ct] of [[frames.udp, v6], [frames.arp, v4], [frames.mpls, v4]] as const) {
      const key = extractKey(parsePacket(buildFrame(spec)), { inPort: 1, ct });
      expect(key.ctOrigTupleIpv4 ?? key.ctOrigTupleIpv6).toBeUndefined();
    }
  });

  it('writes the same table key from the packet as from its reported key, for every frame, tracked or not', () => {
    const empty = flatOfPacket(buildFrame(frames.udp), 1, { state: 0x30, zone: 0, mark: 0, labels: 0n });
    expect(empty).not.toEqual(flatOfPacket(buildFrame(frames.udp)));
    for (const [name, spec] of Object.entries(frames)) {
      const f = buildFrame(spec);
      // Neighbour discovery is never tracked (conntrack.ts: +trk+inv, no
      // tuple), and its fields share bytes with the tuple, as in the kernel's
      // sw_flow_key: a tracked ND packet has no one key.
      const cts = name === 'ns' || name === 'na' ? [undefined, v4] : [undefined, v4, v6];
      for (const ct of cts) expect(flatOfPacket(f, 2, ct), `${name}, tuple ${ct?.orig?.ipv6 ? 'v6' : ct ? 'v4' : 'none'}`).toEqual(flatOfKey(f, 2, ct));
    }
    // The tuple shares bytes with MPLS and ND fields (never in a tracked packet); it must still tell connections apart.
    const other: CtMeta = { ...v4, orig: { ...v4.orig!, srcPort: 54 } };
    expect(flatOfPacket(buildFrame(frames.udp), 1, v4)).not.toEqual(flatOfPacket(buildFrame(frames.udp), 1, other));
  });
});

/** Whether some level of the key is the kernel's marker of a tag too short to read. */
function cutTag(k: FlowKey | undefined): boolean {
  if (!k) return false;
  if (k.vlan && k.ethertype === 0) return true;
  return cutTag(k.encap);
}

describe('packets without an Ethernet header (after pop_eth or push_nsh)', () => {
  it('are keyed without eth(), by their EtherType, and the table keys them apart from Ethernet frames', () => {
    for (const name of ['udp', 'ipv6Tcp', 'echo6', 'fragLater'] as const) {
      const f = buildFrame(frames[name]);
      const l3 = f.slice(14);
      const type = (f[12] << 8) | f[13];
      const meta = { inPort: 4, l3Type: type };
      const k = extractKey(parseL3Packet(l3, type), meta);
      const { ethernet, ...rest } = extractKey(parsePacket(f), { inPort: 4 });
      expect(ethernet).toBeDefined();
      expect(k).toEqual(rest);
      const fromPacket = new FlatKey();
      writeFlatFromPacket(parseL3Packet(l3, type), meta, fromPacket);
      const fromKey = new FlatKey();
      writeFlatFromKey(k, fromKey);
      expect(fromPacket.bytes, name).toEqual(fromKey.bytes);
      // The same packet in a frame with zero MACs is another key.
      const zeroMacs = f.slice();
      zeroMacs.fill(0, 0, 12);
      expect(flatOfPacket(zeroMacs, 4), name).not.toEqual(fromPacket.bytes.slice());
    }
  });
});
