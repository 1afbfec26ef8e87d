// VXLAN, Geneve and GRE ports, kernel vs fallback. The kernel's are OVS's
// tunnel devices (vxlan_sys_4789, genev_sys_6081, gre_sys, collect_md) added
// as netdev ports; the fallback's are its own tunnel vports on raw IP
// sockets. Both get the same underlay (a veth with 10.91.1.1, the remote
// 10.91.1.2 behind its peer) and the same datagrams; the two cannot hold the UDP ports at once, so the
// sides run one after the other and the results are compared at the end:
// - MISS upcalls of tunnelled frames: the same key (tunnel attribute
//   included) and the same inner frame; datagrams the kernel drops (bad VXLAN
//   flags, an outer congestion mark over a frame that is not ECN-capable)
//   come up on neither, and a mark over one that is, is copied onto it;
// - a megaflow on tun_id: which datagrams it takes, and the frames out;
// - set(tunnel(...)) then output to the tunnel port: the same datagrams on
//   the wire, field by field, but for what the kernel picks per boot or per
//   packet (the IP id, and the UDP source port, a hash of the inner flow:
//   checked to lie in the kernel's range instead); the UDP checksum is there
//   on both where asked for, and right on the fallback's (the kernel leaves
//   its own to the veth's offload); output to a tunnel port without
//   set(tunnel) sends nothing on both.
import { describe, expect, it } from 'vitest';
import { KernelDpif } from '../../src/dpif/kernel.js';
import { copyUpcall, openUpcalls } from '../../src/dpif/upcalls.js';
import type { Action } from '../../src/ovs/actions.js';
import { decodeKey } from '../../src/ovs/key-codec.js';
import type { FlowKey, TunnelKey } from '../../src/ovs/keys.js';
import type { Upcall } from '../../src/ovs/packet.js';
import { buildFrame } from '../../src/packet/build.js';
import { internetChecksum, l4ChecksumOk, setIpv4HeaderChecksum } from '../../src/packet/checksum.js';
import { parsePacket } from '../../src/packet/parse.js';
import { emptyTunnelMeta, encapsulate, TUN_F_CSUM, TUN_F_DF, TUN_F_GENEVE_OPT, TUN_F_KEY, TUN_F_OAM, type TunnelKind, type TunnelMeta } from '../../src/packet/tunnel.js';
import { ensureTunnelDevice } from '../../src/rtnl/tunnel.js';
import { extractKey } from '../../src/userspace/extract.js';
import { deleteLink, ip, uniqueName } from '../kernel/ovs-helpers.js';
import { hex, WireTap } from './harness.js';
import { actionBytes, daemonListener, fallbackDaemon, innerVeth, jsonable, keyBytes, runSidesOnce, settle, underlay, undo, u32, type Cleanup } from './tunnel-harness.js';

const LOCAL = '10.91.1.1';
const REMOTE = '10.91.1.2';
const OPTS = new Uint8Array([0x01, 0x02, 0x01, 0x01, 0xca, 0xfe, 0x00, 0x01]);

const inner = (i: number, tos = 0) =>
  buildFrame({ src: `02:91:00:00:00:${i.toString(16).padStart(2, '0')}`, dst: '02:91:00:00:01:00', l3: { kind: 'ipv4', src: '192.168.91.1', dst: '192.168.91.2', tos }, l4: { kind: 'udp', src: 1000 + i, dst: 2000 }, payload: 24 });

interface Datagram {
  name: string;
  kind: TunnelKind;
  t: Partial<TunnelMeta>;
  frame: Uint8Array;
  /** Mangle the datagram after it is built (offsets from the IP header). */
  mangle?: (d: Uint8Array) => void;
}

