// Upcall dispatch on the real module: per-vport and per-CPU registration of
// the handler sockets, MISS upcalls from a veth port and an internal port
// through openUpcalls, what close() gives back, and the guard keeping
// dispatch in force against vports added later and against ovs-dpctl, which
// re-sets the datapath's features whenever it opens one.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KernelDpif } from '../../src/dpif/kernel.js';
import { openUpcalls, type Upcalls } from '../../src/dpif/upcalls.js';
import type { Upcall } from '../../src/ovs/packet.js';
import * as U from '../../src/ovs/uapi.js';
import { possibleCpus } from '../../src/dpif/upcall-cpus.js';
import { requireOvsModule } from './setup.js';
import { deleteLink, openDpif, vethPair, waitFor } from './ovs-helpers.js';
import { FrameTap, hasTag, inPortOf, quiet, tagged, topology, udpFrame, type Topology } from './upcall-helpers.js';
import { dpctl } from './peer.js';

/** Everything the channel yields, collected in the background. */
function collect(up: Upcalls): Upcall[] {
  const got: Upcall[] = [];
  void (async () => {
    for await (const u of up) got.push(u);
  })().catch(() => undefined);
  return got;
}

let dpif: KernelDpif;
let topo: Topology;
let fromA: FrameTap;
let fromInternal: FrameTap;
let open: Upcalls | undefined;

beforeAll(async () => {
  requireOvsModule();
  dpif = await openDpif();
  topo = await topology(dpif, 'upd');
  fromA = new FrameTap(topo.aPeer);
  fromInternal = new FrameTap(topo.internal);
});
afterEach(async () => {
  await open?.close();
  open = undefined;
});
afterAll(async () => {
  fromA?.close();
  fromInternal?.close();
  await topo?.remove();
  dpif?.close();
});

describe.each(['per-vport', 'per-cpu'] as const)('%s dispatch', (mode) => {
  it('registers the handler sockets, delivers MISS upcalls with in_port and the packet, and restores on close', async () => {
    const before = await dpif.getDatapath(topo.dp);
    const up = (open = await openUpcalls(dpif, topo.dp, { dispatch: mode, handlers: 2 }));
    expect(up.dispatch).toBe(mode);
    expect(up.portIds).toHaveLength(2);
    expect(up.receiveBufferBytes).toBeGreaterThanOrEqual(8 << 20);

    // What the kernel now says, read back.
    const dp = await dpif.getDatapath(topo.dp);
    const vports = await dpif.listVports(topo.dp);
    if (mode === 'per-cpu') {
      expect(dp.userFeatures! & U.OVS_DP_F_DISPATCH_UPCALL_PER_CPU).toBeTruthy();
      const cpus = possibleCpus();
      expect(dp.perCpuPids).toHaveLength(Math.max(...cpus) + 1);
      expect(new Set(dp.perCpuPids)).toEqual(new Set(cpus.length > 1 ? up.portIds : [up.portIds[0]]));
    } else {
      expect(dp.userFeatures! & U.OVS_DP_F_DISPATCH_UPCALL_PER_CPU).toBe(0);
      for (const v of vports) expect(v.upcallPids).toEqual(up.portIds);
    }

    const got = collect(up);
    const tag = `${mode}-`;
    const frames = Array.from({ length: 8 }, (_, i) => udpFrame(40000 + i, 7000, tagged(tag, i)));
    await fromA.send(frames);
    const internalFrame = udpFrame(41000, 7000, tagged(`${tag}int`, 0));
    await fromInternal.send([internalFrame]);
    const ours = (): Upcall[] => got.filter((u) => hasTag(u.packet, tag));
    expect(await waitFor(() => ours().length === 9, 10_000)).toBe(true);

    for (const u of ours()) {
      expect(u.kind).toBe('miss');
      expect(u.dpIfindex).toBe(topo.dpIfindex);
      const fromInt = hasTag(u.packet, `${tag}int`);
      expect(inPortOf(u.key)).toBe(fromInt ? topo.internalPort : topo.aPort);
      const sent = fromInt ? internalFrame : frames.find((f) => Buffer.compare(f, u.packet) === 0);
      expect(sent, 'the upcall carries the frame as sent').toBeDefined();
      expect(Buffer.from(u.packet)).toEqual(Buffer.from(sent!));
    }
    expect(up.stats).toMatchObject({ lost: 0, malformed: 0, truncated: 0 });
    expect(up.stats.received).toBeGreaterThanOrEqual(9);
    expect((await up.kernelStats()).missed).toBeGreaterThanOrEqual(9n);

    await up.close();
    open = undefined;
    const after = await dpif.getDatapath(topo.dp);
    expect(after.userFeatures).toBe(before.userFeatures);
    if (mode === 'per-cpu') {
      // The bit is off again; the array (kept by the kernel, unused) holds no pid of ours.
      expect(after.perCpuPids ?? []).not.toContain(up.portIds[0]);
    } else {
      for (const v of await dpif.listVports(topo.dp)) expect(v.upcallPids).toEqual([0]);
    }
  });
});

