// ovs_datapath on the real module: new / get / dump / set / del and their errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KernelDpif } from '../../src/dpif/kernel.js';
import { DEFAULT_USER_FEATURES } from '../../src/dpif/kernel.js';
import { OVS_DP_F_UNALIGNED } from '../../src/ovs/uapi.js';
import { requireOvsModule } from './setup.js';
import { dropDatapath, linkExists, openDpif, uniqueName } from './ovs-helpers.js';

describe('ovs_datapath', () => {
  let dpif: KernelDpif;
  const name = uniqueName('ovsdp');

  beforeAll(async () => {
    requireOvsModule();
    dpif = await openDpif();
  });
  afterAll(async () => {
    await dropDatapath(dpif, name);
    dpif.close();
  });

  it('creates a datapath with its local netdev', async () => {
    const dp = await dpif.createDatapath({ name });
    expect(dp.name).toBe(name);
    expect(dp.dpIfindex).toBeGreaterThan(0);
    expect(dp.userFeatures).toBe(DEFAULT_USER_FEATURES);
    expect(dp.stats).toEqual({ hit: 0n, missed: 0n, lost: 0n, flows: 0n });
    expect(dp.megaflowStats).toMatchObject({ maskHit: 0n, masks: 0 });
    expect(dp.masksCacheSize).toBe(256);
    expect(linkExists(name)).toBe(true);
  });

  it('refuses a second datapath of the same name with EEXIST', async () => {
    await expect(dpif.createDatapath({ name })).rejects.toMatchObject({ code: 'EEXIST', operation: `datapath new ${name}` });
  });

  it('gets it by name and by dp_ifindex alike', async () => {
    const byName = await dpif.getDatapath(name);
    const byIndex = await dpif.getDatapath(byName.dpIfindex);
    expect(byIndex).toEqual(byName);
  });

  it('lists it in a dump', async () => {
    const all = await dpif.listDatapaths();
    expect(all.map((d) => d.name)).toContain(name);
  });

  it('sets the masks cache size and keeps the user features', async () => {
    const dp = await dpif.setDatapath(name, { masksCacheSize: 512 });
    expect(dp.masksCacheSize).toBe(512);
    expect(dp.userFeatures).toBe(DEFAULT_USER_FEATURES);
    expect((await dpif.getDatapath(name)).masksCacheSize).toBe(512);
  });

  it('sets the user features', async () => {
    const dp = await dpif.setDatapath(name, { userFeatures: OVS_DP_F_UNALIGNED });
    expect(dp.userFeatures).toBe(OVS_DP_F_UNALIGNED);
  });

  it('refuses unknown user feature bits (a modern kernel does: EOPNOTSUPP)', async () => {
    await expect(dpif.setDatapath(name, { userFeatures: 1 << 30 })).rejects.toMatchObject({ errno: 95, code: 'EOPNOTSUPP' });
  });

  it('refuses a masks cache size that is not a power of two', async () => {
    await expect(dpif.setDatapath(name, { masksCacheSize: 300 })).rejects.toMatchObject({ code: 'EINVAL' });
  });

  it('reports a missing datapath as ENODEV', async () => {
    await expect(dpif.getDatapath('ovsnl-nosuchdp')).rejects.toMatchObject({ code: 'ENODEV', operation: 'datapath get ovsnl-nosuchdp' });
    await expect(dpif.getDatapath(0x7ffffff0)).rejects.toMatchObject({ code: 'ENODEV' });
  });

  it('deletes it, netdev included; a second delete is ENODEV', async () => {
    const dp = await dpif.deleteDatapath(name);
    expect(dp.name).toBe(name);
    expect(linkExists(name)).toBe(false);
    await expect(dpif.getDatapath(name)).rejects.toMatchObject({ code: 'ENODEV' });
    await expect(dpif.deleteDatapath(name)).rejects.toMatchObject({ code: 'ENODEV' });
  });
});