const MISS: Datagram[] = [
  { name: 'vxlan, no checksum', kind: 'vxlan', t: { idLo: 100 }, frame: inner(1) },
  { name: 'vxlan, checksum, tos, DF', kind: 'vxlan', t: { idLo: 0xabcdef, tos: 0x28, flags: TUN_F_KEY | TUN_F_CSUM | TUN_F_DF }, frame: inner(2) },
  { name: 'geneve, no options', kind: 'geneve', t: { idLo: 5 }, frame: inner(3) },
  { name: 'geneve, options and OAM', kind: 'geneve', t: { idLo: 6, flags: TUN_F_KEY | TUN_F_OAM | TUN_F_GENEVE_OPT, opts: OPTS }, frame: inner(4) },
  { name: 'vxlan with a flag besides I (dropped)', kind: 'vxlan', t: { idLo: 7 }, frame: inner(5), mangle: (d) => void (d[28] = 0x0c) },
  // The outer congestion mark: onto an ECN-capable frame, or the datagram is dropped.
  { name: 'vxlan, outer CE over an ECT(0) frame', kind: 'vxlan', t: { idLo: 8 }, frame: inner(6, 0x02), mangle: (d) => void (d[1] = 0x03) },
  { name: 'gre with a key', kind: 'gre', t: { idLo: 0x1234567 }, frame: inner(8) },
  { name: 'gre without a key', kind: 'gre', t: { flags: 0 }, frame: inner(9) },
  // OVS's gre_sys takes no checksummed packets (ip_tunnel_rcv: the device's i_flags have no checksum).
  { name: 'gre with a checksum (dropped)', kind: 'gre', t: { idLo: 5, flags: TUN_F_KEY | TUN_F_CSUM }, frame: inner(10) },
  { name: 'geneve, outer CE over a not-ECT frame (dropped)', kind: 'geneve', t: { idLo: 9 }, frame: inner(7, 0x00), mangle: (d) => void (d[1] = 0x03) },
];
/** The datagrams the kernel takes. */
const MISS_TAKEN = MISS.filter((m) => !m.name.includes('dropped'));
/** Which test frame a frame is, by its source MAC (the kernel may rewrite the ECN bits). */
const byMac = <T extends { frame: Uint8Array }>(list: T[], f: Uint8Array): T | undefined => list.find((x) => hex(x.frame.subarray(6, 12)) === hex(f.subarray(6, 12)));

/** The same tunnel, VNI 100 twice (TTL 63 and 62), and VNI 101: for the megaflow on tun_id; geneve with and without options. */
const HITS: Datagram[] = [
  { name: 'VNI 100, ttl 63', kind: 'vxlan', t: { idLo: 100, ttl: 63 }, frame: inner(0x11) },
  { name: 'VNI 100, ttl 62', kind: 'vxlan', t: { idLo: 100, ttl: 62 }, frame: inner(0x12) },
  { name: 'VNI 101', kind: 'vxlan', t: { idLo: 101 }, frame: inner(0x13) },
  // A flow on a geneve tun_id that states no options: does it take a datagram with some?
  { name: 'geneve VNI 6 with options', kind: 'geneve', t: { idLo: 6, flags: TUN_F_KEY | TUN_F_GENEVE_OPT, opts: OPTS }, frame: inner(0x14) },
  { name: 'geneve VNI 6 without options', kind: 'geneve', t: { idLo: 6 }, frame: inner(0x15) },
];

interface Egress {
  name: string;
  frame: Uint8Array;
  port: 'vx' | 'gn' | 'gr';
  tunnel?: TunnelKey;
}
const EGRESS: Egress[] = [
  { name: 'vxlan: src, tos, ttl, DF and checksum', frame: inner(0x21), port: 'vx', tunnel: { id: 0x2an, ipv4Src: LOCAL, ipv4Dst: REMOTE, tos: 0x20, ttl: 33, dontFragment: true, csum: true, tpDst: 4789 } },
  { name: 'vxlan: inner ECN CE gives ECT(0), ttl 0 gives 64, no checksum', frame: inner(0x22, 0x03), port: 'vx', tunnel: { id: 0x1234n, ipv4Src: LOCAL, ipv4Dst: REMOTE, tos: 0x20, ttl: 0, tpDst: 4789 } },
  { name: 'geneve: options, OAM, checksum, source from the route', frame: inner(0x23), port: 'gn', tunnel: { id: 9n, ipv4Dst: REMOTE, ttl: 64, csum: true, oam: true, tpDst: 6081, geneveOpts: OPTS } },
  { name: 'gre: key, checksum, DF', frame: inner(0x25), port: 'gr', tunnel: { id: 0xabcdef12n, ipv4Src: LOCAL, ipv4Dst: REMOTE, ttl: 40, dontFragment: true, csum: true } },
  { name: 'gre: no key', frame: inner(0x26), port: 'gr', tunnel: { ipv4Src: LOCAL, ipv4Dst: REMOTE, ttl: 41 } },
  { name: 'no set(tunnel): nothing leaves', frame: inner(0x24), port: 'vx' },
];

