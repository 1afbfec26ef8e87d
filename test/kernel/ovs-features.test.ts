// Feature negotiation and probing on the real module, on each kernel of the
// matrix: what 6.1 and 6.12 differ in (psample, drop with a reason, vport
// upcall stats, symmetric L4 hash) is found by probing, not assumed.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttrWriter } from '../../src/netlink/attr.js';
import type { KernelDpif } from '../../src/dpif/kernel.js';
import { DEFAULT_USER_FEATURES } from '../../src/dpif/kernel.js';
import { KmsgReader } from '../../src/dpif/kmsg.js';
import type { KernelFeatures } from '../../src/dpif/features.js';
import type { OvsEventItem } from '../../src/dpif/events.js';
import { randomUfid } from '../../src/ovs/ufid.js';
import { OVS_DP_F_DISPATCH_UPCALL_PER_CPU, OVS_DP_F_UNALIGNED } from '../../src/ovs/uapi.js';
import { requireOvsModule } from './setup.js';
import { dropDatapath, openDpif, udpKey, uniqueName } from './ovs-helpers.js';

/** major + minor / 100 of the running kernel: 6.1 -> 6.01, 6.12 -> 6.12. */
function kernelVersion(): number {
  const [major, minor] = readFileSync('/proc/sys/kernel/osrelease', 'utf8').split(/[.-]/).map(Number);
  return major + minor / 100;
}

// Where the matrix kernels differ, and the release that brought each (the
// sym_l4 hash landed between 6.2 and 6.12; the matrix does not pin it closer).
const ADDED_IN = { drop: 6.04, psample: 6.11, hashSymL4: 6.06, vportUpcallStats: 6.02 };

const ACTION_OUTPUT = 1;
const ACTION_HASH = 8;
const ACTION_PSAMPLE = 25;

function actions(build: (w: AttrWriter) => void): Uint8Array {
  const w = new AttrWriter();
  build(w);
  return w.finish().slice();
}

const symL4Hash = (): Uint8Array =>
  actions((w) => {
    w.bytes(ACTION_HASH, new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]));
    w.u32(ACTION_OUTPUT, 1);
  });

const psample = (): Uint8Array =>
  actions((w) => {
    const t = w.nestStart(ACTION_PSAMPLE, true);
    w.u32(1 /* OVS_PSAMPLE_ATTR_GROUP */, 5);
    w.nestEnd(t);
  });

