// Tunnel ports as ovs-dpctl 3.1 makes them (the kernel's vxlan_sys_4789,
// genev_sys_6081, gre_sys device added as a netdev port), shown the same by
// both tools; and removed by ovsnl's del-dp where ovs-dpctl leaves them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireOvsModule } from './setup.js';
import { deleteLink, linkExists } from './ovs-helpers.js';
import { dpName, dpctlRun, fromDpctl, ovsnl } from './cli-helpers.js';

const DEVICES = ['vxlan_sys_4789', 'vxlan_sys_4790', 'genev_sys_6081', 'gre_sys'];

beforeAll(() => {
  requireOvsModule();
  for (const d of DEVICES) deleteLink(d);
});
afterAll(() => {
  for (const d of DEVICES) deleteLink(d);
});

describe('tunnel ports', () => {
  it('refuse a tunnel without remote_ip, as ovs-dpctl does', async () => {
    const dp = dpName('tun');
    await ovsnl(['add-dp', dp]);
    try {
      const a = await ovsnl(['add-if', dp, 'vx0,type=vxlan']);
      const b = dpctlRun(['add-if', dp, 'vx0,type=vxlan']);
      expect(a).toEqual({ out: '', err: "ovsnl: vx0: vxlan type requires valid 'remote_ip' argument\n", status: 1 });
      // ovs-dpctl says it only in its log.
      expect(b.status).toBe(1);
      expect(b.err).toContain("vx0: vxlan type requires valid 'remote_ip' argument");
      expect(linkExists('vxlan_sys_4789')).toBe(false);
    } finally {
      await ovsnl(['del-dp', dp]);
    }
  });

  it('add vxlan, geneve and gre ports that both tools show alike; del-if removes the device', async () => {
    const dp = dpName('tun');
    expect(await ovsnl(['add-dp', dp, 'vx0,type=vxlan,remote_ip=flow', 'gn0,type=geneve,remote_ip=flow', 'gr0,type=gre,remote_ip=10.0.0.9', 'vx1,type=vxlan,remote_ip=flow,dst_port=4790'])).toEqual({
      out: '',
      err: '',
      status: 0,
    });
    try {
      for (const d of DEVICES) expect([d, linkExists(d)]).toEqual([d, true]);
      const a = await ovsnl(['show', dp]);
      const b = fromDpctl(dpctlRun(['show', dp]));
      expect(a.out).toBe(b.out);
      expect(a.out).toContain(': vxlan_sys_4789 (vxlan: packet_type=ptap)\n');
      expect(a.out).toContain(': vxlan_sys_4790 (vxlan: dst_port=4790, packet_type=ptap)\n');
      expect(a.out).toContain(': genev_sys_6081 (geneve: packet_type=ptap)\n');
      expect(a.out).toContain(': gre_sys (gre: packet_type=ptap)\n');
      const s = await ovsnl(['show', '-s', dp]);
      expect(s.out).toBe(fromDpctl(dpctlRun(['show', '-s', dp])).out);
      expect(await ovsnl(['del-if', dp, 'vxlan_sys_4790'])).toEqual({ out: '', err: '', status: 0 });
      expect(linkExists('vxlan_sys_4790')).toBe(false);
      // A flow that sends into the tunnel.
      const add = await ovsnl(['add-flow', dp, 'in_port(0),eth(),eth_type(0x0800),ipv4(frag=no)', 'set(tunnel(tun_id=0x5,dst=10.0.0.9,ttl=64,tp_dst=4789,flags(df|key))),1']);
      expect(add.status).toBe(0);
      expect((await ovsnl(['dump-flows', dp])).out).toBe(fromDpctl(dpctlRun(['dump-flows', dp])).out);
    } finally {
      expect(await ovsnl(['del-dp', dp])).toEqual({ out: '', err: '', status: 0 });
    }
    // ovs-dpctl would leave them behind; ovsnl removes what its ports used.
    for (const d of DEVICES) expect([d, linkExists(d)]).toEqual([d, false]);
  });

  it('ovs-dpctl leaves tunnel devices after del-dp; ovsnl reads its ports', async () => {
    const dp = dpName('tun');
    dpctlRun(['add-dp', dp, 'vx0,type=vxlan,remote_ip=flow']);
    try {
      expect((await ovsnl(['show', dp])).out).toContain(': vxlan_sys_4789 (vxlan: packet_type=ptap)\n');
    } finally {
      dpctlRun(['del-dp', dp]);
    }
    expect(linkExists('vxlan_sys_4789')).toBe(true);
    deleteLink('vxlan_sys_4789');
  });
});
