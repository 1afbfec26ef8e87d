// ovs_meter on the fallback daemon, through the same Dpif calls as on the
// kernel (test/diff/actions.test.ts compares the two under traffic): features,
// set and get with stats, replacement, delete, and the kernel's errors.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KernelDpif } from '../../src/dpif/kernel.js';
import { Connection } from '../../src/netlink/connection.js';
import { UnixTransport } from '../../src/netlink/unix-transport.js';
import { startDaemon, type Daemon } from '../../src/userspace/daemon.js';
import { quiet } from './helpers.js';

const DP = 'ovsnlmtr0';
let daemon: Daemon;
let dir: string;
let dpif: KernelDpif;

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('the fallback datapath tests need root (TAP devices)');
  quiet('ip', 'link', 'del', DP);
  dir = mkdtempSync(join(tmpdir(), 'ovsnl-mtr-'));
  daemon = await startDaemon({ path: join(dir, 'dpd.sock'), log: () => {} });
  dpif = await KernelDpif.open({ connection: new Connection({ socket: await UnixTransport.connect(join(dir, 'dpd.sock')) }), kernelLog: false });
  await dpif.createDatapath({ name: DP });
});

afterAll(async () => {
  await dpif?.deleteDatapath(DP).catch(() => undefined);
  dpif?.close();
  await daemon?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('ovs_meter on the fallback daemon', () => {
  it('reports one drop band per meter', async () => {
    const f = await dpif.meterFeatures(DP);
    expect(f.maxBands).toBe(1);
    expect(f.bandTypes).toEqual([1]);
    expect(f.maxMeters).toBeGreaterThan(0);
  });

  it('sets, reads, replaces and deletes a meter, with the stats the datapath counted', async () => {
    expect(await dpif.setMeter(DP, { id: 3, bands: [{ rate: 1, burst: 2 }] })).toBeUndefined();
    // Traffic, as the datapath's meter action would meter it.
    const dp = daemon.datapaths.datapaths.get(DP)!;
    expect([1, 2, 3].map(() => dp.meter(3, 100))).toEqual([false, false, true]);
    const got = await dpif.getMeter(DP, 3);
    expect(got.id).toBe(3);
    expect(got.stats).toEqual({ packets: 3n, bytes: 300n });
    expect(got.bands?.map((b) => b.stats)).toEqual([{ packets: 1n, bytes: 100n }]);
    // Replacing reports the old meter's stats; the new one starts from zero.
    const old = await dpif.setMeter(DP, { id: 3, kbps: true, bands: [{ rate: 10, burst: 10 }], clear: true });
    expect(old?.stats).toEqual({ packets: 3n, bytes: 300n });
    expect((await dpif.getMeter(DP, 3)).stats).toEqual({ packets: 0n, bytes: 0n });
    // Created with CLEAR: replacing it reports nothing.
    expect(await dpif.setMeter(DP, { id: 3, bands: [{ rate: 1, burst: 1 }] })).toBeUndefined();
    expect((await dpif.deleteMeter(DP, 3))?.id).toBe(3);
    expect(await dpif.deleteMeter(DP, 3)).toBeUndefined();
    await expect(dpif.getMeter(DP, 3)).rejects.toMatchObject({ errno: 2 });
  });

  it('refuses what the kernel refuses', async () => {
    await expect(dpif.setMeter(DP, { id: 4, bands: [{ rate: 0, burst: 1 }] })).rejects.toMatchObject({ errno: 22 });
    await expect(dpif.setMeter(DP, { id: 4, bands: [] })).rejects.toMatchObject({ errno: 22 });
    await expect(dpif.setMeter(DP, { id: 4, bands: [{ rate: 1, burst: 1 }, { rate: 2, burst: 1 }] })).rejects.toMatchObject({ errno: 22 });
  });
});
