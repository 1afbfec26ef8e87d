// What the kernel sends up for IP fragments and for GSO packets.
//
// Fragments: the datapath does not reassemble (only the ct action does), so
// each fragment is its own MISS upcall. The key's ipv4 frag byte says which:
// FIRST (offset 0, more fragments) carries the UDP ports; LATER ones have no
// L4 header to extract, and the kernel leaves the udp() attribute out.
//
// GSO: a TCP sender's stack hands its veth 64 KB TSO packets, which veth
// passes on unsegmented, so the datapath misses once per GSO packet (n_missed
// and the port's rx_packets count those), then segments it in the upcall
// path (queue_gso_packets): one upcall per MSS-sized segment, all with the
// key of the whole, checksums completed, each no longer than the MTU. Sent
// back with execute, they are ordinary frames: a TCP transfer through a
// handler that forwards every packet (no flows at all) completes.
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KernelDpif } from '../../src/dpif/kernel.js';
import { copyUpcall, openUpcalls, type Upcalls } from '../../src/dpif/upcalls.js';
import type { Upcall } from '../../src/ovs/packet.js';
import { requireOvsModule } from './setup.js';
import { KEY_UDP, ip, netStat, openDpif, outputActions, uniqueName, waitFor } from './ovs-helpers.js';
import { FRAG_FIRST, FRAG_LATER, FrameTap, KEY_TCP, fragmentedUdp, inPortOf, ipv4FragOf, keyAttr, tagged, topology, type Topology } from './upcall-helpers.js';

let dpif: KernelDpif;
let topo: Topology;
let open: Upcalls | undefined;
const ns = uniqueName('upgns');
let server: ChildProcess | undefined;

beforeAll(async () => {
  requireOvsModule();
  dpif = await openDpif();
  topo = await topology(dpif, 'upg');
});
afterEach(async () => {
  await open?.close();
  open = undefined;
});
afterAll(async () => {
  server?.kill();
  await topo?.remove();
  try {
    ip('netns', 'del', ns);
  } catch {}
  dpif?.close();
});

const collect = (up: Upcalls): Upcall[] => {
  const got: Upcall[] = [];
  void (async () => {
    for await (const u of up) got.push(u);
  })().catch(() => undefined);
  return got;
};

describe('IP fragments', () => {
  it('crafted fragments: one MISS upcall each, frag=first with the UDP ports, then frag=later without', async () => {
    const up = (open = await openUpcalls(dpif, topo.dp));
    const got = collect(up);
    const frames = fragmentedUdp(47000, 7400, tagged('frag-', 0, 3000), 1500, { id: 0x1234 });
    expect(frames).toHaveLength(3);
    const tap = new FrameTap(topo.aPeer);
    await tap.send(frames);
    tap.close();
    const ours = (): Upcall[] => got.filter((u) => frames.some((f) => Buffer.compare(f, u.packet) === 0));
    expect(await waitFor(() => ours().length === 3, 10_000)).toBe(true);
    const byOffset = ours().sort((x, y) => (x.packet[20] & 0x1f) * 256 + x.packet[21] - ((y.packet[20] & 0x1f) * 256 + y.packet[21]));
    expect(byOffset.map((u) => ipv4FragOf(u.key))).toEqual([FRAG_FIRST, FRAG_LATER, FRAG_LATER]);
    const udp = keyAttr(byOffset[0].key, KEY_UDP)!;
    expect([(udp[0] << 8) | udp[1], (udp[2] << 8) | udp[3]]).toEqual([47000, 7400]);
    expect(keyAttr(byOffset[1].key, KEY_UDP)).toBeUndefined();
    expect(keyAttr(byOffset[2].key, KEY_UDP)).toBeUndefined();
    for (const u of byOffset) expect(inPortOf(u.key)).toBe(topo.aPort);
  });

  it("a datagram the host's stack fragments (3000 bytes over a 1500 MTU) arrives as three upcalls", async () => {
    ip('addr', 'add', '10.80.0.2/24', 'dev', topo.aPeer);
    const up = (open = await openUpcalls(dpif, topo.dp));
    const got = collect(up);
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind({ address: '10.80.0.2' }, r));
    s.setBroadcast(true);
    await new Promise<void>((r, j) => s.send(Buffer.from(tagged('stack-', 0, 3000)), 7401, '10.80.0.255', (e) => (e ? j(e) : r())));
    s.close();
    // Fragments of our datagram: IPv4 to 10.80.0.255, ours by the source address.
    const ours = (): Upcall[] => got.filter((u) => u.packet[12] === 0x08 && u.packet[13] === 0 && u.packet.subarray(26, 30).join('.') === '10.80.0.2');
    expect(await waitFor(() => ours().length === 3, 10_000)).toBe(true);
    const frags = ours().map((u) => ipv4FragOf(u.key));
    expect(frags.filter((f) => f === FRAG_FIRST)).toHaveLength(1);
    expect(frags.filter((f) => f === FRAG_LATER)).toHaveLength(2);
    expect(new Set(ours().map((u) => (u.packet[18] << 8) | u.packet[19])).size).toBe(1); // one IP id
    expect(ours().reduce((n, u) => n + u.packet.length - 34, 0)).toBe(3008); // UDP header + payload, split
    ip('addr', 'del', '10.80.0.2/24', 'dev', topo.aPeer);
  });
});

