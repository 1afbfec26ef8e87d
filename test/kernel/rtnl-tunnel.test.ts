// Tunnel devices for OVS tunnel vports, made by ovsnl and by the real
// ovs-dpctl 3.1 (`add-if DP x,type=T,remote_ip=flow`), compared attribute by
// attribute: as ovsnl decodes them over rtnetlink and as `ip -d -j link show`
// reports them.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KernelDpif } from '../../src/dpif/kernel.js';
import { getLink, withRoute, type Link } from '../../src/rtnl/link.js';
import { describeTunnelDevice, ensureTunnelDevice, removeTunnelDevice, tunnelDeviceName, TUNNEL_MTU, type TunnelSpec } from '../../src/rtnl/tunnel.js';
import { dpctl } from './peer.js';
import { ip, linkExists, uniqueName } from './ovs-helpers.js';
import { requireOvsModule } from './setup.js';

/** What `ip -d -j link show` says of a device, minus what differs between two instances (index, MAC). */
function ipView(name: string): Record<string, unknown> {
  const [j] = JSON.parse(execFileSync('ip', ['-d', '-j', 'link', 'show', 'dev', name], { encoding: 'utf8' })) as Record<string, unknown>[];
  const li = j.linkinfo as { info_kind: string; info_data: Record<string, unknown> };
  return { flags: j.flags, mtu: j.mtu, kind: li.info_kind, data: li.info_data, operstate: j.operstate };
}

/** ovsnl's own view: kind, the tunnel settings OVS sets, MTU and up. */
function ourView(l: Link): Record<string, unknown> {
  return { kind: l.kind, tunnel: describeTunnelDevice(l), mtu: l.mtu, up: l.up };
}

const get = (name: string): Promise<Link | undefined> => withRoute((c) => getLink(c, name));

const CASES: { spec: TunnelSpec; iface: string }[] = [
  { spec: { type: 'vxlan', remoteIp: 'flow' }, iface: 'type=vxlan,remote_ip=flow' },
  { spec: { type: 'geneve', remoteIp: 'flow' }, iface: 'type=geneve,remote_ip=flow' },
  { spec: { type: 'gre', remoteIp: 'flow' }, iface: 'type=gre,remote_ip=flow' },
  { spec: { type: 'vxlan', dstPort: 4790, remoteIp: 'flow' }, iface: 'type=vxlan,remote_ip=flow,dst_port=4790' },
  // The group policy extension is the device's (IFLA_VXLAN_GBP).
  { spec: { type: 'vxlan', dstPort: 4792, remoteIp: 'flow', gbp: true }, iface: 'type=vxlan,remote_ip=flow,dst_port=4792,exts=gbp' },
];

let dpif: KernelDpif;
const dps: string[] = [];

beforeAll(async () => {
  requireOvsModule();
  dpif = await KernelDpif.open({ kernelLog: false });
  // Left behind by an earlier failed run, or by ovs-dpctl (it never removes them).
  for (const c of CASES) await removeTunnelDevice(tunnelDeviceName(c.spec));
});

afterAll(async () => {
  for (const dp of dps) await dpif.deleteDatapath(dp).catch(() => undefined);
  for (const c of CASES) await removeTunnelDevice(tunnelDeviceName(c.spec)).catch(() => undefined);
  dpif?.close();
});

