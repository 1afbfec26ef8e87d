// The Switch on the real module, in this process, with a small policy of the
// test's own (a port map): misses become megaflows with exactly the
// decision's mask, packets are executed, idle flows go, a policy change
// modifies installed flows in place, a slow handler loses upcalls and the
// switch goes on, and stop() leaves no flow behind. `ovsnl run` with the
// real policies is tested in switch-run.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KernelDpif } from '../../src/dpif/kernel.js';
import { NetlinkError } from '../../src/netlink/errors.js';
import { decodeActions } from '../../src/ovs/action-codec.js';
import { decodeKey } from '../../src/ovs/key-codec.js';
import type { FlowKey } from '../../src/ovs/keys.js';
import type { Decision, Policy } from '../../src/switch/policy.js';
import { Switch } from '../../src/switch/switch.js';
import { requireOvsModule } from './setup.js';
import { openDpif, waitFor } from './ovs-helpers.js';
import { FrameTap, hasTag, tagged, topology, udpFrame, type Topology } from './upcall-helpers.js';

/** in_port → output port; the mask is in_port and the destination MAC's first byte, nothing else. */
class PortMap implements Policy {
  generation = 0;
  decided = 0;
  constructor(public map: Map<number, number>) {}
  decide(key: FlowKey): Decision {
    this.decided++;
    const out = this.map.get(key.inPort ?? -1);
    return {
      actions: out === undefined ? [] : [{ type: 'output', port: out }],
      mask: { inPort: 0xffffffff, ethernet: { src: '00:00:00:00:00:00', dst: 'ff:00:00:00:00:00' } },
      reason: out === undefined ? 'drop' : `to-${out}`,
    };
  }
}

let dpif: KernelDpif;
let topo: Topology;
let tapA: FrameTap;
let tapB: FrameTap;
let tapI: FrameTap;
/** What the switches reported: the tests expect nothing. */
const errors: Error[] = [];
const onError = (err: Error): void => void errors.push(err);

beforeAll(async () => {
  requireOvsModule();
  dpif = await openDpif();
  topo = await topology(dpif, 'swm');
  tapA = new FrameTap(topo.aPeer);
  tapB = new FrameTap(topo.bPeer);
  tapI = new FrameTap(topo.internal);
});
afterAll(async () => {
  for (const t of [tapA, tapB, tapI]) t?.close();
  await topo?.remove();
  dpif?.close();
});

const frames = (tag: string, n: number, dstMac = '02:00:00:00:00:02'): Uint8Array[] =>
  Array.from({ length: n }, (_, i) => udpFrame(30000 + i, 7400, tagged(tag, i), { dstMac }));
const arrived = (t: FrameTap, tag: string): number => t.poll().filter((p) => hasTag(p, tag)).length;

/** The mask's fields that have a bit set. */
function significant(mask: FlowKey): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(mask)) {
    const zero = v === 0 || v === 0n || v === '00:00:00:00:00:00' || v === '0.0.0.0' || (typeof v === 'object' && v !== null && Object.values(v).every((x) => x === 0 || x === '00:00:00:00:00:00' || x === '0.0.0.0'));
    if (!zero) out[k] = v;
  }
  return out;
}

type DumpedFlow = { key: FlowKey; mask: FlowKey; actions: ReturnType<typeof decodeActions>; used?: bigint };

