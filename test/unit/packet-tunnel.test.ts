// VXLAN and Geneve datagrams: what encapsulate() builds, decapsulate() reads
// back (and what it refuses, as vxlan_rcv and geneve_rx drop it), and what
// tshark, an independent dissector, makes of the datagrams.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pcapFileHeader, pcapRecord } from '../../src/cli/pcap.js';
import { buildFrame } from '../../src/packet/build.js';
import { internetChecksum, l4ChecksumOk } from '../../src/packet/checksum.js';
import {
  decapsulate,
  ecnDecapsulate,
  emptyTunnelMeta,
  encapsulate,
  ipv4HeaderOk,
  outerTos,
  sourcePort,
  TUN_F_CSUM,
  TUN_F_DF,
  TUN_F_GENEVE_OPT,
  TUN_F_KEY,
  TUN_F_OAM,
  TUN_F_VXLAN_OPT,
  vxlanOptsBytes,
  type TunnelKind,
  type TunnelMeta,
} from '../../src/packet/tunnel.js';

const inner = (tos = 0) => buildFrame({ l3: { kind: 'ipv4', src: '192.168.0.1', dst: '192.168.0.2', tos }, l4: { kind: 'udp', src: 1000, dst: 2000 }, payload: 20 });
const ip = (s: string) => s.split('.').reduce((a, b) => a * 256 + Number(b), 0);
/** A Geneve option: class 0x0102, type 0x80 (critical), 4 bytes of data. */
const OPTS = new Uint8Array([0x01, 0x02, 0x80, 0x01, 0xde, 0xad, 0xbe, 0xef]);

function meta(over: Partial<TunnelMeta>): TunnelMeta {
  return { ...emptyTunnelMeta(), src: ip('10.1.0.1'), dst: ip('10.1.0.2'), ttl: 64, flags: TUN_F_KEY, idLo: 42, ...over };
}