/** Starts a TCP server in the namespace that sends `bytes` to each client; resolves when it listens. */
function startServer(dev: string, bytes: number): Promise<ChildProcess> {
  const js = `require('net').createServer((s)=>s.end(Buffer.alloc(${bytes},97))).listen(5001,'10.81.0.2',()=>console.log('ready'))`;
  const sh = [
    'echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6',
    'echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6',
    'ip link set lo up',
    `ip addr add 10.81.0.2/24 dev ${dev}`,
    `ip link set ${dev} up`,
    `exec ${JSON.stringify(process.execPath)} -e ${JSON.stringify(js)}`,
  ].join(' && ');
  const child = spawn('ip', ['netns', 'exec', ns, 'sh', '-c', sh], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

function fetchAll(): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0;
    const c = connect({ host: '10.81.0.2', port: 5001, localAddress: '10.81.0.1' });
    c.on('data', (d: Buffer) => (n += d.length));
    c.on('end', () => resolve(n));
    c.on('error', reject);
    c.setTimeout(30_000, () => c.destroy(new Error(`transfer stalled after ${n} bytes`)));
  });
}

describe('GSO', () => {
  it('a TCP transfer from a namespace: GSO packets come up as MTU-sized segments, and forwarding them by execute completes it', async () => {
    const BYTES = 1 << 20;
    ip('netns', 'add', ns);
    ip('link', 'set', topo.bPeer, 'netns', ns);
    ip('addr', 'add', '10.81.0.1/24', 'dev', topo.aPeer);
    server = await startServer(topo.bPeer, BYTES);

    // A two-port hub in the batch callback: every packet out of the other port.
    const segments: number[] = [];
    const pending = new Set<Promise<void>>();
    open = await openUpcalls(dpif, topo.dp, {
      onBatch: (batch) => {
        for (const view of batch) {
          const inPort = inPortOf(view.key);
          const out = inPort === topo.aPort ? topo.bPort : inPort === topo.bPort ? topo.aPort : undefined;
          if (out === undefined) continue;
          if (inPort === topo.bPort && keyAttr(view.key, KEY_TCP) && view.packet.length > 100) segments.push(view.packet.length);
          const u = copyUpcall(view);
          const p = dpif.execute(u.dpIfindex, { packet: u.packet, key: u.key, actions: outputActions(out) }).catch(() => undefined);
          pending.add(p);
          void p.then(() => pending.delete(p));
        }
      },
    });
    const rxBefore = netStat(topo.b, 'rx_packets');
    const missedBefore = (await dpif.getDatapath(topo.dp)).stats!.missed;

    expect(await fetchAll()).toBe(BYTES);
    await Promise.all(pending);
    const rxPackets = netStat(topo.b, 'rx_packets') - rxBefore;
    const missed = Number((await dpif.getDatapath(topo.dp)).stats!.missed - missedBefore);

    // Every segment fits the 1500-byte MTU plus Ethernet, and together they carry the transfer.
    expect(Math.max(...segments)).toBeLessThanOrEqual(1514);
    expect(segments.length).toBeGreaterThanOrEqual(Math.ceil(BYTES / 1460));
    // Fewer packets crossed the veth (and missed) than upcalls came: the kernel segmented GSO packets on the way up.
    expect(rxPackets).toBeLessThan(segments.length);
    console.log(`GSO: ${rxPackets} packets from the namespace's veth, ${segments.length} TCP data upcalls (max ${Math.max(...segments)} bytes), ${missed} misses both ways`);
  });
});
