// ovs_packet on the real module: EXECUTE sends a frame out of a veth port
// (seen arriving on the peer); traffic from the peer comes up as MISS upcalls
// to the vport's upcall port id, then hits a flow whose stats count it.
import { createSocket } from 'node:dgram';
import { existsSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttrWriter, parseAttrs } from '../../src/netlink/attr.js';
import { Connection } from '../../src/netlink/connection.js';
import type { KernelDpif } from '../../src/dpif/kernel.js';
import { decodeUpcall, type Upcall } from '../../src/ovs/packet.js';
import { randomUfid } from '../../src/ovs/ufid.js';
import { requireOvsModule } from './setup.js';
import {
  KEY_ETHERNET,
  KEY_ETHERTYPE,
  KEY_IN_PORT,
  KEY_IPV4,
  KEY_UDP,
  deleteLink,
  dropDatapath,
  ip,
  netStat,
  openDpif,
  outputActions,
  udpKey,
  uniqueName,
  vethPair,
  waitFor,
} from './ovs-helpers.js';

function arpRequestFrame(): Uint8Array {
  const f = new Uint8Array(42);
  f.fill(0xff, 0, 6);
  f.set([2, 0, 0, 0, 0, 1], 6);
  f.set([0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1], 12);
  f.set([2, 0, 0, 0, 0, 1, 10, 77, 0, 9], 22);
  f.set([0, 0, 0, 0, 0, 0, 10, 77, 0, 10], 32);
  return f;
}

function inPortKey(port: number): Uint8Array {
  const w = new AttrWriter();
  w.u32(KEY_IN_PORT, port);
  return w.finish().slice();
}

/** Sends UDP datagrams from the veth end `peer` (10.77.0.2) to the subnet's broadcast address. */
async function sendUdp(count: number, port: number): Promise<void> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind({ address: '10.77.0.2' }, r));
  s.setBroadcast(true);
  for (let i = 0; i < count; i++) await new Promise<void>((r, j) => s.send(`ovsnl ${i}`, port, '10.77.0.255', (e) => (e ? j(e) : r())));
  s.close();
}