describe('feature negotiation and probes', () => {
  let dpif: KernelDpif;
  const dp = uniqueName('ovsft');
  const version = kernelVersion();
  let features: KernelFeatures;

  beforeAll(async () => {
    requireOvsModule();
    dpif = await openDpif();
  });
  afterAll(async () => {
    await dropDatapath(dpif, dp);
    dpif.close();
  });

  it('creates a datapath with per-vport dispatch unless asked otherwise, negotiating without side effects', async () => {
    const events = await dpif.events({ groups: ['datapath'] });
    const seen: OvsEventItem[] = [];
    events.on((e) => seen.push(e));
    const created = await dpif.createDatapath({ name: dp });
    expect(created.userFeatures).toBe(DEFAULT_USER_FEATURES);
    await dpif.setDatapath(dp, { masksCacheSize: 256 });
    await events.next((e) => e.family === 'datapath' && e.cmd === 'set');
    events.close();
    // The feature probes (NEW under the taken name) changed nothing: one new, then our set.
    expect(seen.map((e) => (e.family === 'overrun' ? 'overrun' : e.cmd))).toEqual(['new', 'set']);
    expect((await dpif.getDatapath(dp)).userFeatures).toBe(DEFAULT_USER_FEATURES);
  });

  it('refuses hash(sym_l4) until a probe shows the kernel has it', async () => {
    const err = await dpif.putFlow(dp, { key: udpKey({ inPort: 3, src: '10.1.1.1', dst: '10.1.1.2', sport: 1, dport: 2 }), actions: symL4Hash() }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'EOPNOTSUPP', message: expect.stringContaining('hash(sym_l4)') });
  });

  it('probes what the kernel supports, quietly, leaving no flow behind', async () => {
    const log = KmsgReader.open();
    features = await dpif.features(dp);
    expect(log.readOvs()).toEqual([]);
    log.close();
    const left = [];
    for await (const f of dpif.dumpFlows(dp)) left.push(f);
    expect(left).toEqual([]);
    expect(features).toMatchObject({ rejectsUnknownUserFeatures: true, perCpuDispatch: true, meters: true, ctLimits: true, maxMplsLabels: 3 });
    for (const [k, v] of Object.entries(features.keys)) expect([k, v]).toEqual([k, true]);
    const always = ['recirc', 'hash', 'trunc', 'clone', 'ct', 'ctClear', 'ctNat', 'ctEventmask', 'meter', 'pushEth', 'pushNsh', 'checkPktLen', 'addMpls', 'decTtl'] as const;
    for (const a of always) expect([a, features.actions[a]]).toEqual([a, true]);
  });

  it(`finds what this kernel (${readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}) has and the other lacks`, () => {
    expect({
      drop: features.actions.drop,
      psample: features.actions.psample,
      hashSymL4: features.actions.hashSymL4,
      vportUpcallStats: features.vportUpcallStats,
    }).toEqual({
      drop: version >= ADDED_IN.drop,
      psample: version >= ADDED_IN.psample,
      hashSymL4: version >= ADDED_IN.hashSymL4,
      vportUpcallStats: version >= ADDED_IN.vportUpcallStats,
    });
  });

  it('caches the features per datapath: a second call sends nothing', async () => {
    const { dpIfindex } = await dpif.getDatapath(dp);
    const sent = dpif.conn.stats.sent;
    expect(await dpif.features(dpIfindex)).toBe(features);
    expect(await dpif.cachedFeatures(dpIfindex)).toBe(features);
    expect(dpif.conn.stats.sent).toBe(sent);
  });

  it('then takes hash(sym_l4) where the kernel has it, and still refuses it where not', async () => {
    const put = dpif.putFlow(dp, { key: udpKey({ inPort: 3, src: '10.1.1.1', dst: '10.1.1.2', sport: 1, dport: 2 }), actions: symL4Hash(), ufid: randomUfid() });
    if (features.actions.hashSymL4) await expect(put).resolves.toBeUndefined();
    else await expect(put).rejects.toMatchObject({ code: 'EOPNOTSUPP' });
    await dpif.flushFlows(dp);
  });

  it('a psample flow goes in exactly where the probe said so', async () => {
    const put = dpif.putFlow(dp, { key: udpKey({ inPort: 4, src: '10.1.1.1', dst: '10.1.1.2', sport: 1, dport: 2 }), actions: psample(), ufid: randomUfid() });
    if (features.actions.psample) await expect(put).resolves.toBeUndefined();
    else await expect(put).rejects.toMatchObject({ code: 'EINVAL' });
    await dpif.flushFlows(dp);
  });

  it('creates a per-CPU datapath when asked, with its pids', async () => {
    const other = uniqueName('ovsfc');
    try {
      const d = await dpif.createDatapath({ name: other, dispatch: 'per-cpu' });
      expect(d.userFeatures).toBe(OVS_DP_F_UNALIGNED | OVS_DP_F_DISPATCH_UPCALL_PER_CPU);
      await dpif.deleteDatapath(other);
      // Handler pids given: per-CPU is the default then.
      const withPids = await dpif.createDatapath({ name: other, perCpuPids: [dpif.conn.portId] });
      expect(withPids.userFeatures).toBe(OVS_DP_F_UNALIGNED | OVS_DP_F_DISPATCH_UPCALL_PER_CPU);
      expect(withPids.perCpuPids).toEqual([dpif.conn.portId]);
    } finally {
      await dropDatapath(dpif, other);
    }
  });

  it('can probe everything at creation', async () => {
    const other = uniqueName('ovsfp');
    try {
      const d = await dpif.createDatapath({ name: other, probeFeatures: true });
      const cached = await dpif.cachedFeatures(d.dpIfindex);
      expect(cached?.actions.psample).toBe(features.actions.psample);
    } finally {
      await dropDatapath(dpif, other);
    }
  });
});
