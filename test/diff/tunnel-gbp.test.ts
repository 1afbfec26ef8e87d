// VXLAN's group policy extension (OVS_VXLAN_EXT_GBP), kernel vs fallback.
// Both datapaths get the module's own VXLAN vport type: one port with the
// extension (UDP 4790), one without (4791), on the same underlay (a veth
// with 10.93.1.1, the remote 10.93.1.2 behind its peer). The sides run one
// after the other (they cannot hold the UDP ports at once) and are compared:
// - MISS upcalls: the same keys (vxlan(gbp(id,flags)) from the header's G
//   flag, policy id, don't-learn and policy-applied bits; none without G)
//   and frames; what vxlan_rcv drops (G on a port without the extension, a
//   reserved flag) comes up on neither;
// - a megaflow on the policy id: which datagrams it takes;
// - set(tunnel(...,vxlan(gbp(...)))) into each port: the same VXLAN headers
//   on the wire (the policy written by the GBP port only, and not at all
//   for a zero policy).
import { describe, expect, it } from 'vitest';
import { KernelDpif } from '../../src/dpif/kernel.js';
import { copyUpcall, openUpcalls } from '../../src/dpif/upcalls.js';
import type { Action } from '../../src/ovs/actions.js';
import { decodeKey } from '../../src/ovs/key-codec.js';
import type { TunnelKey } from '../../src/ovs/keys.js';
import type { Upcall } from '../../src/ovs/packet.js';
import { buildFrame } from '../../src/packet/build.js';
import { setIpv4HeaderChecksum } from '../../src/packet/checksum.js';
import { parsePacket } from '../../src/packet/parse.js';
import { emptyTunnelMeta, encapsulate, TUN_F_KEY } from '../../src/packet/tunnel.js';
import { extractKey } from '../../src/userspace/extract.js';
import { uniqueName } from '../kernel/ovs-helpers.js';
import { hex, WireTap } from './harness.js';
import { actionBytes, daemonListener, fallbackDaemon, innerVeth, jsonable, keyBytes, runSidesOnce, settle, underlay, undo, u32, type Cleanup } from './tunnel-harness.js';

const LOCAL = '10.93.1.1';
const REMOTE = '10.93.1.2';
const GBP_PORT = 4790;
const PLAIN_PORT = 4791;

const inner = (i: number) =>
  buildFrame({ src: `02:93:00:00:00:${i.toString(16).padStart(2, '0')}`, dst: '02:93:00:00:01:00', l3: { kind: 'ipv4', src: '192.168.93.1', dst: '192.168.93.2' }, l4: { kind: 'udp', src: 1000 + i, dst: 2000 }, payload: 24 });

interface Datagram {
  name: string;
  dstPort: number;
  vni: number;
  /** The first word of the VXLAN header: flags, and GBP's bits and policy id. */
  word: number;
  frame: Uint8Array;
}

const I = 0x08000000;
const G = 0x80000000;
const D = 0x00400000;
const A = 0x00080000;
const MISS: Datagram[] = [
  { name: 'G, policy 0x1234', dstPort: GBP_PORT, vni: 10, word: G | I | 0x1234, frame: inner(1) },
  { name: "G, don't learn, policy applied, policy 7", dstPort: GBP_PORT, vni: 11, word: G | I | D | A | 7, frame: inner(2) },
  { name: 'G, policy 0', dstPort: GBP_PORT, vni: 12, word: G | I, frame: inner(3) },
  { name: 'no G', dstPort: GBP_PORT, vni: 13, word: I, frame: inner(4) },
  { name: "no G, but don't learn and a policy id", dstPort: GBP_PORT, vni: 14, word: I | D | 0x55, frame: inner(5) },
  { name: 'G and a reserved flag (dropped)', dstPort: GBP_PORT, vni: 15, word: G | I | 0x04000000 | 9, frame: inner(6) },
  { name: 'G on a port without the extension (dropped)', dstPort: PLAIN_PORT, vni: 16, word: G | I | 0x1234, frame: inner(7) },
  { name: 'plain on a port without the extension', dstPort: PLAIN_PORT, vni: 17, word: I, frame: inner(8) },
];
const MISS_TAKEN = MISS.filter((m) => !m.name.includes('dropped'));

