// The fallback datapath end to end on this host: the daemon in-process on a
// temporary socket, the kernel Dpif talking to it over the unix transport,
// two network namespaces joined by veth pairs whose host ends are the
// datapath's ports. Flows forward ping; without flows, MISS upcalls arrive
// with the key the kernel would have given.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KernelDpif } from '../../src/dpif/kernel.js';
import { AttrWriter } from '../../src/netlink/attr.js';
import { Connection } from '../../src/netlink/connection.js';
import { parseMessages } from '../../src/netlink/message.js';
import { UnixTransport } from '../../src/netlink/unix-transport.js';
import { encodeActions } from '../../src/ovs/action-codec.js';
import type { Action } from '../../src/ovs/actions.js';
import { decodeKey, encodeKey } from '../../src/ovs/key-codec.js';
import type { FlowKey } from '../../src/ovs/keys.js';
import { decodeUpcall, type Upcall } from '../../src/ovs/packet.js';
import { parsePacket } from '../../src/packet/index.js';
import { extractKey } from '../../src/userspace/extract.js';
import { startDaemon, type Daemon } from '../../src/userspace/daemon.js';

const sh = (cmd: string, ...args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const quiet = (cmd: string, ...args: string[]) => {
  try {
    sh(cmd, ...args);
  } catch {}
};

const NS = ['ovsnl-us1', 'ovsnl-us2'];
const HOST = ['ovsus1a', 'ovsus2a'];
const PEER = ['ovsus1b', 'ovsus2b'];
const ADDR = ['10.77.0.1', '10.77.0.2'];
const DP = 'ovsnlusdp0';

let daemon: Daemon;
let dir: string;
let dpif: KernelDpif;

function cleanup(): void {
  for (let i = 0; i < 2; i++) {
    quiet('ip', 'link', 'del', HOST[i]);
    quiet('ip', 'netns', 'del', NS[i]);
  }
  quiet('ip', 'link', 'del', DP);
}

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('the fallback datapath tests need root (network namespaces, AF_PACKET, TAP)');
  try {
    sh('ping', '-V');
  } catch {
    throw new Error('the fallback datapath tests need ping (Debian: iputils-ping)');
  }
  cleanup();
  for (let i = 0; i < 2; i++) {
    sh('ip', 'netns', 'add', NS[i]);
    sh('ip', 'link', 'add', HOST[i], 'type', 'veth', 'peer', 'name', PEER[i], 'netns', NS[i]);
    // Port counters are the devices' (as in the kernel): no IPv6 chatter of the host's own in them.
    sh('sysctl', '-qw', `net.ipv6.conf.${HOST[i]}.disable_ipv6=1`);
    sh('ip', 'link', 'set', HOST[i], 'up');
    sh('ip', '-n', NS[i], 'addr', 'add', `${ADDR[i]}/24`, 'dev', PEER[i]);
    sh('ip', '-n', NS[i], 'link', 'set', PEER[i], 'up');
    sh('ip', '-n', NS[i], 'link', 'set', 'lo', 'up');
  }
  dir = mkdtempSync(join(tmpdir(), 'ovsnl-dpd-'));
  daemon = await startDaemon({ path: join(dir, 'dpd.sock'), log: () => {} });
  const connection = new Connection({ socket: await UnixTransport.connect(join(dir, 'dpd.sock')) });
  dpif = await KernelDpif.open({ connection, kernelLog: false });
}, 60_000);