describe('tunnel devices: ovsnl against ovs-dpctl 3.1', () => {
  for (const { spec, iface } of CASES) {
    const name = tunnelDeviceName(spec);
    it(`${spec.type}${spec.dstPort ? ` port ${spec.dstPort}` : ''}${spec.gbp ? ' gbp' : ''}: ${name} has the same kind, mode, port, extensions and MTU`, async () => {
      // The real ovs-dpctl makes the device and leaves it after del-dp.
      const dp = uniqueName('rtt');
      dps.push(dp);
      dpctl('add-dp', dp);
      dpctl('add-if', dp, `t0,${iface}`);
      const theirs = (await get(name))!;
      expect(theirs).toBeDefined();
      const theirIp = ipView(name);
      dpctl('del-dp', dp);
      expect(linkExists(name)).toBe(true);
      await removeTunnelDevice(name);
      expect(linkExists(name)).toBe(false);

      const made = await ensureTunnelDevice(spec);
      expect(made).toMatchObject({ name, created: true });
      const ours = (await get(name))!;
      expect(ours.ifindex).toBe(made.ifindex);
      // ip shows an OVS port's device as "master DP" with a slave kind: not ours yet, so compare without.
      expect(ourView(ours)).toEqual(ourView(theirs));
      expect(ourView(ours)).toMatchObject({ mtu: TUNNEL_MTU, up: true, tunnel: { external: true } });
      const ourIp = ipView(name);
      expect(ourIp.data).toEqual(theirIp.data);
      expect(ourIp.kind).toBe(theirIp.kind);
      expect(ourIp.mtu).toBe(theirIp.mtu);
      expect(ourIp.flags).toEqual(theirIp.flags);

      // A second call finds it as it should be.
      expect(await ensureTunnelDevice(spec)).toEqual({ name, ifindex: made.ifindex, created: false });

      // It serves as a netdev vport, which is how OVS attaches it.
      const dp2 = uniqueName('rtt');
      dps.push(dp2);
      await dpif.createDatapath({ name: dp2 });
      const vport = await dpif.createVport(dp2, { name, type: 'netdev' });
      expect(vport.portNo).toBeGreaterThan(0);
      await dpif.deleteDatapath(dp2);

      await removeTunnelDevice(name);
      expect(linkExists(name)).toBe(false);
      await removeTunnelDevice(name); // already gone: nothing to do
    });
  }

  it('kinds and modes as OVS makes them (vxlan, geneve, gretap; external, port)', async () => {
    const expected: Record<string, unknown>[] = [
      { kind: 'vxlan', external: true, dstPort: 4789, learning: false, udpZeroCsum6Rx: true, gbp: false },
      { kind: 'geneve', external: true, dstPort: 6081, udpZeroCsum6Rx: true },
      { kind: 'gretap', external: true },
    ];
    for (const [i, spec] of CASES.slice(0, 3).map((c) => c.spec).entries()) {
      await ensureTunnelDevice(spec);
      expect(describeTunnelDevice((await get(tunnelDeviceName(spec)))!)).toEqual(expected[i]);
      await removeTunnelDevice(tunnelDeviceName(spec));
    }
  });

  it('replaces a device of the right kind but other settings, as OVS does', async () => {
    ip('link', 'add', 'vxlan_sys_4789', 'type', 'vxlan', 'dstport', '4789', 'external', 'learning');
    const before = (await get('vxlan_sys_4789'))!;
    expect(describeTunnelDevice(before)).toMatchObject({ learning: true });
    const made = await ensureTunnelDevice({ type: 'vxlan' });
    expect(made.created).toBe(true);
    const after = (await get('vxlan_sys_4789'))!;
    expect(describeTunnelDevice(after)).toMatchObject({ learning: false, external: true, dstPort: 4789 });
    await removeTunnelDevice('vxlan_sys_4789');
  });

  it('leaves alone a device of another kind that has the name, and says so', async () => {
    // veth is a module the test VM loads (dummy is not).
    ip('link', 'add', 'gre_sys', 'type', 'veth', 'peer', 'name', uniqueName('rtgp'));
    try {
      await expect(ensureTunnelDevice({ type: 'gre' })).rejects.toThrow(/gre_sys.*kind veth, not gretap/);
      await expect(removeTunnelDevice('gre_sys')).rejects.toThrow(/not a tunnel device \(kind veth\)/);
      expect(linkExists('gre_sys')).toBe(true);
    } finally {
      ip('link', 'del', 'gre_sys');
    }
  });

  it("refuses a remote_ip that is neither 'flow' nor an address, with OVS's words", async () => {
    await expect(ensureTunnelDevice({ type: 'vxlan', remoteIp: 'nowhere' })).rejects.toThrow("vxlan type requires valid 'remote_ip' argument");
    expect(linkExists('vxlan_sys_4789')).toBe(false);
  });
});