describe('encapsulate and decapsulate', () => {
  for (const kind of ['vxlan', 'geneve'] as TunnelKind[]) {
    it(`${kind}: the datagram gives back the frame and the tunnel, with good checksums`, () => {
      const f = inner();
      const t = meta({ tos: 0x10, flags: TUN_F_KEY | TUN_F_CSUM | TUN_F_DF | (kind === 'geneve' ? TUN_F_OAM | TUN_F_GENEVE_OPT : 0), opts: kind === 'geneve' ? OPTS : new Uint8Array(0) });
      const d = encapsulate(f, kind, t, 40000, 4789);
      expect(ipv4HeaderOk(d)).toBe(true);
      expect(l4ChecksumOk(d, 0, 20, d.length - 20, 17)).toBe(true);
      expect(d[6] & 0x40).toBe(0x40);
      const got = emptyTunnelMeta();
      const out = decapsulate(d, kind, got);
      expect(out).toEqual(f);
      // DF is not read back: the module's receive path never reports it.
      // Every VXLAN packet gets the 4 bytes of policy metadata, zero here (udp_tun_rx_dst's options).
      expect(got).toEqual({ ...t, flags: t.flags & ~TUN_F_DF, tpSrc: 40000, tpDst: 4789, opts: kind === 'vxlan' ? new Uint8Array(4) : t.opts });
    });
  }

  it('vxlan group policy: written by a GBP port, read back by one, refused by a plain port', () => {
    const f = inner();
    // Policy id 0x1234, don't learn (0x400000) and policy applied (0x080000).
    const t = meta({ flags: TUN_F_KEY | TUN_F_VXLAN_OPT, opts: vxlanOptsBytes(0x481234) });
    const d = encapsulate(f, 'vxlan', t, 40000, 4789, t.src, true);
    // G and I flags, D and A bits, the policy id (vxlanhdr_gbp).
    expect([...d.subarray(28, 32)]).toEqual([0x88, 0x48, 0x12, 0x34]);
    const got = emptyTunnelMeta();
    expect(decapsulate(d, 'vxlan', got, true)).toEqual(f);
    expect(got.flags).toBe(TUN_F_KEY | TUN_F_VXLAN_OPT);
    expect([...got.opts]).toEqual([0x00, 0x48, 0x12, 0x34]);
    // A port without the extension takes the G bit for an unknown flag (vxlan_rcv drops it).
    expect(decapsulate(d, 'vxlan', emptyTunnelMeta(), false)).toBe('bad-header');
    // Without the port's extension, or without policy metadata, or with a zero policy: a plain header.
    for (const [tm, gbp] of [[t, false], [meta({}), true], [meta({ flags: TUN_F_KEY | TUN_F_VXLAN_OPT, opts: vxlanOptsBytes(0) }), true]] as const) {
      expect([...encapsulate(f, 'vxlan', tm, 40000, 4789, tm.src, gbp).subarray(28, 32)]).toEqual([0x08, 0, 0, 0]);
    }
  });

  it('vxlan group policy bits without the G flag: ignored by a GBP port, no metadata', () => {
    const d = encapsulate(inner(), 'vxlan', meta({}), 40000, 4789);
    d.set([0x08, 0x40, 0x00, 0x07], 28);
    const got = emptyTunnelMeta();
    expect(decapsulate(d, 'vxlan', got, true)).toEqual(inner());
    expect(got.flags & TUN_F_VXLAN_OPT).toBe(0);
    expect([...got.opts]).toEqual([0, 0, 0, 0]);
    // A reserved bit besides them is still refused.
    d[28] = 0x0c;
    expect(decapsulate(d, 'vxlan', emptyTunnelMeta(), true)).toBe('bad-header');
  });

  it('gre: a key when the tunnel has one, read back; a checksum when asked, right', () => {
    const f = inner();
    const keyed = encapsulate(f, 'gre', meta({ idHi: 9, idLo: 0xdeadbeef, tos: 0x08 }), 0, 0);
    expect([keyed[9], (keyed[20] << 8) | keyed[21], (keyed[22] << 8) | keyed[23]]).toEqual([47, 0x2000, 0x6558]);
    const got = emptyTunnelMeta();
    expect(decapsulate(keyed, 'gre', got)).toEqual(f);
    expect(got).toEqual(meta({ idHi: 0, idLo: 0xdeadbeef, tos: 0x08, flags: TUN_F_KEY }));
    const bare = encapsulate(f, 'gre', meta({ flags: 0 }), 0, 0);
    expect(bare.length).toBe(20 + 4 + f.length);
    const g2 = emptyTunnelMeta();
    expect(decapsulate(bare, 'gre', g2)).toEqual(f);
    expect([g2.flags, g2.idLo]).toEqual([0, 0]);
    const summed = encapsulate(f, 'gre', meta({ flags: TUN_F_KEY | TUN_F_CSUM }), 0, 0);
    expect([summed[20] & 0x80, internetChecksum(summed, 20, summed.length - 20)]).toEqual([0x80, 0]);
    // OVS's gre_sys takes no checksummed GRE (ip_tunnel_rcv), nor routing or another version.
    expect(decapsulate(summed, 'gre', emptyTunnelMeta())).toBe('bad-checksum');
    expect(decapsulate(bare.map((b, i) => (i === 20 ? 0x40 : b)), 'gre', emptyTunnelMeta())).toBe('bad-header');
    expect(decapsulate(bare.map((b, i) => (i === 21 ? 1 : b)), 'gre', emptyTunnelMeta())).toBe('bad-header');
    expect(decapsulate(bare.map((b, i) => (i === 23 ? 0 : b)), 'gre', emptyTunnelMeta())).toBe('not-ethernet');
    expect(decapsulate(keyed, 'vxlan', emptyTunnelMeta())).toBe('wrong-protocol');
  });

  it('a tunnel without csum sends a zero UDP checksum and reads back without the flag', () => {
    const d = encapsulate(inner(), 'vxlan', meta({}), 50000, 4789);
    expect(d[26] | d[27]).toBe(0);
    const got = emptyTunnelMeta();
    expect(decapsulate(d, 'vxlan', got)).toBeInstanceOf(Uint8Array);
    expect(got.flags).toBe(TUN_F_KEY);
  });

  it('a TTL of 0 becomes the default 64, and the VNI is the low 24 bits of the id', () => {
    const d = encapsulate(inner(), 'vxlan', meta({ ttl: 0, idHi: 5, idLo: 0x12345678 }), 50000, 4789);
    expect(d[8]).toBe(64);
    const got = emptyTunnelMeta();
    decapsulate(d, 'vxlan', got);
    expect([got.idHi, got.idLo]).toEqual([0, 0x345678]);
  });

  it('copies the inner ECN out, a congestion mark as ECT(0) (ip_tunnel_ecn_encap)', () => {
    expect(outerTos(0x10, inner(0x01))).toBe(0x11);
    expect(outerTos(0x10, inner(0x02))).toBe(0x12);
    expect(outerTos(0x10, inner(0x03))).toBe(0x12);
    expect(outerTos(0x13, inner(0x00))).toBe(0x10);
  });

  it('on receive, an outer congestion mark goes onto an ECN-capable inner packet, and drops one that is not (INET_ECN_decapsulate)', () => {
    const tos = (f: Uint8Array) => f[15];
    const ce = (innerEcn: number, outer: number) => {
      const f = inner(0x10 | innerEcn);
      return [ecnDecapsulate(outer, f), tos(f), ipv4HeaderOk(f.subarray(14))] as const;
    };
    expect(ce(0, 0x03)).toEqual([false, 0x10, true]);
    expect(ce(0, 0x02)).toEqual([true, 0x10, true]);
    expect(ce(2, 0x03)).toEqual([true, 0x13, true]);
    expect(ce(1, 0x03)).toEqual([true, 0x13, true]);
    expect(ce(2, 0x01)).toEqual([true, 0x11, true]);
    expect(ce(1, 0x02)).toEqual([true, 0x11, true]);
    // IPv6 behind a VLAN tag: the traffic class's low bits.
    const v6 = buildFrame({ vlans: [{ vid: 5 }], l3: { kind: 'ipv6', src: '::1', dst: '::2', tclass: 0x22 }, l4: { kind: 'udp', src: 1, dst: 2 } });
    expect(ecnDecapsulate(0x03, v6)).toBe(true);
    expect(((v6[18] & 0x0f) << 4) | (v6[19] >> 4)).toBe(0x23);
    // Not IP: nothing to mark, nothing dropped.
    const arp = buildFrame({ l3: { kind: 'arp', op: 1 } });
    expect(ecnDecapsulate(0x03, arp)).toBe(true);
    // decapsulate applies it.
    const d = encapsulate(inner(0x00), 'vxlan', meta({ tos: 0 }), 1, 4789);
    d[1] = 0x03;
    expect(decapsulate(d, 'vxlan', emptyTunnelMeta())).toBe('ecn');
  });

  it('source ports stay in their range', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (h) => {
      const p = sourcePort(h, 32768, 60999);
      return p >= 32768 && p <= 60999;
    }));
    expect(sourcePort(0, 1, 65535)).toBe(1);
    expect(sourcePort(0xffffffff, 1, 65535)).toBe(65534);
  });
});