afterAll(async () => {
  dpif?.close();
  await daemon?.close();
  cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const keyBytes = (k: FlowKey) => {
  const w = new AttrWriter(128);
  encodeKey(w, k);
  return w.finish().slice();
};
const actionBytes = (a: Action[]) => {
  const w = new AttrWriter(64);
  encodeActions(w, a);
  return w.finish().slice();
};
const ZERO_ETH = { src: '00:00:00:00:00:00', dst: '00:00:00:00:00:00' };
const ZERO_ARP = { sip: '0.0.0.0', tip: '0.0.0.0', op: 0, sha: '00:00:00:00:00:00', tha: '00:00:00:00:00:00' };
const ZERO_IPV4 = { src: '0.0.0.0', dst: '0.0.0.0', proto: 0, tos: 0, ttl: 0, frag: 0 };

/** ping from a namespace in a child process, so the daemon (in this process) keeps running. */
function ping(from: number, count: number): Promise<boolean> {
  return new Promise((resolve) =>
    execFile('ip', ['netns', 'exec', NS[from], 'ping', '-c', String(count), '-W', '1', '-i', '0.2', ADDR[1 - from]], (err) => resolve(!err)),
  );
}

describe('the fallback datapath on veth pairs in two namespaces', () => {
  it('creates a datapath with its local port and adds both veth ends as netdev ports', async () => {
    const dp = await dpif.createDatapath({ name: DP });
    expect(dp.name).toBe(DP);
    for (const name of HOST) await dpif.createVport(DP, { name, type: 'netdev' });
    const ports = await dpif.listVports(DP);
    expect(ports.map((p) => [p.portNo, p.name])).toEqual([
      [0, DP],
      [1, HOST[0]],
      [2, HOST[1]],
    ]);
    await expect(dpif.createDatapath({ name: DP })).rejects.toMatchObject({ errno: 17 });
    await expect(dpif.getVport(DP, 'nosuchport0')).rejects.toMatchObject({ errno: 19 });
  });

  it('forwards ping between the namespaces through installed flows, with stats', async () => {
    for (const [inPort, out] of [
      [1, 2],
      [2, 1],
    ]) {
      for (const ethertype of [0x0806, 0x0800]) {
        // The kernel wants the L3 attribute its eth_type calls for, here fully wildcarded.
        const l3: FlowKey = ethertype === 0x0806 ? { arp: ZERO_ARP } : { ipv4: ZERO_IPV4 };
        await dpif.putFlow(DP, {
          key: keyBytes({ inPort, ethernet: ZERO_ETH, ethertype, ...l3 }),
          mask: keyBytes({ inPort: 0xffffffff, ethernet: ZERO_ETH, ethertype: 0xffff, ...l3 }),
          actions: actionBytes([{ type: 'output', port: out }]),
        });
      }
    }
    await expect(
      dpif.putFlow(DP, {
        key: keyBytes({ inPort: 1, ethernet: ZERO_ETH, ethertype: 0x0800, ipv4: ZERO_IPV4 }),
        mask: keyBytes({ inPort: 0xffffffff, ethernet: ZERO_ETH, ethertype: 0xffff, ipv4: ZERO_IPV4 }),
        actions: actionBytes([]),
      }),
    ).rejects.toMatchObject({ errno: 17 });
    expect(await ping(0, 3)).toBe(true);
    const flows = [];
    for await (const f of dpif.dumpFlows(DP)) flows.push(f);
    expect(flows).toHaveLength(4);
    const ipFlows = flows.filter((f) => decodeKey(f.key!).ethertype === 0x0800);
    for (const f of ipFlows) {
      expect(f.stats!.packets).toBeGreaterThanOrEqual(3n);
      expect(f.used).toBeGreaterThan(0n);
    }
    const dp = await dpif.getDatapath(DP);
    expect(dp.stats!.hit).toBeGreaterThanOrEqual(6n);
  });

  it('sends MISS upcalls with the kernel-shaped key to the port upcall pid when no flow matches', async () => {
    await dpif.flushFlows(DP);
    const listener = await UnixTransport.connect(join(dir, 'dpd.sock'));
    const upcalls: Upcall[] = [];
    const got = new Promise<void>((resolve) => {
      listener.watch(() => {
        listener.drain((d) => {
          for (const m of parseMessages(d)) upcalls.push(decodeUpcall(m));
        });
        if (upcalls.length) resolve();
      });
    });
    await dpif.setVport(DP, HOST[0], { upcallPids: [listener.portId] });
    quiet('ip', 'netns', 'exec', NS[0], 'ip', 'neigh', 'flush', 'all');
    const pinging = ping(0, 1);
    await Promise.race([got, new Promise((r) => setTimeout(r, 5000))]);
    await pinging;
    listener.close();
    expect(upcalls.length).toBeGreaterThan(0);
    const u = upcalls[0];
    expect(u.kind).toBe('miss');
    const key = decodeKey(u.key);
    expect(key.inPort).toBe(1);
    expect(key).toEqual(extractKey(parsePacket(u.packet), { inPort: 1 }));
    expect(Object.keys(key).slice(0, 5)).toEqual(['recircId', 'dpHash', 'priority', 'inPort', 'skbMark']);
    const dp = await dpif.getDatapath(DP);
    expect(dp.stats!.missed).toBeGreaterThan(0n);
  });

  it('executes a packet out of a port (OVS_PACKET_CMD_EXECUTE)', async () => {
    const before = (await dpif.getVport(DP, HOST[1])).stats!.txPackets;
    const frame = new Uint8Array(60);
    frame.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x88, 0xb5]);
    await dpif.execute(DP, { packet: frame, key: keyBytes({ inPort: 1 }), actions: actionBytes([{ type: 'output', port: 2 }]) });
    await new Promise((r) => setTimeout(r, 50));
    expect((await dpif.getVport(DP, HOST[1])).stats!.txPackets).toBe(before + 1n);
  });

  it('deletes ports and the datapath', async () => {
    await dpif.deleteVport(DP, HOST[1]);
    expect((await dpif.listVports(DP)).map((p) => p.name)).toEqual([DP, HOST[0]]);
    await dpif.deleteDatapath(DP);
    await expect(dpif.getDatapath(DP)).rejects.toMatchObject({ errno: 19 });
  });
});