/** For a megaflow on VNI 100 and policy id 0x1234 (the flags left out). */
const HITS: Datagram[] = [
  { name: 'policy 0x1234', dstPort: GBP_PORT, vni: 100, word: G | I | 0x1234, frame: inner(0x11) },
  { name: "policy 0x1234, don't learn", dstPort: GBP_PORT, vni: 100, word: G | I | D | 0x1234, frame: inner(0x12) },
  { name: 'policy 0x1235', dstPort: GBP_PORT, vni: 100, word: G | I | 0x1235, frame: inner(0x13) },
  { name: 'no policy', dstPort: GBP_PORT, vni: 100, word: I, frame: inner(0x14) },
];

interface Egress {
  name: string;
  frame: Uint8Array;
  port: 'gbp' | 'plain';
  tunnel: TunnelKey;
}
const tun = (gbp: number | undefined, tpDst: number): TunnelKey => ({ id: 0x77n, ipv4Src: LOCAL, ipv4Dst: REMOTE, ttl: 40, tpDst, ...(gbp === undefined ? {} : { vxlanOpts: { gbp } }) });
const EGRESS: Egress[] = [
  { name: "policy 0x1234, don't learn, policy applied", frame: inner(0x21), port: 'gbp', tunnel: tun(0x481234, GBP_PORT) },
  { name: 'policy 0x0042', frame: inner(0x22), port: 'gbp', tunnel: tun(0x42, GBP_PORT) },
  { name: 'a zero policy writes nothing', frame: inner(0x23), port: 'gbp', tunnel: tun(0, GBP_PORT) },
  { name: 'a port without the extension writes nothing', frame: inner(0x24), port: 'plain', tunnel: tun(0x1234, PLAIN_PORT) },
  { name: 'no policy, port without the extension', frame: inner(0x25), port: 'plain', tunnel: tun(undefined, PLAIN_PORT) },
];

interface Result {
  misses: Map<string, { key: unknown; packet: string }>;
  hitsOut: string[];
  hitUpcalls: string[];
  egress: Map<string, { vxlan: string; dstPort: number; rest: string }>;
}