interface Result {
  misses: Map<string, { key: FlowKey; packet: string }>;
  hitsOut: string[];
  hitUpcalls: string[];
  egress: Map<string, Uint8Array[]>;
}


async function runSide(label: 'kernel' | 'fallback'): Promise<Result> {
  const cleanup: Cleanup = [];
  try {
    const { uPeer, frame: fromRemote } = underlay('dtu', LOCAL, REMOTE, cleanup);
    const [b, bPeer] = innerVeth('dtb', cleanup);

    let dpif: KernelDpif;
    const upcalls: Upcall[] = [];
    const dp = uniqueName(label === 'kernel' ? 'dtk' : 'dtf');
    let vx: number;
    let gn: number;
    let gr: number;
    let out: number;
    if (label === 'kernel') {
      dpif = await KernelDpif.open();
      cleanup.push(() => dpif.close());
      await dpif.createDatapath({ name: dp });
      cleanup.push(() => dpif.deleteDatapath(dp).then(() => undefined, () => undefined));
      const devs = [
        await ensureTunnelDevice({ type: 'vxlan', remoteIp: 'flow' }),
        await ensureTunnelDevice({ type: 'geneve', remoteIp: 'flow' }),
        await ensureTunnelDevice({ type: 'gre', remoteIp: 'flow' }),
      ];
      for (const d of devs) {
        cleanup.push(() => deleteLink(d.name));
        ip('link', 'set', d.name, 'up');
      }
      vx = (await dpif.createVport(dp, { name: devs[0].name, type: 'netdev' })).portNo;
      gn = (await dpif.createVport(dp, { name: devs[1].name, type: 'netdev' })).portNo;
      gr = (await dpif.createVport(dp, { name: devs[2].name, type: 'netdev' })).portNo;
      out = (await dpif.createVport(dp, { name: b, type: 'netdev' })).portNo;
      const up = await openUpcalls(dpif, dp, { dispatch: 'per-vport', onBatch: (batch) => void upcalls.push(...batch.map(copyUpcall)) });
      cleanup.push(() => up.close());
    } else {
      const d = await fallbackDaemon(cleanup);
      dpif = d.dpif;
      cleanup.push(() => dpif.close());
      await dpif.createDatapath({ name: dp });
      cleanup.push(() => dpif.deleteDatapath(dp).then(() => undefined, () => undefined));
      vx = (await dpif.createVport(dp, { name: 'vxlan_sys_4789', type: 'vxlan', options: { dstPort: 4789 } })).portNo;
      gn = (await dpif.createVport(dp, { name: 'genev_sys_6081', type: 'geneve', options: { dstPort: 6081 } })).portNo;
      gr = (await dpif.createVport(dp, { name: 'gre_sys', type: 'gre' })).portNo;
      out = (await dpif.createVport(dp, { name: b, type: 'netdev' })).portNo;
      const pid = await daemonListener(d.path, upcalls, cleanup);
      for (const p of [vx, gn, gr, out]) await dpif.setVport(dp, p, { upcallPids: [pid] });
    }
    const names = new Map([
      [vx, 'vx'],
      [gn, 'gn'],
      [gr, 'gr'],
      [out, 'out'],
    ]);
    const under = new WireTap(uPeer);
    cleanup.push(() => under.close());
    const outTap = new WireTap(bPeer);
    cleanup.push(() => outTap.close());
    const wire = (d: Datagram): Uint8Array => {
      const t: TunnelMeta = { ...emptyTunnelMeta(), src: u32(REMOTE), dst: u32(LOCAL), ttl: 63, flags: TUN_F_KEY, ...d.t };
      const ipd = encapsulate(d.frame, d.kind, t, 50000 + (d.frame[11] & 0xff), d.kind === 'vxlan' ? 4789 : 6081);
      if (d.mangle) {
        d.mangle(ipd);
        setIpv4HeaderChecksum(ipd, 0);
      }
      return fromRemote(ipd);
    };
    const tunnelled = () => upcalls.filter((x) => x.kind === 'miss' && (names.get(decodeKey(x.key).inPort ?? -1) ?? 'out') !== 'out');

    // 1. MISS upcalls.
    await under.send(MISS.map(wire));
    await settle(() => tunnelled().length >= MISS_TAKEN.length);
    const misses = new Map<string, { key: FlowKey; packet: string }>();
    for (const x of tunnelled()) {
      const key = decodeKey(x.key);
      // The port numbers differ between the datapaths; the pad attribute is the kernel's alignment.
      const t = key.tunnel;
      const norm = { ...key, inPort: names.get(key.inPort!) as unknown as number, tunnel: t && { ...t, pad: undefined, geneveOpts: t.geneveOpts && hex(t.geneveOpts) } };
      const d = byMac(MISS, x.packet);
      misses.set(d?.name ?? `unknown ${hex(x.packet)}`, { key: JSON.parse(JSON.stringify(norm, jsonable)) as FlowKey, packet: hex(x.packet) });
    }

    // 2. A megaflow on in_port and tun_id.
    upcalls.length = 0;
    await dpif.putFlow(dp, {
      key: keyBytes({ inPort: vx, tunnel: { id: 100n, ipv4Src: REMOTE, ipv4Dst: LOCAL, ttl: 63, tpDst: 4789 }, ethernet: { src: '00:00:00:00:00:00', dst: '00:00:00:00:00:00' } }),
      mask: keyBytes({ inPort: 0xffffffff, tunnel: { id: 0xffffffffffffffffn }, ethernet: { src: '00:00:00:00:00:00', dst: '00:00:00:00:00:00' } }),
      actions: actionBytes([{ type: 'output', port: out }]),
    });
    await dpif.putFlow(dp, {
      key: keyBytes({ inPort: gn, tunnel: { id: 6n, ipv4Src: REMOTE, ipv4Dst: LOCAL, ttl: 63, tpDst: 6081 }, ethernet: { src: '00:00:00:00:00:00', dst: '00:00:00:00:00:00' } }),
      mask: keyBytes({ inPort: 0xffffffff, tunnel: { id: 0xffffffffffffffffn }, ethernet: { src: '00:00:00:00:00:00', dst: '00:00:00:00:00:00' } }),
      actions: actionBytes([{ type: 'output', port: out }]),
    });
    outTap.clear();
    await under.send(HITS.map(wire));
    await settle(() => outTap.poll().length >= 4 && tunnelled().length >= 1, 4000);
    const hitsOut = outTap.poll().map((f) => HITS.find((h) => hex(h.frame) === hex(f))?.name ?? `other ${hex(f).slice(0, 40)}`).sort();
    const hitUpcalls = tunnelled().map((x) => HITS.find((h) => hex(h.frame) === hex(x.packet))?.name ?? 'other').sort();
    await dpif.flushFlows(dp);

    // 3. set(tunnel) and output into the tunnel ports.
    for (const e of EGRESS) {
      const key = extractKey(parsePacket(e.frame), { inPort: out });
      const acts: Action[] = [];
      if (e.tunnel) acts.push({ type: 'set', key: { tunnel: e.tunnel } });
      acts.push({ type: 'output', port: e.port === 'vx' ? vx : e.port === 'gn' ? gn : gr });
      await dpif.putFlow(dp, { key: keyBytes(key), actions: actionBytes(acts) });
    }
    under.clear();
    await outTap.send(EGRESS.map((e) => e.frame));
    await settle(() => under.poll().filter(isTunnelDatagram).length >= EGRESS.length - 1);
    const egress = new Map<string, Uint8Array[]>();
    for (const f of under.poll().filter(isTunnelDatagram)) {
      const ipd = f.subarray(14);
      const body = hex(ipd.subarray(20));
      const e = EGRESS.find((x) => body.endsWith(hex(x.frame)));
      const name = e?.name ?? 'other';
      egress.set(name, [...(egress.get(name) ?? []), ipd.slice()]);
    }
    return { misses, hitsOut, hitUpcalls, egress };
  } finally {
    await undo(cleanup);
  }
}

