// Generic netlink against the real openvswitch module.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Connection } from '../../src/netlink/connection.js';
import { NetlinkError } from '../../src/netlink/errors.js';
import { listFamilies, resolveFamily } from '../../src/netlink/genl.js';
import { resolveOvsFamilies } from '../../src/ovs/families.js';
import { requireOvsModule } from './setup.js';

let conn: Connection;
beforeAll(() => {
  requireOvsModule();
  conn = new Connection();
});
afterAll(() => conn?.close());

describe('OVS generic netlink families', () => {
  it('resolves all six families with the versions and groups of the uapi', async () => {
    const f = await resolveOvsFamilies(conn);
    // Versions: OVS_DATAPATH_VERSION 2, the others 1 (linux/openvswitch.h).
    expect([f.datapath.name, f.datapath.version]).toEqual(['ovs_datapath', 2]);
    expect([f.vport.name, f.vport.version]).toEqual(['ovs_vport', 1]);
    expect([f.flow.name, f.flow.version]).toEqual(['ovs_flow', 1]);
    expect([f.packet.name, f.packet.version]).toEqual(['ovs_packet', 1]);
    expect([f.meter?.name, f.meter?.version]).toEqual(['ovs_meter', 1]);
    expect([f.ctLimit?.name, f.ctLimit?.version]).toEqual(['ovs_ct_limit', 1]);
    // Each family carries the 4-byte struct ovs_header.
    for (const fam of [f.datapath, f.vport, f.flow, f.packet, f.meter!, f.ctLimit!]) expect(fam.hdrSize).toBe(4);
    // Multicast groups named after their family; ovs_packet has none (upcalls are unicast).
    expect(f.datapath.groups.get('ovs_datapath')).toBeGreaterThan(0);
    expect(f.vport.groups.get('ovs_vport')).toBeGreaterThan(0);
    expect(f.flow.groups.get('ovs_flow')).toBeGreaterThan(0);
    expect(f.meter!.groups.get('ovs_meter')).toBeGreaterThan(0);
    expect(f.ctLimit!.groups.get('ovs_ct_limit')).toBeGreaterThan(0);
    expect(f.packet.groups.size).toBe(0);
    // Family ids are dynamic and distinct.
    const ids = new Set([f.datapath.id, f.vport.id, f.flow.id, f.packet.id, f.meter!.id, f.ctLimit!.id]);
    expect(ids.size).toBe(6);
    // OVS_PACKET_CMD_EXECUTE (3) is the packet family's only operation.
    expect(f.packet.ops.map((o) => o.id)).toEqual([3]);
  });

  it('lists the OVS families in a dump of all families', async () => {
    const names = (await listFamilies(conn)).map((f) => f.name);
    for (const n of ['ovs_datapath', 'ovs_vport', 'ovs_flow', 'ovs_packet', 'ovs_meter', 'ovs_ct_limit']) expect(names).toContain(n);
  });

  it('fails the lookup of a family that does not exist with NetlinkError ENOENT', async () => {
    const err = await resolveFamily(conn, 'ovs_nonexistent').catch((e) => e);
    expect(err).toBeInstanceOf(NetlinkError);
    expect(err.code).toBe('ENOENT');
  });

  it('answers many requests in flight on one socket, each matched to its sender', async () => {
    const c = new Connection({ maxInFlight: 256 });
    try {
      const names = ['ovs_datapath', 'ovs_vport', 'ovs_flow', 'ovs_packet', 'ovs_meter', 'ovs_ct_limit', 'ovs_missing'];
      const asks = Array.from({ length: 2000 }, (_, i) => names[i % names.length]);
      const got = await Promise.allSettled(asks.map((n) => resolveFamily(c, n)));
      got.forEach((r, i) => {
        if (asks[i] === 'ovs_missing') expect(r).toMatchObject({ status: 'rejected', reason: { code: 'ENOENT' } });
        else expect(r).toMatchObject({ status: 'fulfilled', value: { name: asks[i] } });
      });
      expect(c.stats.sent).toBe(2000);
      expect(c.stats.sendCalls).toBeLessThan(2000 / 10);
      expect(c.stats.unmatched + c.stats.overruns + c.stats.malformed).toBe(0);
    } finally {
      c.close();
    }
  });
});
