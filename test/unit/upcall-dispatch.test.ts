// Registering handler sockets per CPU and per vport, and giving the
// datapath back, against a fake that keeps the kernel's rules.
import { describe, expect, it } from 'vitest';
import * as U from '../../src/ovs/uapi.js';
import { PerCpuRefusedError, applyPerCpu, applyPerVport, datapathInForce, perVportFeatures, restoreDispatch } from '../../src/dpif/upcall-dispatch.js';
import { DispatchGuard } from '../../src/dpif/upcall-guard.js';
import { openUpcalls } from '../../src/dpif/upcalls.js';
import { FakeDpif } from './upcall-fake-dpif.js';

const PER_CPU = U.OVS_DP_F_DISPATCH_UPCALL_PER_CPU;
const BASE = U.OVS_DP_F_UNALIGNED | U.OVS_DP_F_VPORT_PIDS;

describe('per-CPU dispatch', () => {
  it('adds the per-CPU bit to the features there were, sets one pid per CPU, verifies, and restores', async () => {
    const k = new FakeDpif(BASE | U.OVS_DP_F_TC_RECIRC_SHARING);
    const dp = await k.dpif.getDatapath('dp');
    const s = await applyPerCpu(k.dpif, dp, [100, 200], [0, 1, 2]);
    expect(s.mode).toBe('per-cpu');
    expect(k.features).toBe(BASE | U.OVS_DP_F_TC_RECIRC_SHARING | PER_CPU);
    expect(k.perCpuPids).toEqual([100, 200, 100]);
    // Vport pids are left alone: the kernel ignores them in this mode.
    expect(k.log.filter((l) => l.startsWith('vport set'))).toEqual([]);
    await restoreDispatch(k.dpif, s);
    expect(k.features).toBe(BASE | U.OVS_DP_F_TC_RECIRC_SHARING);
    expect(k.perCpuPids).toEqual([0, 0, 0]);
  });

  it('keeps the per-CPU bit on restore when the datapath had it, with the pids zeroed', async () => {
    const k = new FakeDpif(U.OVS_DP_F_UNALIGNED | PER_CPU);
    const s = await applyPerCpu(k.dpif, await k.dpif.getDatapath('dp'), [5], [0, 1]);
    await restoreDispatch(k.dpif, s);
    expect(k.features).toBe(U.OVS_DP_F_UNALIGNED | PER_CPU);
    expect(k.perCpuPids).toEqual([0, 0]);
  });

  it('reports a kernel that refuses the bit as PerCpuRefusedError, features untouched', async () => {
    const k = new FakeDpif(BASE, false);
    await expect(applyPerCpu(k.dpif, await k.dpif.getDatapath('dp'), [5], [0])).rejects.toBeInstanceOf(PerCpuRefusedError);
    expect(k.features).toBe(BASE);
  });

  it('checks the bit alone on kernels that do not report the pid array', async () => {
    const k = new FakeDpif(BASE, true, false);
    const s = await applyPerCpu(k.dpif, await k.dpif.getDatapath('dp'), [5], [0]);
    expect(datapathInForce(s, await k.dpif.getDatapath('dp'))).toBe(true);
  });
});

describe('per-vport dispatch', () => {
  it('gives every vport all handler pids and restores them to 0', async () => {
    const k = new FakeDpif(U.OVS_DP_F_UNALIGNED);
    const s = await applyPerVport(k.dpif, await k.dpif.getDatapath('dp'), [100, 200]);
    expect(s.mode).toBe('per-vport');
    // VPORT_PIDS added so that the kernel reports (and we can verify) the whole array.
    expect(k.features).toBe(U.OVS_DP_F_UNALIGNED | U.OVS_DP_F_VPORT_PIDS);
    expect([...k.vports.values()].map((v) => v.pids)).toEqual([
      [100, 200],
      [100, 200],
    ]);
    await restoreDispatch(k.dpif, s);
    expect([...k.vports.values()].map((v) => v.pids)).toEqual([[0], [0]]);
    expect(k.features).toBe(U.OVS_DP_F_UNALIGNED);
  });

  it("turns off the per-CPU bit ovs-dpctl leaves on (vport pids would be ignored), and puts it back on close", async () => {
    const k = new FakeDpif(U.OVS_DP_F_UNALIGNED | PER_CPU);
    const s = await applyPerVport(k.dpif, await k.dpif.getDatapath('dp'), [100]);
    expect(k.features & PER_CPU).toBe(0);
    expect(perVportFeatures(U.OVS_DP_F_UNALIGNED | PER_CPU, 1)).toBe(U.OVS_DP_F_UNALIGNED);
    await restoreDispatch(k.dpif, s);
    expect(k.features).toBe(U.OVS_DP_F_UNALIGNED | PER_CPU);
  });

  it('leaves alone vports whose pids are not ours at close', async () => {
    const k = new FakeDpif();
    const s = await applyPerVport(k.dpif, await k.dpif.getDatapath('dp'), [100]);
    k.vports.set(2, { name: 'other', pids: [999] });
    await restoreDispatch(k.dpif, s);
    expect(k.vports.get(2)!.pids).toEqual([999]);
  });
});