const isTunnelDatagram = (f: Uint8Array) => f.length > 14 + 28 && f[12] === 0x08 && f[13] === 0 && (f[14 + 9] === 17 || f[14 + 9] === 47) && hex(f.subarray(14 + 16, 14 + 20)) === hex(Uint8Array.from(REMOTE.split('.').map(Number)));

const results = runSidesOnce(runSide);

describe('tunnel ports, kernel vs fallback', () => {
  it('MISS upcalls of tunnelled frames: the same keys, tunnel included, and the same frames', () => {
    const k = results.kernel!.misses;
    const f = results.fallback!.misses;
    // The kernel is the reference: what it drops (bad VXLAN flags, CE over not-ECT) comes up on neither.
    expect([...k.keys()].sort()).toEqual(MISS_TAKEN.map((m) => m.name).sort());
    // The congestion mark was copied onto the inner frame (and its checksum kept right: the packets are compared whole).
    expect(Number.parseInt(k.get('vxlan, outer CE over an ECT(0) frame')!.packet.slice(30, 32), 16) & 3).toBe(3);
    expect(k.get('vxlan, no checksum')!.key.tunnel).toMatchObject({ id: '100', ipv4Src: REMOTE, ipv4Dst: LOCAL, ttl: 63, tpDst: 4789 });
    for (const [name, v] of k) expect([name, f.get(name)]).toEqual([name, v]);
    expect([...f.keys()].sort()).toEqual([...k.keys()].sort());
  });

  it('a megaflow on tun_id takes the same datagrams on both', () => {
    const k = results.kernel!;
    const f = results.fallback!;
    // The kernel's answers, stated: TTL is not matched when the mask leaves it
    // out, and a flow that states no geneve options takes any.
    expect(k.hitsOut).toEqual(['VNI 100, ttl 62', 'VNI 100, ttl 63', 'geneve VNI 6 with options', 'geneve VNI 6 without options']);
    expect(k.hitUpcalls).toEqual(['VNI 101']);
    expect(f.hitsOut).toEqual(k.hitsOut);
    expect(f.hitUpcalls).toEqual(k.hitUpcalls);
  });

  it('set(tunnel) and output: the same datagrams on the wire', () => {
    const k = results.kernel!.egress;
    const f = results.fallback!.egress;
    expect([...k.keys()].sort()).toEqual(EGRESS.filter((e) => e.tunnel).map((e) => e.name).sort());
    expect([...f.keys()].sort()).toEqual([...k.keys()].sort());
    for (const e of EGRESS.filter((x) => x.tunnel)) {
      const [kd] = k.get(e.name)!;
      const [fd] = f.get(e.name)!;
      if (e.port === 'gr') {
        // GRE: the whole datagram but the IP id and header checksum, its checksum (over GRE and the frame) included.
        // The kernel leaves its GRE checksum to the veth's offload too: compared without it.
        const noCsum = (d: Uint8Array) => (d[20] & 0x80 ? [...d.subarray(20, 24), 0, 0, ...d.subarray(26)] : [...d.subarray(20)]);
        const gre = (d: Uint8Array) => ({ head: hex(d.subarray(0, 4)), df: d[6] & 0x40, ttlProto: hex(d.subarray(8, 10)), addrs: hex(d.subarray(12, 20)), rest: hex(Uint8Array.from(noCsum(d))) });
        expect([e.name, gre(fd)]).toEqual([e.name, gre(kd)]);
        if (e.tunnel!.csum) expect(internetChecksum(fd, 20, fd.length - 20)).toBe(0);
        continue;
      }
      const kind: TunnelKind = e.port === 'vx' ? 'vxlan' : 'geneve';
      const fields = (d: Uint8Array) => ({
        // Version, IHL, TOS, length; flags (DF); TTL and protocol; addresses.
        head: hex(d.subarray(0, 4)),
        df: d[6] & 0x40,
        ttlProto: hex(d.subarray(8, 10)),
        addrs: hex(d.subarray(12, 20)),
        dstPort: (d[22] << 8) | d[23],
        udpLen: (d[24] << 8) | d[25],
        csum: (d[26] | d[27]) !== 0,
        rest: hex(d.subarray(28)),
      });
      expect([e.name, fields(fd)]).toEqual([e.name, fields(kd)]);
      // The kernel's checksum is left to the veth's offload (CHECKSUM_PARTIAL:
      // only the pseudo-header sum is on the captured frame); the fallback's
      // is whole, and must be right.
      if (e.tunnel!.csum) expect(l4ChecksumOk(fd, 0, 20, fd.length - 20, 17)).toBe(true);
      const [min, max] = kind === 'vxlan' ? [32768, 60999] : [1, 65535];
      for (const d of [kd, fd]) {
        const sp = (d[20] << 8) | d[21];
        expect(sp >= min && sp <= max).toBe(true);
      }
    }
  });
});