describe('decapsulate refuses what the kernel drops', () => {
  const good = () => encapsulate(inner(), 'vxlan', meta({ flags: TUN_F_KEY | TUN_F_CSUM }), 40000, 4789);
  const plain = () => encapsulate(inner(), 'vxlan', meta({}), 40000, 4789);
  const gen = () => encapsulate(inner(), 'geneve', meta({}), 40000, 6081);
  const cases: [string, () => Uint8Array, TunnelKind, string][] = [
    ['a VXLAN header without the I flag', () => plain().map((b, i) => (i === 28 ? 0 : b)), 'vxlan', 'bad-header'],
    ['VXLAN flags besides I', () => plain().map((b, i) => (i === 28 ? 0x88 : b)), 'vxlan', 'bad-header'],
    ['a nonzero VXLAN reserved byte', () => plain().map((b, i) => (i === 35 ? 1 : b)), 'vxlan', 'bad-header'],
    ['a bad UDP checksum', () => good().map((b, i) => (i === 60 ? b ^ 1 : b)), 'vxlan', 'bad-checksum'],
    ['a Geneve version other than 0', () => gen().map((b, i) => (i === 28 ? 0x40 : b)), 'geneve', 'bad-header'],
    ['a Geneve payload that is not Ethernet', () => gen().map((b, i) => (i === 31 ? 0x00 : b)), 'geneve', 'not-ethernet'],
    ['an inner frame shorter than an Ethernet header', () => encapsulate(inner().subarray(0, 13), 'vxlan', meta({}), 1, 4789), 'vxlan', 'short'],
    ['not UDP', () => good().map((b, i) => (i === 9 ? 6 : b)), 'vxlan', 'wrong-protocol'],
  ];
  for (const [what, make, kind, why] of cases) {
    it(`${what}: ${why}`, () => expect(decapsulate(make(), kind, emptyTunnelMeta())).toBe(why));
  }

  it('never throws on a datagram cut anywhere', () => {
    for (const d of [good(), gen(), encapsulate(inner(), 'geneve', meta({ flags: TUN_F_KEY | TUN_F_GENEVE_OPT, opts: OPTS }), 1, 6081)]) {
      for (let n = 0; n <= d.length; n++) {
        const r = decapsulate(d.subarray(0, n), 'geneve', emptyTunnelMeta());
        if (n < d.length) expect(typeof r === 'string' || r.length < inner().length).toBe(true);
      }
    }
  });
});