async function runSide(label: 'kernel' | 'fallback'): Promise<Result> {
  const cleanup: Cleanup = [];
  try {
    const { uPeer, frame: fromRemote } = underlay('dgu', LOCAL, REMOTE, cleanup);
    const [b, bPeer] = innerVeth('dgb', cleanup);

    let dpif: KernelDpif;
    const upcalls: Upcall[] = [];
    const dp = uniqueName(label === 'kernel' ? 'dgk' : 'dgf');
    let listenerPid: number | undefined;
    if (label === 'kernel') {
      dpif = await KernelDpif.open();
    } else {
      const d = await fallbackDaemon(cleanup);
      dpif = d.dpif;
      listenerPid = await daemonListener(d.path, upcalls, cleanup);
    }
    cleanup.push(() => dpif.close());
    await dpif.createDatapath({ name: dp });
    cleanup.push(() => dpif.deleteDatapath(dp).then(() => undefined, () => undefined));
    // The module's own VXLAN vports on both sides (vport-vxlan.c makes the device, named after the port).
    const gbpName = uniqueName('dgvg');
    const plainName = uniqueName('dgvp');
    const gbpPort = await dpif.createVport(dp, { name: gbpName, type: 'vxlan', options: { dstPort: GBP_PORT, extensions: { gbp: true } } });
    const plainPort = await dpif.createVport(dp, { name: plainName, type: 'vxlan', options: { dstPort: PLAIN_PORT } });
    // Both report the extension as vxlan_get_options does.
    expect(gbpPort.options).toMatchObject({ dstPort: GBP_PORT, extensions: { gbp: true } });
    expect(plainPort.options?.extensions).toBeUndefined();
    const gp = gbpPort.portNo;
    const pp = plainPort.portNo;
    const out = (await dpif.createVport(dp, { name: b, type: 'netdev' })).portNo;
    if (listenerPid === undefined) {
      const up = await openUpcalls(dpif, dp, { dispatch: 'per-vport', onBatch: (batch) => void upcalls.push(...batch.map(copyUpcall)) });
      cleanup.push(() => up.close());
    } else {
      for (const p of [gp, pp, out]) await dpif.setVport(dp, p, { upcallPids: [listenerPid] });
    }
    const names = new Map([
      [gp, 'gbp'],
      [pp, 'plain'],
      [out, 'out'],
    ]);
    const under = new WireTap(uPeer);
    cleanup.push(() => under.close());
    const outTap = new WireTap(bPeer);
    cleanup.push(() => outTap.close());
    const wire = (d: Datagram): Uint8Array => {
      const t = { ...emptyTunnelMeta(), src: u32(REMOTE), dst: u32(LOCAL), ttl: 63, flags: TUN_F_KEY, idLo: d.vni };
      const ipd = encapsulate(d.frame, 'vxlan', t, 50000 + (d.frame[11] & 0xff), d.dstPort);
      // The VXLAN header's first word, as the case gives it (no UDP checksum to mend).
      new DataView(ipd.buffer, ipd.byteOffset).setUint32(28, d.word >>> 0);
      setIpv4HeaderChecksum(ipd, 0);
      return fromRemote(ipd);
    };
    const tunnelled = () => upcalls.filter((x) => x.kind === 'miss' && (names.get(decodeKey(x.key).inPort ?? -1) ?? 'out') !== 'out');
    const byMac = <T extends { frame: Uint8Array }>(list: T[], f: Uint8Array) => list.find((x) => hex(x.frame.subarray(6, 12)) === hex(f.subarray(6, 12)));

    // 1. MISS upcalls.
    await under.send(MISS.map(wire));
    await settle(() => tunnelled().length >= MISS_TAKEN.length);
    const misses = new Map<string, { key: unknown; packet: string }>();
    for (const x of tunnelled()) {
      const key = decodeKey(x.key);
      const t = key.tunnel;
      const norm = { ...key, inPort: names.get(key.inPort!), tunnel: t && { ...t, pad: undefined, tpSrc: undefined } };
      misses.set(byMac(MISS, x.packet)?.name ?? `unknown ${hex(x.packet)}`, { key: JSON.parse(JSON.stringify(norm, jsonable)), packet: hex(x.packet) });
    }

    // 2. A megaflow on in_port, VNI and the policy id.
    upcalls.length = 0;
    await dpif.putFlow(dp, {
      key: keyBytes({ inPort: gp, tunnel: { id: 100n, ipv4Src: REMOTE, ipv4Dst: LOCAL, ttl: 63, tpDst: GBP_PORT, vxlanOpts: { gbp: 0x1234 } }, ethernet: { src: '00:00:00:00:00:00', dst: '00:00:00:00:00:00' } }),
      mask: keyBytes({ inPort: 0xffffffff, tunnel: { id: 0xffffffffffffffffn, vxlanOpts: { gbp: 0xffff } }, ethernet: { src: '00:00:00:00:00:00', dst: '00:00:00:00:00:00' } }),
      actions: actionBytes([{ type: 'output', port: out }]),
    });
    outTap.clear();
    await under.send(HITS.map(wire));
    await settle(() => outTap.poll().length >= 2 && tunnelled().length >= 2, 4000);
    const hitsOut = outTap.poll().map((f) => HITS.find((h) => hex(h.frame) === hex(f))?.name ?? `other ${hex(f).slice(0, 40)}`).sort();
    const hitUpcalls = tunnelled().map((x) => HITS.find((h) => hex(h.frame) === hex(x.packet))?.name ?? 'other').sort();
    await dpif.flushFlows(dp);

    // 3. set(tunnel) and output into each VXLAN port.
    for (const e of EGRESS) {
      const key = extractKey(parsePacket(e.frame), { inPort: out });
      const acts: Action[] = [{ type: 'set', key: { tunnel: e.tunnel } }, { type: 'output', port: e.port === 'gbp' ? gp : pp }];
      await dpif.putFlow(dp, { key: keyBytes(key), actions: actionBytes(acts) });
    }
    under.clear();
    await outTap.send(EGRESS.map((e) => e.frame));
    const isVxlan = (f: Uint8Array) => f.length > 14 + 36 && f[12] === 0x08 && f[13] === 0 && f[14 + 9] === 17 && hex(f.subarray(14 + 16, 14 + 20)) === hex(Uint8Array.from(REMOTE.split('.').map(Number)));
    await settle(() => under.poll().filter(isVxlan).length >= EGRESS.length);
    const egress = new Map<string, { vxlan: string; dstPort: number; rest: string }>();
    for (const f of under.poll().filter(isVxlan)) {
      const d = f.subarray(14);
      const e = byMac(EGRESS, d.subarray(36));
      egress.set(e?.name ?? `other ${hex(d).slice(0, 60)}`, { vxlan: hex(d.subarray(28, 36)), dstPort: (d[22] << 8) | d[23], rest: hex(d.subarray(36)) });
    }
    return { misses, hitsOut, hitUpcalls, egress };
  } finally {
    await undo(cleanup);
  }
}

