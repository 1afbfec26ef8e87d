// ovs_meter and ovs_ct_limit on the real module.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KernelDpif } from '../../src/dpif/kernel.js';
import { OVS_METER_BAND_TYPE_DROP } from '../../src/ovs/uapi.js';
import { requireOvsModule } from './setup.js';
import { openDpif, uniqueName, useDatapath } from './ovs-helpers.js';

describe('ovs_meter', () => {
  let dpif!: KernelDpif;
  const dp = uniqueName('ovsmt');
  useDatapath(dp, (d) => (dpif = d));

  it('reports its features: meters, bands per meter, the drop band', async () => {
    const f = await dpif.meterFeatures(dp);
    expect(f.maxMeters).toBeGreaterThan(0);
    expect(f.maxBands).toBeGreaterThan(0);
    expect(f.bandTypes).toEqual([OVS_METER_BAND_TYPE_DROP]);
  });

  it('sets, gets, replaces and deletes a meter', async () => {
    expect(await dpif.setMeter(dp, { id: 1, kbps: true, bands: [{ rate: 1000, burst: 100 }] })).toBeUndefined();
    const m = await dpif.getMeter(dp, 1);
    expect(m).toMatchObject({ id: 1, stats: { packets: 0n, bytes: 0n } });
    expect(m.bands).toHaveLength(1);
    expect(m.bands![0].stats).toEqual({ packets: 0n, bytes: 0n });
    expect(m.used).toBeTypeOf('bigint');
    // Replacing a meter that keeps stats reports the old one's.
    const old = await dpif.setMeter(dp, { id: 1, bands: [{ rate: 10, burst: 5 }] });
    expect(old).toMatchObject({ id: 1, stats: { packets: 0n, bytes: 0n } });
    expect((await dpif.getMeters(dp, [1, 2, 3])).map((x) => x.id)).toEqual([1]);
    const gone = await dpif.deleteMeter(dp, 1);
    expect(gone).toMatchObject({ id: 1 });
    await expect(dpif.getMeter(dp, 1)).rejects.toMatchObject({ code: 'ENOENT', operation: 'meter get 1' });
    // Deleting a meter that does not exist is not an error for the kernel.
    expect(await dpif.deleteMeter(dp, 1)).toBeUndefined();
  });

  it('refuses a band with rate 0 (EINVAL)', async () => {
    await expect(dpif.setMeter(dp, { id: 2, bands: [{ rate: 0, burst: 1 }] })).rejects.toMatchObject({ code: 'EINVAL' });
  });

  it('refuses meter requests on a datapath that does not exist (ENODEV)', async () => {
    await expect(dpif.meterFeatures(0x7ffffff0)).rejects.toMatchObject({ code: 'ENODEV' });
  });
});

describe('ovs_ct_limit', () => {
  let dpif: KernelDpif;

  beforeAll(async () => {
    requireOvsModule();
    dpif = await openDpif();
    expect(dpif.families.ctLimit).toBeDefined();
  });
  afterAll(async () => {
    await dpif.deleteCtLimits([5, 7, 9]).catch(() => undefined);
    await dpif.setCtLimits({ defaultLimit: 0 }).catch(() => undefined);
    dpif.close();
  });

  it('sets the default and per-zone limits and reads them all back', async () => {
    await dpif.setCtLimits({ defaultLimit: 100, zones: [{ zoneId: 5, limit: 3 }, { zoneId: 7, limit: 20 }] });
    const all = await dpif.getCtLimits();
    expect(all.defaultLimit).toBe(100);
    expect(all.zones.sort((x, y) => x.zoneId - y.zoneId)).toEqual([
      { zoneId: 5, limit: 3, count: 0 },
      { zoneId: 7, limit: 20, count: 0 },
    ]);
  });

  it('reads chosen zones; a zone without its own limit shows the default', async () => {
    const some = await dpif.getCtLimits([5, 9]);
    expect(some).toEqual({
      defaultLimit: 100,
      zones: [
        { zoneId: 5, limit: 3, count: 0 },
        { zoneId: 9, limit: 100, count: 0 },
      ],
    });
  });

  it('deletes a zone limit: the zone falls back to the default', async () => {
    await dpif.deleteCtLimits([5]);
    const all = await dpif.getCtLimits();
    expect(all.zones.map((z) => z.zoneId)).toEqual([7]);
  });
});
