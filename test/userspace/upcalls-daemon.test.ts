// openUpcalls() unchanged on the userspace datapath: a Dpif from openDpif()
// on the daemon, handler sockets that are connections to it, per-vport and
// per-CPU dispatch, MISS upcalls with the kernel's key for a ping's ARP, and
// the datapath's dispatch put back on close.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KernelDpif } from '../../src/dpif/kernel.js';
import { openDpifSide } from '../../src/dpif/open.js';
import { openUpcalls } from '../../src/dpif/upcalls.js';
import { decodeKey } from '../../src/ovs/key-codec.js';
import type { Upcall } from '../../src/ovs/packet.js';
import * as U from '../../src/ovs/uapi.js';
import { startDaemon, type Daemon } from '../../src/userspace/daemon.js';
import { makeNsPairs, quiet, removeNsPairs, requireRoot, type NsPair } from './helpers.js';

const DP = 'ovsnlupdp0';
const PAIRS: NsPair[] = [
  { ns: 'ovsnl-up1', host: 'ovsup1a', peer: 'eth0', addr: '10.79.0.1' },
  { ns: 'ovsnl-up2', host: 'ovsup2a', peer: 'eth0', addr: '10.79.0.2' },
];

let dir: string;
let daemon: Daemon;
let dpif: KernelDpif;

/** One ping in a child process (the daemon runs in this one); it fails, there are no flows. */
const ping = () => new Promise<void>((resolve) => execFile('ip', ['netns', 'exec', PAIRS[0].ns, 'ping', '-c', '1', '-W', '1', PAIRS[1].addr], () => resolve()));

beforeAll(async () => {
  requireRoot('upcalls on the userspace datapath');
  makeNsPairs(PAIRS);
  dir = mkdtempSync(join(tmpdir(), 'ovsnl-up-'));
  daemon = await startDaemon({ path: join(dir, 'dpd.sock'), log: () => {} });
  const opened = await openDpifSide({ datapath: 'userspace', daemon: { socket: join(dir, 'dpd.sock') }, startDaemon: false });
  expect(opened.side).toBe('userspace');
  dpif = opened.dpif;
  await dpif.createDatapath({ name: DP });
  for (const p of PAIRS) await dpif.createVport(DP, { name: p.host, type: 'netdev' });
}, 60_000);

afterAll(async () => {
  dpif?.close();
  await daemon?.close();
  removeNsPairs(PAIRS);
  quiet('ip', 'link', 'del', DP);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('openUpcalls on the userspace daemon', () => {
  it.each(['per-vport', 'per-cpu'] as const)('%s: MISS upcalls for a ping, with the in_port and ARP key; dispatch restored on close', async (dispatch) => {
    const before = await dpif.getDatapath(DP);
    const upcalls = await openUpcalls(dpif, DP, { dispatch, handlers: 2 });
    try {
      expect(upcalls.dispatch).toBe(dispatch);
      const iter = upcalls[Symbol.asyncIterator]();
      await ping();
      // The first ARP one (IPv6 neighbour chatter may come before it).
      const deadline = Date.now() + 5000;
      let u: Upcall | undefined;
      while (!u && Date.now() < deadline) {
        const next = await Promise.race([iter.next(), new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), deadline - Date.now()))]);
        if (next === 'timeout' || next.done) break;
        if (decodeKey(next.value.key).ethertype === 0x0806) u = next.value;
      }
      if (!u) throw new Error('no ARP MISS upcall within 5 s');
      expect(u.kind).toBe('miss');
      const key = decodeKey(u.key);
      expect(key.inPort).toBe(1);
      expect(key.ethertype).toBe(0x0806);
      expect(key.arp?.tip).toBe(PAIRS[1].addr);
      expect(upcalls.stats.received).toBeGreaterThanOrEqual(1);
      if (dispatch === 'per-cpu') expect((await dpif.getDatapath(DP)).userFeatures! & U.OVS_DP_F_DISPATCH_UPCALL_PER_CPU).toBeTruthy();
      else expect((await dpif.getVport(DP, PAIRS[0].host)).upcallPids).toEqual(upcalls.portIds);
    } finally {
      await upcalls.close();
    }
    expect((await dpif.getDatapath(DP)).userFeatures).toBe(before.userFeatures);
  });
});