const results = runSidesOnce(runSide);

describe('VXLAN group policy, kernel vs fallback', () => {
  it('MISS upcalls: the same keys, policy metadata included, and the same frames', () => {
    const k = results.kernel!.misses;
    const f = results.fallback!.misses;
    expect([...k.keys()].sort()).toEqual(MISS_TAKEN.map((m) => m.name).sort());
    // The kernel's answers, stated: flags (don't learn 0x40, applied 0x08) above the policy id.
    const gbpOf = (name: string) => (k.get(name)!.key as { tunnel: TunnelKey }).tunnel.vxlanOpts;
    expect(gbpOf('G, policy 0x1234')).toEqual({ gbp: 0x1234 });
    expect(gbpOf("G, don't learn, policy applied, policy 7")).toEqual({ gbp: 0x480007 });
    expect(gbpOf('G, policy 0')).toEqual({ gbp: 0 });
    expect(gbpOf('no G')).toBeUndefined();
    expect(gbpOf("no G, but don't learn and a policy id")).toBeUndefined();
    for (const [name, v] of k) expect([name, f.get(name)]).toEqual([name, v]);
    expect([...f.keys()].sort()).toEqual([...k.keys()].sort());
  });

  it('a megaflow on the policy id takes the same datagrams on both', () => {
    const k = results.kernel!;
    const f = results.fallback!;
    expect(k.hitsOut).toEqual(['policy 0x1234', "policy 0x1234, don't learn"]);
    expect(k.hitUpcalls).toEqual(['no policy', 'policy 0x1235']);
    expect(f.hitsOut).toEqual(k.hitsOut);
    expect(f.hitUpcalls).toEqual(k.hitUpcalls);
  });

  it('set(tunnel) with a policy: the same VXLAN headers on the wire', () => {
    const k = results.kernel!.egress;
    const f = results.fallback!.egress;
    expect([...k.keys()].sort()).toEqual(EGRESS.map((e) => e.name).sort());
    expect(k.get("policy 0x1234, don't learn, policy applied")!.vxlan).toBe('8848123400007700');
    expect(k.get('a port without the extension writes nothing')!.vxlan).toBe('0800000000007700');
    for (const e of EGRESS) expect([e.name, f.get(e.name)]).toEqual([e.name, k.get(e.name)]);
  });
});