/** The datapath's flows, decoded; retried while the revalidator's dump holds the socket (EBUSY). */
async function ourFlows(): Promise<DumpedFlow[]> {
  for (let attempt = 0; ; attempt++) {
    try {
      const out: DumpedFlow[] = [];
      for await (const f of dpif.dumpFlows(topo.dp)) out.push({ key: decodeKey(f.key!), mask: decodeKey(f.mask!), actions: decodeActions(f.actions!), used: f.used });
      return out;
    } catch (err) {
      if (!(err instanceof NetlinkError && err.code === 'EBUSY') || attempt > 50) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

describe('Switch on the kernel datapath', () => {
  it('installs one megaflow with the decision mask, forwards every packet, and re-decides after a policy change', async () => {
    const policy = new PortMap(new Map([[topo.aPort, topo.bPort]]));
    const sw = await Switch.start({ dpif, datapath: topo.dp, policy: () => policy, onError, idleTimeoutMs: 60_000, revalidateIntervalMs: 200 });
    try {
      expect(sw.ports).toEqual([0, topo.aPort, topo.bPort, topo.internalPort].sort((x, y) => x - y));
      await tapA.send(frames('first-', 20));
      // Every packet leaves on b: the misses by execute, the rest through the flow.
      expect(await waitFor(() => arrived(tapB, 'first-') === 20, 15_000)).toBe(true);
      const flows = await ourFlows();
      // 20 distinct UDP flows, one megaflow: the mask leaves the ports (and the rest) out.
      expect(flows).toHaveLength(1);
      expect(significant(flows[0].mask)).toEqual({ inPort: 0xffffffff, ethernet: { src: '00:00:00:00:00:00', dst: 'ff:00:00:00:00:00' } });
      expect(flows[0].actions).toEqual([{ type: 'output', port: topo.bPort }]);
      expect(sw.stats.handler.installed).toBe(1);
      expect(sw.stats.handler.executed).toBe(sw.stats.handler.misses);
      expect(sw.flows.size).toBe(1);

      // Same mask, other actions: the installed flow is modified, not replaced.
      policy.map.set(topo.aPort, topo.internalPort);
      policy.generation++;
      await sw.revalidate();
      expect(sw.stats.revalidator.modified).toBe(1);
      const after = await ourFlows();
      expect(after).toHaveLength(1);
      expect(after[0].actions).toEqual([{ type: 'output', port: topo.internalPort }]);
      const missesBefore = sw.stats.handler.misses;
      await tapA.send(frames('second-', 5));
      expect(await waitFor(() => arrived(tapI, 'second-') === 5, 15_000)).toBe(true);
      expect(sw.stats.handler.misses).toBe(missesBefore);
      expect(tapB.poll().filter((p) => hasTag(p, 'second-'))).toHaveLength(0);
    } finally {
      const deleted = await sw.stop();
      expect(deleted).toBe(1);
    }
    expect(await ourFlows()).toHaveLength(0);
    // Upcall pids given back: every vport's pid is 0 again (per-vport), or none of ours is left (per-CPU).
    const dp = await dpif.getDatapath(topo.dp);
    for (const v of await dpif.listVports(topo.dp)) expect(v.upcallPids ?? [0]).toEqual(dp.perCpuPids ? v.upcallPids ?? [0] : [0]);
  });

  it('deletes idle flows after the idle timeout, by the kernel clock', async () => {
    const policy = new PortMap(new Map([[topo.aPort, topo.bPort]]));
    const sw = await Switch.start({ dpif, datapath: topo.dp, policy: () => policy, onError, idleTimeoutMs: 1500, revalidateIntervalMs: 200 });
    try {
      await tapA.send(frames('idle-', 3));
      expect(await waitFor(() => sw.flows.size === 1, 10_000)).toBe(true);
      expect(await ourFlows()).toHaveLength(1);
      // Kept while used...
      const t0 = Date.now();
      while (Date.now() - t0 < 1500) {
        await tapA.send(frames('keep-', 1));
        await new Promise((r) => setTimeout(r, 300));
      }
      expect(sw.stats.revalidator.deletedIdle).toBe(0);
      // ...and gone once idle.
      expect(await waitFor(() => sw.stats.revalidator.deletedIdle === 1, 15_000)).toBe(true);
      expect(await ourFlows()).toHaveLength(0);
      expect(sw.flows.size).toBe(0);
    } finally {
      await sw.stop();
    }
  });

  it('a slow handler: the kernel drops upcalls, they are counted, and the switch keeps forwarding', async () => {
    const policy = new PortMap(new Map([[topo.aPort, topo.bPort]]));
    // Every packet its own flow, so that each one is a miss.
    policy.decide = function (key: FlowKey): Decision {
      const d = PortMap.prototype.decide.call(this, key);
      return { ...d, mask: { ...d.mask, udp: { src: 0xffff, dst: 0xffff }, ethertype: 0xffff, ipv4: { src: '0.0.0.0', dst: '0.0.0.0', proto: 0xff, tos: 0, ttl: 0, frag: 0 } } };
    };
    const sw = await Switch.start({
      dpif, datapath: topo.dp, policy: () => policy, onError, handlers: 1, receiveBufferBytes: 64 * 1024, maxPendingBatches: 1, handlerDelayMs: 300, idleTimeoutMs: 60_000,
    });
    try {
      await tapA.send(frames('flood-', 1500));
      expect(await waitFor(() => sw.stats.upcalls.lost >= 1, 20_000)).toBe(true);
      const k = await sw.upcallChannel!.kernelStats();
      expect(k.lost).toBeGreaterThan(0n);
      // The storm is over once every miss was either received or lost.
      let missed = 0n;
      const over = async (): Promise<boolean> => {
        const k2 = await sw.upcallChannel!.kernelStats();
        missed = k2.missed;
        return BigInt(sw.stats.upcalls.received) + k2.lost >= 1500n && sw.stats.upcalls.handled === sw.stats.upcalls.received;
      };
      for (let t = Date.now(); !(await over()) && Date.now() - t < 60_000; ) await new Promise((r) => setTimeout(r, 200));
      expect(missed).toBeGreaterThanOrEqual(1500n);
      // Still switching: a packet sent after the storm gets through, as a miss handled late.
      await tapA.send([udpFrame(999, 7401, tagged('late-', 0))]);
      const ok = await waitFor(() => arrived(tapB, 'late-') === 1, 20_000);
      if (!ok) console.log(JSON.stringify({ ...sw.stats, handler: { ...sw.stats.handler, reasons: [...sw.stats.handler.reasons] } }), errors.map((e) => e.message));
      expect(ok).toBe(true);
      expect(sw.stats.handler.installed).toBeGreaterThan(1);
    } finally {
      // stop() also deletes what a batch still under way installs, so it may
      // delete more than were recorded here; ourFlows() below says none is left.
      const n = sw.flows.size;
      expect(await sw.stop()).toBeGreaterThanOrEqual(n);
    }
    expect(await ourFlows()).toHaveLength(0);
    expect(errors.map((e) => e.message)).toEqual([]);
  });
});