describe('ovs_packet', () => {
  let dpif: KernelDpif;
  let upcalls: Connection;
  const received: Upcall[] = [];
  const dp = uniqueName('ovspk');
  let a: string;
  let b: string;
  const portNo = 3;

  beforeAll(async () => {
    requireOvsModule();
    dpif = await openDpif();
    await dpif.createDatapath({ name: dp });
    [a, b] = vethPair('vp');
    // Keep the peer quiet: no IPv6 autoconfiguration chatter through the datapath.
    for (const dev of [a, b]) {
      const knob = `/proc/sys/net/ipv6/conf/${dev}/disable_ipv6`;
      if (existsSync(knob)) writeFileSync(knob, '1');
    }
    ip('addr', 'add', '10.77.0.2/24', 'dev', b);
    upcalls = new Connection();
    upcalls.onNotification = (m) => received.push(decodeUpcall(m));
    upcalls.listen();
    await dpif.createVport(dp, { name: a, type: 'netdev', portNo, upcallPids: [upcalls.portId] });
  });
  afterAll(async () => {
    await dropDatapath(dpif, dp);
    if (a) deleteLink(a);
    upcalls?.close();
    dpif.close();
  });

  it('executes a frame with an output action: it leaves on the veth and arrives at the peer', async () => {
    const before = netStat(b, 'rx_packets');
    await dpif.execute(dp, { packet: arpRequestFrame(), key: inPortKey(0), actions: outputActions(portNo) });
    expect(await waitFor(() => netStat(b, 'rx_packets') === before + 1)).toBe(true);
  });

  it('refuses an output to an impossible port (EINVAL) and a frame shorter than Ethernet (ERANGE, by netlink policy)', async () => {
    await expect(dpif.execute(dp, { packet: arpRequestFrame(), key: inPortKey(0), actions: outputActions(70000), probe: true })).rejects.toMatchObject({
      code: 'EINVAL',
      operation: `packet execute ${dp}`,
    });
    // The family's policy (PACKET at least ETH_HLEN bytes) refuses it, with an extended ack.
    await expect(dpif.execute(dp, { packet: new Uint8Array(10), key: inPortKey(0), actions: outputActions(portNo) })).rejects.toMatchObject({
      code: 'ERANGE',
      extAck: { message: expect.stringContaining('policy') },
    });
  });

  it('executes many frames with one ACK: each failure lands on its own frame, the others go out', async () => {
    const before = netStat(b, 'rx_packets');
    const received0 = dpif.conn.stats.received;
    const good = { packet: arpRequestFrame(), key: inPortKey(0), actions: outputActions(portNo) };
    const out = await dpif.executeMany(dp, [good, { ...good, actions: outputActions(70000), probe: true }, good, { ...good, packet: new Uint8Array(10) }, good]);
    expect(out[0]).toBeUndefined();
    expect(out[1]).toMatchObject({ code: 'EINVAL' });
    expect(out[2]).toBeUndefined();
    expect(out[3]).toMatchObject({ code: 'ERANGE' });
    expect(out[4]).toBeUndefined();
    // Two errors and the last frame's ACK: nothing for the frames that went out.
    expect(dpif.conn.stats.received - received0).toBe(3);
    expect(await waitFor(() => netStat(b, 'rx_packets') === before + 3)).toBe(true);
  });

  it('sends a packet that matches no flow up as a MISS upcall with packet, key and hash', async () => {
    await sendUdp(1, 9999);
    const isOurs = (u: Upcall): boolean => u.packet.length > 42 && u.packet[12] === 0x08 && u.packet[13] === 0 && u.packet[23] === 17;
    expect(await waitFor(() => received.some(isOurs))).toBe(true);
    const u = received.find(isOurs)!;
    expect(u.kind).toBe('miss');
    expect(u.dpIfindex).toBe((await dpif.getDatapath(dp)).dpIfindex);
    expect(Buffer.from(u.packet.subarray(42)).toString()).toBe('ovsnl 0');
    const inPort = parseAttrs(u.key).find((x) => x.type === KEY_IN_PORT)!;
    expect(new DataView(inPort.data.buffer, inPort.data.byteOffset).getUint32(0, true)).toBe(portNo);
    expect(u.hash).toBeTypeOf('bigint');
    const dpStats = (await dpif.getDatapath(dp)).stats!;
    expect(dpStats.missed).toBeGreaterThanOrEqual(1n);
  });

  it('counts packets that hit a flow: stats, used, and clear', async () => {
    const ufid = randomUfid();
    const key = udpKey({ inPort: portNo, src: '10.77.0.2', dst: '10.77.0.255', sport: 0, dport: 9999 });
    const w = new AttrWriter();
    w.u32(KEY_IN_PORT, 0xffffffff);
    w.bytes(KEY_ETHERNET, new Uint8Array(12));
    w.be16(KEY_ETHERTYPE, 0xffff);
    w.bytes(KEY_IPV4, new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0, 0, 0]));
    w.bytes(KEY_UDP, new Uint8Array([0, 0, 0xff, 0xff]));
    // Empty actions: drop.
    await dpif.putFlow(dp, { key, mask: w.finish().slice(), ufid, actions: new Uint8Array(0) });
    const before = received.length;
    await sendUdp(3, 9999);
    await new Promise((r) => setTimeout(r, 300));
    const f = await dpif.getFlow(dp, { ufid });
    expect(f.stats?.packets).toBe(3n);
    expect(f.stats?.bytes).toBeGreaterThan(3n * 42n);
    expect(f.used).toBeGreaterThan(0n);
    expect(received.length).toBe(before);
    const cleared = await dpif.putFlow(dp, { key, ufid, mode: 'modify', clear: true, echo: true });
    // The reply is built before the clear: it still shows the old stats.
    expect(cleared?.stats?.packets).toBe(3n);
    const after = await dpif.getFlow(dp, { ufid });
    expect(after.stats).toBeUndefined();
    expect(after.used).toBeUndefined();
    expect((await dpif.getDatapath(dp)).stats!.hit).toBeGreaterThanOrEqual(3n);
  });
});