const tshark = spawnSync('tshark', ['-v'], { encoding: 'utf8' }).status === 0;

describe.skipIf(!tshark)('tunnel datagrams as tshark reads them', () => {
  it('VNI, flags, options, checksums and the inner frame', () => {
    const f = inner();
    const datagrams = [
      encapsulate(f, 'vxlan', meta({ idLo: 5000, flags: TUN_F_KEY | TUN_F_CSUM }), 40000, 4789),
      encapsulate(f, 'geneve', meta({ idLo: 77, flags: TUN_F_KEY | TUN_F_CSUM | TUN_F_OAM | TUN_F_GENEVE_OPT, opts: OPTS }), 40001, 6081),
      encapsulate(f, 'gre', meta({ idLo: 0x1234, flags: TUN_F_KEY | TUN_F_CSUM }), 0, 0),
      encapsulate(f, 'vxlan', meta({ idLo: 5001, flags: TUN_F_KEY | TUN_F_VXLAN_OPT, opts: vxlanOptsBytes(0x40abcd) }), 40002, 4789, undefined, true),
    ];
    // pcap with LINKTYPE_RAW (101): records start at the IPv4 header.
    const parts = [pcapFileHeader({ linktype: 101 }), ...datagrams.map((frame) => pcapRecord({ timeMicros: 0n, frame }))];
    const dir = mkdtempSync(join(tmpdir(), 'ovsnl-tunnel-'));
    try {
      const file = join(dir, 'tunnels.pcap');
      writeFileSync(file, Buffer.concat(parts));
      const fields = ['ip.checksum.status', 'udp.checksum.status', 'vxlan.vni', 'vxlan.flag_i', 'geneve.vni', 'geneve.flags.oam', 'geneve.flags.critical', 'geneve.option.class', 'geneve.option.type', 'eth.src', 'eth.dst', 'gre.key', 'gre.checksum.status', 'gre.proto', 'vxlan.flag_g', 'vxlan.flag_d', 'vxlan.flag_a', 'vxlan.gbp'];
      const r = spawnSync(
        'tshark',
        ['-r', file, '-n', '-o', 'ip.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-T', 'fields', '-E', 'separator=;', '-E', 'occurrence=f', ...fields.flatMap((x) => ['-e', x])],
        { encoding: 'utf8', timeout: 60_000 },
      );
      const rows = r.stdout.trim().split('\n').map((l) => Object.fromEntries(l.split(';').map((v, i) => [fields[i], v])));
      expect(rows).toHaveLength(4);
      expect(rows[0]).toMatchObject({ 'ip.checksum.status': '1', 'udp.checksum.status': '1', 'vxlan.vni': '5000', 'vxlan.flag_i': '1', 'eth.src': '02:00:00:00:00:01', 'eth.dst': '02:00:00:00:00:02' });
      expect(rows[1]).toMatchObject({ 'ip.checksum.status': '1', 'udp.checksum.status': '1', 'geneve.vni': '0x00004d', 'geneve.flags.oam': '1', 'geneve.flags.critical': '1', 'geneve.option.class': '0x0102', 'eth.src': '02:00:00:00:00:01' });
      expect(rows[2]).toMatchObject({ 'ip.checksum.status': '1', 'gre.key': '0x00001234', 'gre.checksum.status': '1', 'gre.proto': '0x6558', 'eth.src': '02:00:00:00:00:01' });
      expect(rows[3]).toMatchObject({ 'vxlan.vni': '5001', 'vxlan.flag_g': '1', 'vxlan.flag_d': '1', 'vxlan.flag_a': '0', 'vxlan.gbp': '43981', 'eth.src': '02:00:00:00:00:01' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
