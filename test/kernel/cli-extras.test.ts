// What ovsnl has beyond ovs-dpctl, on the real module: --json for every read
// command (the schema of docs/cli-json.md), meters, execute, and errors as
// one line with a non-zero exit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireOvsModule } from './setup.js';
import { deleteLink, netStat, vethPair, waitFor } from './ovs-helpers.js';
import { dpName, ovsnl } from './cli-helpers.js';

const dp = dpName('xtra');
let va: string;
let vb: string;

beforeAll(async () => {
  requireOvsModule();
  [va, vb] = vethPair('xv');
  expect((await ovsnl(['add-dp', dp, va])).status).toBe(0);
});
afterAll(async () => {
  await ovsnl(['del-dp', dp]);
  deleteLink(va);
});

async function json(args: string[]): Promise<unknown> {
  const r = await ovsnl(['--json', ...args]);
  expect({ args, err: r.err, status: r.status }).toEqual({ args, err: '', status: 0 });
  expect(r.out.endsWith('\n') && r.out.indexOf('\n') === r.out.length - 1).toBe(true);
  return JSON.parse(r.out);
}

describe('--json', () => {
  it('dump-dps and show', async () => {
    const dps = (await json(['dump-dps'])) as { name: string; base_name: string; dp_ifindex: number }[];
    const mine = dps.find((d) => d.base_name === dp)!;
    expect(mine).toEqual({ name: `system@${dp}`, base_name: dp, dp_ifindex: expect.any(Number) });
    const [show] = (await json(['show', '-s', dp])) as Record<string, unknown>[];
    expect(show).toMatchObject({
      name: `system@${dp}`,
      lookups: { hit: expect.any(Number), missed: expect.any(Number), lost: expect.any(Number) },
      flows: 0,
      masks: { hit: 0, total: 0, hit_per_pkt: expect.any(Number) },
      caches: { 'masks-cache': expect.any(Number) },
      user_features: expect.any(Number),
    });
    const ports = show.ports as Record<string, unknown>[];
    expect(ports.map((p) => [p.port_no, p.name, p.type, p.kernel_type])).toEqual([
      [0, dp, 'internal', 'internal'],
      [1, va, 'system', 'netdev'],
    ]);
    expect(ports[1].stats).toMatchObject({ rx_packets: expect.any(Number), collisions: expect.any(Number), tx_bytes: expect.any(Number) });
    expect((await ovsnl(['--json', 'show', 'nosuchdp'])).status).toBe(1);
  });

  it('dump-flows and get-flow', async () => {
    const ufid = 'ufid:33333333-2222-3333-4444-555555555555';
    expect((await ovsnl(['add-flow', dp, `${ufid},in_port(1),eth(),eth_type(0x0800),ipv4(src=10.3.0.1,proto=6,frag=no),tcp(dst=22),tcp_flags(0/0)`, '0'])).status).toBe(0);
    expect((await ovsnl(['add-flow', dp, 'in_port(1),eth(),eth_type(0x0806),arp()', 'drop'])).status).toBe(0);
    const dump = (await json(['--names', 'dump-flows', dp])) as { datapath: string; flows: Record<string, unknown>[] };
    expect(dump.datapath).toBe(`system@${dp}`);
    expect(dump.flows).toHaveLength(2);
    const tcp = dump.flows.find((f) => f.ufid)!;
    expect(tcp).toEqual({
      ufid: '33333333-2222-3333-4444-555555555555',
      key: `in_port(${va}),eth(),eth_type(0x0800),ipv4(src=10.3.0.1,proto=6,frag=no),tcp(dst=22)`,
      key_verbose: expect.stringContaining(`in_port(${va}),skb_mark(0/0)`),
      packets: 0,
      bytes: 0,
      used_ms_ago: null,
      tcp_flags: 0,
      tcp_flags_text: null,
      actions: dp,
      dp: 'ovs',
    });
    expect(dump.flows.find((f) => !f.ufid)).toMatchObject({ ufid: null, actions: 'drop' });
    const one = await json(['get-flow', dp, ufid]);
    expect(one).toMatchObject({ ufid: '33333333-2222-3333-4444-555555555555', actions: '0' });
    const filtered = (await json(['dump-flows', dp, 'filter=arp'])) as { flows: unknown[] };
    expect(filtered.flows).toHaveLength(1);
    await ovsnl(['del-flows', dp]);
  });

  it('cache-get-size, ct-get-limits, parse-actions, and refuses --json on writes', async () => {
    expect(await json(['cache-get-size', dp])).toEqual([{ name: `system@${dp}`, caches: { 'masks-cache': expect.any(Number) } }]);
    expect(await json(['ct-get-limits', dp])).toEqual({ default_limit: 0, zones: expect.any(Array) });
    expect(await json(['parse-actions', '1,2', 'drop'])).toEqual(['1,2', 'drop']);
    const w = await ovsnl(['--json', 'add-flow', dp, 'in_port(1)', '1']);
    expect(w.status).toBe(1);
    expect(w.err).toMatch(/^ovsnl: --json: 'add-flow' prints no data/);
  });
});

