// Interop with the real ovs-dpctl (Debian's OVS 3.1) on the same module: what
// one installs, the other reads. Also shows that ovsnl's reads leave a
// datapath's user features alone, where merely opening it with ovs-dpctl
// rewrites them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KernelDpif } from '../../src/dpif/kernel.js';
import type { Flow } from '../../src/dpif/dpif.js';
import { formatUfid, parseUfid, randomUfid } from '../../src/ovs/ufid.js';
import { OVS_DP_F_DISPATCH_UPCALL_PER_CPU, OVS_DP_F_UNALIGNED, OVS_DP_F_VPORT_PIDS } from '../../src/ovs/uapi.js';
import { dpctl } from './peer.js';
import { requireOvsModule } from './setup.js';
import { KEY_IN_PORT, KEY_IPV4, arpKey, attrOf, dropDatapath, openDpif, outputActions, uniqueName } from './ovs-helpers.js';

async function collect(it: AsyncIterable<Flow>): Promise<Flow[]> {
  const out: Flow[] = [];
  for await (const f of it) out.push(f);
  return out;
}

describe('ovsnl and the real ovs-dpctl on one datapath', () => {
  let dpif: KernelDpif;
  const dp = uniqueName('ovsio');

  beforeAll(async () => {
    requireOvsModule();
    dpif = await openDpif();
  });
  afterAll(async () => {
    await dropDatapath(dpif, dp);
    dpif.close();
  });

  it('ovsnl reads leave user features alone; one ovs-dpctl show rewrites them', async () => {
    await dpif.createDatapath({ name: dp, userFeatures: OVS_DP_F_UNALIGNED | OVS_DP_F_VPORT_PIDS });
    await dpif.getDatapath(dp);
    await dpif.listVports(dp);
    await collect(dpif.dumpFlows(dp));
    expect((await dpif.getDatapath(dp)).userFeatures).toBe(OVS_DP_F_UNALIGNED | OVS_DP_F_VPORT_PIDS);
    expect(dpctl('show', dp)).toContain(`system@${dp}:`);
    // ovs-dpctl's open switched the datapath to per-CPU upcall dispatch.
    expect((await dpif.getDatapath(dp)).userFeatures! & OVS_DP_F_DISPATCH_UPCALL_PER_CPU).toBe(OVS_DP_F_DISPATCH_UPCALL_PER_CPU);
    expect(dpctl('dump-dps')).toContain(`system@${dp}`);
  });

  it('reads a flow ovs-dpctl added, by dump and by its UFID', async () => {
    const text = 'ufid:11111111-2222-3333-4444-555555555555';
    dpctl('add-flow', dp, `${text},in_port(1),eth(),eth_type(0x0800),ipv4(src=10.8.0.1,frag=no)`, '2');
    const flows = await collect(dpif.dumpFlows(dp));
    expect(flows.map((f) => formatUfid(f.ufid!))).toContain(text);
    const f = await dpif.getFlow(dp, { ufid: parseUfid(text) });
    expect(Buffer.from(attrOf(f.key, KEY_IN_PORT)!.data).toString('hex')).toBe('01000000');
    // ipv4(src=10.8.0.1) with everything else wildcarded but frag.
    expect(Buffer.from(attrOf(f.mask, KEY_IPV4)!.data).toString('hex')).toBe('ffffffff00000000000000ff');
    expect(Buffer.from(f.actions!).toString('hex')).toBe(Buffer.from(outputActions(2)).toString('hex'));
  });

  it('lets ovs-dpctl read and delete a flow ovsnl added', async () => {
    const ufid = randomUfid();
    await dpif.putFlow(dp, { key: arpKey({ inPort: 1, sip: '10.1.0.1', tip: '10.1.0.2' }), ufid, actions: outputActions(2) });
    const dump = dpctl('dump-flows', '-m', dp);
    const line = dump.split('\n').find((l) => l.startsWith(formatUfid(ufid)));
    expect(line).toBeDefined();
    expect(line).toContain('arp(sip=10.1.0.1,tip=10.1.0.2,op=1');
    expect(line).toContain('actions:2');
    dpctl('del-flow', dp, formatUfid(ufid));
    await expect(dpif.getFlow(dp, { ufid })).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('shares conntrack limits with ovs-dpctl ct-get-limits', async () => {
    await dpif.setCtLimits({ defaultLimit: 50, zones: [{ zoneId: 11, limit: 4 }] });
    try {
      const out = dpctl('ct-get-limits', dp);
      expect(out).toContain('default limit=50');
      expect(out).toContain('zone=11,limit=4,count=0');
    } finally {
      await dpif.deleteCtLimits([11]);
      await dpif.setCtLimits({ defaultLimit: 0 });
    }
  });

  it('sees a datapath deleted by ovs-dpctl as gone (ENODEV)', async () => {
    dpctl('del-dp', dp);
    await expect(dpif.getDatapath(dp)).rejects.toMatchObject({ code: 'ENODEV' });
  });
});
