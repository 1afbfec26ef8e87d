// ovs_vport on the real module: internal, netdev (veth), tunnel vports; get,
// dump, set, del and their errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KernelDpif } from '../../src/dpif/kernel.js';
import { OVS_VPORT_TYPE_GENEVE, OVS_VPORT_TYPE_INTERNAL, OVS_VPORT_TYPE_NETDEV, OVS_VPORT_TYPE_VXLAN } from '../../src/ovs/uapi.js';
import { requireOvsModule } from './setup.js';
import { deleteLink, dropDatapath, linkExists, openDpif, uniqueName, vethPair } from './ovs-helpers.js';

describe('ovs_vport', () => {
  let dpif: KernelDpif;
  const dp = uniqueName('ovsvp');
  const internal = uniqueName('ovsi');
  let veth: [string, string];

  beforeAll(async () => {
    requireOvsModule();
    dpif = await openDpif();
    await dpif.createDatapath({ name: dp });
    veth = vethPair('vv');
  });
  afterAll(async () => {
    await dropDatapath(dpif, dp);
    if (veth) deleteLink(veth[0]);
    dpif.close();
  });

  it('creates an internal port and its netdev', async () => {
    const v = await dpif.createVport(dp, { name: internal, type: 'internal' });
    expect(v).toMatchObject({ name: internal, type: OVS_VPORT_TYPE_INTERNAL, upcallPids: [0] });
    expect(v.portNo).toBeGreaterThan(0);
    expect(v.ifindex).toBeGreaterThan(0);
    expect(v.stats).toBeDefined();
    expect(linkExists(internal)).toBe(true);
  });

  it('adds an existing netdev (one end of a veth pair)', async () => {
    const v = await dpif.createVport(dp, { name: veth[0], type: 'netdev', portNo: 10 });
    expect(v).toMatchObject({ name: veth[0], type: OVS_VPORT_TYPE_NETDEV, portNo: 10 });
  });

  it('gets a port by name and by number', async () => {
    const byName = await dpif.getVport(dp, veth[0]);
    const byNo = await dpif.getVport(dp, 10);
    expect(byNo.name).toBe(veth[0]);
    expect(byNo.portNo).toBe(byName.portNo);
  });

  it('dumps every port, the local one included', async () => {
    const ports = await dpif.listVports(dp);
    const byNo = new Map(ports.map((p) => [p.portNo, p]));
    expect(byNo.get(0)).toMatchObject({ name: dp, type: OVS_VPORT_TYPE_INTERNAL });
    expect(byNo.get(10)?.name).toBe(veth[0]);
    expect(ports.map((p) => p.name)).toContain(internal);
  });

  it('sets the upcall pids', async () => {
    const v = await dpif.setVport(dp, veth[0], { upcallPids: [1234, 5678] });
    expect(v.upcallPids).toEqual([1234, 5678]);
    expect((await dpif.getVport(dp, 10)).upcallPids).toEqual([1234, 5678]);
    await dpif.setVport(dp, 10, { upcallPids: [0] });
  });

  it('refuses a taken port number (EBUSY), a netdev already in a datapath (EEXIST) and a missing netdev (ENODEV)', async () => {
    await expect(dpif.createVport(dp, { name: veth[1], type: 'netdev', portNo: 10 })).rejects.toMatchObject({ code: 'EBUSY' });
    await expect(dpif.createVport(dp, { name: veth[0], type: 'netdev' })).rejects.toMatchObject({ code: 'EEXIST' });
    await expect(dpif.createVport(dp, { name: 'ovsnl-nosuchif', type: 'netdev' })).rejects.toMatchObject({
      code: 'ENODEV',
      operation: `vport new ${dp} ovsnl-nosuchif`,
    });
  });

  it('refuses a second internal port of an existing name with EEXIST', async () => {
    await expect(dpif.createVport(dp, { name: internal, type: 'internal' })).rejects.toMatchObject({ code: 'EEXIST' });
  });

  it('reports missing ports as ENODEV', async () => {
    await expect(dpif.getVport(dp, 'ovsnl-nosuchif')).rejects.toMatchObject({ code: 'ENODEV' });
    await expect(dpif.getVport(dp, 999)).rejects.toMatchObject({ code: 'ENODEV' });
  });

  it('creates VXLAN and Geneve vports with their UDP port (host order) and reads it back', async () => {
    const vx = uniqueName('ovsvx');
    const gn = uniqueName('ovsgn');
    const v = await dpif.createVport(dp, { name: vx, type: 'vxlan', options: { dstPort: 4790 } });
    expect(v).toMatchObject({ type: OVS_VPORT_TYPE_VXLAN, options: { dstPort: 4790 } });
    const g = await dpif.createVport(dp, { name: gn, type: 'geneve', options: { dstPort: 6082 } });
    expect(g).toMatchObject({ type: OVS_VPORT_TYPE_GENEVE, options: { dstPort: 6082 } });
    await dpif.deleteVport(dp, vx);
    await dpif.deleteVport(dp, gn);
  });

  it('refuses to delete the local port (EINVAL)', async () => {
    await expect(dpif.deleteVport(dp, 0)).rejects.toMatchObject({ code: 'EINVAL' });
  });

  it('deletes ports; an internal port takes its netdev along, a netdev stays', async () => {
    const v = await dpif.deleteVport(dp, internal);
    expect(v.name).toBe(internal);
    expect(linkExists(internal)).toBe(false);
    await dpif.deleteVport(dp, 10);
    expect(linkExists(veth[0])).toBe(true);
    await expect(dpif.deleteVport(dp, 10)).rejects.toMatchObject({ code: 'ENODEV' });
  });
});