describe('meters', () => {
  it('add, dump, replace, delete', async () => {
    const features = (await json(['meter-features', dp])) as { max_meters: number; max_bands: number; band_types: string[] };
    expect(features.band_types).toEqual(['drop']);
    expect(features.max_meters).toBeGreaterThan(0);
    expect(await ovsnl(['add-meter', dp, '5', 'kbps', 'rate=1000,burst=200'])).toEqual({ out: '', err: '', status: 0 });
    expect(await ovsnl(['add-meter', dp, '6', 'rate=10'])).toEqual({ out: '', err: '', status: 0 });
    // The kernel tells counters only (its `used` starts at the meter's creation).
    const text = await ovsnl(['dump-meters', dp]);
    expect(text.out.replace(/used:[\d.]+s/g, 'used:*')).toBe('meter:5 packets:0 bytes:0 used:*\n  band 0: packets:0 bytes:0\nmeter:6 packets:0 bytes:0 used:*\n  band 0: packets:0 bytes:0\n');
    expect(await json(['dump-meters', dp, '6'])).toEqual([{ id: 6, packets: 0, bytes: 0, used_ms_ago: expect.any(Number), bands: [{ packets: 0, bytes: 0 }] }]);
    // A flow through the meter.
    expect((await ovsnl(['add-flow', dp, 'in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)', 'meter(5),0'])).status).toBe(0);
    expect((await ovsnl(['dump-flows', dp])).out).toContain('actions:meter(5),0\n');
    await ovsnl(['del-flows', dp]);
    expect(await ovsnl(['del-meter', dp, '5', '6'])).toEqual({ out: '', err: '', status: 0 });
    expect((await ovsnl(['dump-meters', dp])).out).toBe('');
    const gone = await ovsnl(['del-meter', dp, '5']);
    expect(gone).toEqual({ out: '', err: 'ovsnl: deleting meter 5 (No such file or directory)\n', status: 1 });
    const bad = await ovsnl(['add-meter', dp, '7', 'rate=0']);
    expect(bad.status).toBe(1);
    expect(bad.err.split('\n')).toHaveLength(2);
  });
});

describe('execute', () => {
  it('sends a hex frame and a frame built from a flow out of a port', async () => {
    const before = netStat(vb, 'rx_packets');
    const frame = 'ffffffffffff020000000001' + '0806' + '0001080006040001020000000001' + '0a000001' + '000000000000' + '0a000002';
    expect(await ovsnl(['execute', dp, frame, '1'])).toEqual({ out: '', err: '', status: 0 });
    expect(await ovsnl(['execute', dp, 'in_port(0),eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,ttl=64,frag=no),udp(src=1,dst=2)', '1,1'])).toEqual({
      out: '',
      err: '',
      status: 0,
    });
    expect(await waitFor(() => netStat(vb, 'rx_packets') >= before + 3)).toBe(true);
    const bad = await ovsnl(['execute', dp, 'zz', '1']);
    expect(bad.status).toBe(1);
    expect(bad.err).toMatch(/^ovsnl: parsing packet \(neither hex nor a flow: syntax error at zz\) \(Invalid argument\)\n$/);
  });
});

describe('reads are GETs only', () => {
  it("leave a datapath's user features alone, where ovs-dpctl's open rewrites them", async () => {
    const { KernelDpif } = await import('../../src/dpif/kernel.js');
    const { OVS_DP_F_UNALIGNED, OVS_DP_F_VPORT_PIDS } = await import('../../src/ovs/uapi.js');
    const dpif = await KernelDpif.open();
    const name = dpName('xro');
    try {
      await dpif.createDatapath({ name, userFeatures: OVS_DP_F_UNALIGNED | OVS_DP_F_VPORT_PIDS });
      for (const args of [['show', name], ['-s', 'show'], ['dump-dps'], ['dump-flows', name], ['-m', 'dump-flows', name], ['cache-get-size', name], ['ct-get-limits', name], ['--json', 'show', name]]) {
        expect({ args, status: (await ovsnl(args)).status }).toEqual({ args, status: 0 });
      }
      expect((await dpif.getDatapath(name)).userFeatures).toBe(OVS_DP_F_UNALIGNED | OVS_DP_F_VPORT_PIDS);
    } finally {
      await dpif.deleteDatapath(name).catch(() => undefined);
      dpif.close();
    }
  });
});

describe('errors: one line, non-zero exit', () => {
  it('no such datapath, flow syntax with its place, kernel reason', async () => {
    expect(await ovsnl(['show', 'nosuchdp'])).toEqual({ out: '', err: 'ovsnl: opening datapath nosuchdp failed (No such device)\n', status: 1 });
    expect(await ovsnl(['show', 'netdev@x'])).toEqual({
      out: '',
      err: "ovsnl: netdev@x: datapath type 'netdev' is not supported: ovsnl manages the kernel datapath (type 'system', written 'system@NAME' or just 'NAME')\n",
      status: 1,
    });
    const syntax = await ovsnl(['add-flow', dp, 'in_port(1),eth_type(0x0800),ipv4(src=10.0.0.0/8)', '1']);
    expect(syntax).toEqual({ out: '', err: 'ovsnl: parsing flow key (syntax error at ipv4(src=10.0.0.0/8)) (Invalid argument)\n', status: 1 });
    // A TCP key without tcp_flags: the module says why in its log, which ovsnl reads (root in the VM).
    const reason = await ovsnl(['add-flow', dp, 'in_port(1),eth(),eth_type(0x0800),ipv4(proto=6,frag=no),tcp(dst=80)', '1']);
    expect(reason.status).toBe(1);
    expect(reason.err).toMatch(/^ovsnl: updating flow table \(Invalid argument\): (openvswitch module: Missing key|the openvswitch module gives its reason)/);
    expect(reason.err.split('\n')).toHaveLength(2);
  });
});