describe('choosing and keeping dispatch', () => {
  it("'auto' takes per-CPU dispatch on this kernel (5.14 and later have it)", async () => {
    const up = (open = await openUpcalls(dpif, topo.dp));
    expect(up.dispatch).toBe('per-cpu');
    expect(up.fallbackReason).toBeUndefined();
    expect(up.vportUpcallPids).toEqual([0]);
  });

  it('per-vport: a vport added later gets the handlers, its upcalls arrive', async () => {
    const up = (open = await openUpcalls(dpif, topo.dp, { dispatch: 'per-vport', handlers: 1 }));
    const got = collect(up);
    const [c, cPeer] = vethPair('updc');
    quiet(c);
    quiet(cPeer);
    try {
      // Created with no upcall pid, as another tool would.
      const v = await dpif.createVport(topo.dp, { name: c, type: 'netdev' });
      expect(await waitFor(() => up.stats.reasserted >= 1, 5000)).toBe(true);
      expect((await dpif.getVport(topo.dp, v.portNo)).upcallPids).toEqual(up.portIds);
      const tap = new FrameTap(cPeer);
      await tap.send([udpFrame(42000, 7000, tagged('late-', 0))]);
      tap.close();
      expect(await waitFor(() => got.some((u) => hasTag(u.packet, 'late-') && inPortOf(u.key) === v.portNo), 5000)).toBe(true);
      await dpif.deleteVport(topo.dp, v.portNo);
    } finally {
      deleteLink(c);
    }
  });

  it('per-vport: `ovs-dpctl show` switches the datapath to per-CPU dispatch; the guard switches it back and upcalls keep arriving', async () => {
    const before = await dpif.getDatapath(topo.dp);
    const up = (open = await openUpcalls(dpif, topo.dp, { dispatch: 'per-vport', handlers: 1 }));
    const got = collect(up);
    dpctl('show', topo.dp);
    expect(await waitFor(() => up.stats.reasserted >= 1, 5000)).toBe(true);
    const dp = await dpif.getDatapath(topo.dp);
    expect(dp.userFeatures! & U.OVS_DP_F_DISPATCH_UPCALL_PER_CPU).toBe(0);
    await fromA.send([udpFrame(43000, 7000, tagged('dpctl-', 0))]);
    expect(await waitFor(() => got.some((u) => hasTag(u.packet, 'dpctl-')), 5000)).toBe(true);
    await up.close();
    open = undefined;
    // Close gives back the features found at open, undoing ovs-dpctl's change with ours.
    expect((await dpif.getDatapath(topo.dp)).userFeatures).toBe(before.userFeatures);
  });

  it('per-CPU dispatch survives `ovs-dpctl show` untouched (it re-sets the bit, not the pids)', async () => {
    const up = (open = await openUpcalls(dpif, topo.dp, { dispatch: 'per-cpu', handlers: 1 }));
    const got = collect(up);
    dpctl('show', topo.dp);
    await fromA.send([udpFrame(44000, 7000, tagged('pcdpctl-', 0))]);
    expect(await waitFor(() => got.some((u) => hasTag(u.packet, 'pcdpctl-')), 5000)).toBe(true);
    expect(up.stats.reasserted).toBe(0);
  });

  it('ends the iterator with ENODEV when the datapath is deleted under it', async () => {
    const other = await topology(dpif, 'upx');
    const up = await openUpcalls(dpif, other.dp, { dispatch: 'per-vport' });
    // Settled into a value at once: the rejection comes while remove() is awaited.
    const ended = (async () => {
      for await (const _ of up) void _;
    })().then(
      () => 'ended without an error',
      (e: unknown) => e,
    );
    await other.remove();
    expect(await ended).toMatchObject({ code: 'ENODEV' });
    await up.close();
  });
});