describe('DispatchGuard', () => {
  const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

  it('re-registers a vport added without our pids, and leaves vports in force alone', async () => {
    const k = new FakeDpif();
    const s = await applyPerVport(k.dpif, await k.dpif.getDatapath('dp'), [100, 200]);
    const errors: Error[] = [];
    const g = new DispatchGuard(k.dpif, s, (e) => errors.push(e));
    g.onVport({ portNo: 1, upcallPids: [100, 200] });
    await settle();
    expect(g.reasserted).toBe(0);
    k.vports.set(2, { name: 'new', pids: [0] });
    g.onVport({ portNo: 2, upcallPids: [0] });
    await settle();
    expect(k.vports.get(2)!.pids).toEqual([100, 200]);
    expect(g.reasserted).toBe(1);
    expect(errors).toEqual([]);
    await g.stop();
  });

  it('undoes what ovs-dpctl does to a per-vport datapath, keeping its other bits', async () => {
    const k = new FakeDpif();
    const s = await applyPerVport(k.dpif, await k.dpif.getDatapath('dp'), [100]);
    const g = new DispatchGuard(k.dpif, s, () => undefined);
    await k.dpif.setDatapath('dp', { userFeatures: U.OVS_DP_F_UNALIGNED | PER_CPU | U.OVS_DP_F_TC_RECIRC_SHARING });
    g.onDatapath(await k.dpif.getDatapath('dp'));
    await settle();
    expect(k.features).toBe(U.OVS_DP_F_UNALIGNED | U.OVS_DP_F_TC_RECIRC_SHARING);
    expect(g.reasserted).toBe(1);
    await g.stop();
  });

  it('puts per-CPU pids back after someone replaced them', async () => {
    const k = new FakeDpif();
    const s = await applyPerCpu(k.dpif, await k.dpif.getDatapath('dp'), [100], [0, 1]);
    const g = new DispatchGuard(k.dpif, s, () => undefined);
    await k.dpif.setDatapath('dp', { userFeatures: k.features, perCpuPids: [1, 1] });
    g.onDatapath(await k.dpif.getDatapath('dp'));
    await settle();
    expect(k.perCpuPids).toEqual([100, 100]);
    await g.stop();
  });

  it('re-checks at most once a second however often it is told', async () => {
    const k = new FakeDpif();
    const s = await applyPerVport(k.dpif, await k.dpif.getDatapath('dp'), [100]);
    const g = new DispatchGuard(k.dpif, s, () => undefined);
    k.log = [];
    for (let i = 0; i < 50; i++) g.onLost();
    await settle();
    for (let i = 0; i < 50; i++) g.onLost();
    await settle();
    expect(k.log.filter((l) => l === 'dp get')).toHaveLength(1);
    await g.stop();
    expect(k.log.filter((l) => l === 'dp get')).toHaveLength(1);
  });
});

describe('openUpcalls options', () => {
  it('refuses impossible sizes before touching the datapath', async () => {
    const k = new FakeDpif();
    for (const bad of [{ handlers: 0 }, { batch: 0 }, { slotBytes: 10 }, { queueLimit: 0.5 }, { maxPendingBatches: -1 }]) {
      await expect(openUpcalls(k.dpif, 'dp', bad)).rejects.toBeInstanceOf(RangeError);
    }
    expect(k.log).toEqual([]);
  });
});
