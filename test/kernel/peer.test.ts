// The peer itself works in this environment: the interop tests stand on it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Connection } from '../../src/netlink/connection.js';
import { genlRequest } from '../../src/netlink/genl.js';
import { resolveOvsFamilies } from '../../src/ovs/families.js';
import { dpctl } from './peer.js';
import { requireOvsModule } from './setup.js';

const DP = 'ovsnlpeer0';
let conn: Connection;
beforeAll(() => {
  requireOvsModule();
  conn = new Connection();
});
afterAll(() => {
  conn?.close();
  try {
    dpctl('del-dp', DP);
  } catch {}
});

describe('real ovs-dpctl', () => {
  it('creates a datapath that ovsnl then finds over generic netlink', async () => {
    dpctl('add-dp', DP);
    expect(dpctl('dump-dps')).toContain(`system@${DP}`);
    const f = await resolveOvsFamilies(conn);
    const { w, end } = genlRequest(f.datapath.id, 3 /* OVS_DP_CMD_GET */, f.datapath.version);
    w.rawS32(0);
    w.string(1 /* OVS_DP_ATTR_NAME */, DP);
    const [reply] = await conn.request(end(), { operation: `datapath get ${DP}` });
    // The reply's ovs_header names the datapath's ifindex, that of its local port.
    const ifindex = new DataView(reply.payload.buffer, reply.payload.byteOffset).getInt32(4, true);
    expect(ifindex).toBeGreaterThan(0);
    dpctl('del-dp', DP);
    await expect(conn.request(end(), { operation: `datapath get ${DP}` })).rejects.toMatchObject({ code: 'ENODEV' });
  });
});
