// The revalidator's choices over a recording Dpif whose dump reports given
// `used` times: idle deletion, the flow limit, and what a policy change does
// to installed flows (keep, modify, delete). The kernel's side of it is in
// test/kernel/switch-run.test.ts.
import { describe, expect, it } from 'vitest';
import type { Datapath, Dpif, Flow, FlowId, FlowPut, FlowPutResult } from '../../src/dpif/dpif.js';
import { decodeActions } from '../../src/ovs/action-codec.js';
import type { FlowKey } from '../../src/ovs/keys.js';
import { randomUfid, ufidEquals } from '../../src/ovs/ufid.js';
import { encodeActionBytes, encodeKeyBytes } from '../../src/switch/handler.js';
import type { Decision, Policy } from '../../src/switch/policy.js';
import { LearningSwitch } from '../../src/switch/learning.js';
import { Revalidator } from '../../src/switch/revalidator.js';
import { InstalledFlows, type InstalledFlow } from '../../src/switch/switch-flows.js';

class DumpDpif {
  /** ufid hex → used (undefined: never used). */
  kernel: { ufid: Uint8Array; used?: bigint }[] = [];
  deleted: Uint8Array[] = [];
  sets: FlowPut[] = [];
  async *dumpFlows(): AsyncGenerator<Flow> {
    for (const f of this.kernel) yield { dpIfindex: 7, ufid: f.ufid, used: f.used };
  }
  async deleteFlow(_dp: number, id: FlowId): Promise<Flow> {
    this.deleted.push(id.ufid!);
    this.kernel = this.kernel.filter((f) => !ufidEquals(f.ufid, id.ufid!));
    return { dpIfindex: 7 };
  }
  async getDatapath(): Promise<Datapath> {
    return { name: 'dp', dpIfindex: 7, stats: { hit: 0n, missed: 0n, lost: 0n, flows: BigInt(this.kernel.length) } };
  }
  async putFlows(_dp: number, flows: FlowPut[]): Promise<FlowPutResult[]> {
    this.sets.push(...flows);
    return flows.map(() => ({ ok: true }));
  }
  get dpif(): Dpif {
    return this as unknown as Dpif;
  }
}

/** Port per in_port from a table; `wide` widens the mask to the source MAC too. */
class TablePolicy implements Policy {
  generation = 0;
  wide = false;
  constructor(public out: Record<number, number>) {}
  decide(key: FlowKey): Decision {
    const mask: FlowKey = this.wide ? { inPort: 0xffffffff, ethernet: { src: 'ff:ff:ff:ff:ff:ff', dst: '00:00:00:00:00:00' } } : { inPort: 0xffffffff };
    return { actions: [{ type: 'output', port: this.out[key.inPort ?? 0] }], mask, reason: 'table' };
  }
}

function install(flows: InstalledFlows, dpif: DumpDpif, policy: Policy, inPort: number, installedAt: number, used?: bigint): InstalledFlow {
  const typedKey: FlowKey = { inPort, ethernet: { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' } };
  const d = policy.decide(typedKey);
  const f: InstalledFlow = {
    ufid: randomUfid(), key: encodeKeyBytes(typedKey), typedKey, mask: encodeKeyBytes(d.mask), actions: encodeActionBytes(d.actions),
    generation: policy.generation, installedAt, reason: d.reason,
  };
  flows.add(f);
  dpif.kernel.push({ ufid: f.ufid, used });
  return f;
}

describe('Revalidator', () => {
  it('deletes flows idle past the timeout, by used time or, never used, by install time', async () => {
    const d = new DumpDpif();
    const p = new TablePolicy({ 1: 2, 2: 1, 3: 1, 4: 1 });
    const flows = new InstalledFlows();
    const now = 100_000;
    const stale = install(flows, d, p, 1, 0, 80_000n);
    const fresh = install(flows, d, p, 2, 0, 95_000n);
    const neverOld = install(flows, d, p, 3, 85_000);
    const neverNew = install(flows, d, p, 4, 99_000);
    const r = new Revalidator({ dpif: d.dpif, dpIfindex: 7, policy: p, flows, idleTimeoutMs: 10_000, now: () => now });
    await r.revalidate();
    expect(d.deleted.map((u) => flows.get(u))).toEqual([undefined, undefined]);
    expect(new Set(d.deleted.map((u) => Buffer.from(u).toString('hex')))).toEqual(new Set([stale, neverOld].map((f) => Buffer.from(f.ufid).toString('hex'))));
    expect(flows.get(fresh.ufid)).toBeDefined();
    expect(flows.get(neverNew.ufid)).toBeDefined();
    expect(r.stats).toMatchObject({ passes: 1, dumped: 4, deletedIdle: 2, flows: 2 });
  });

  it('keeps the flow count at the limit, deleting the idlest first', async () => {
    const d = new DumpDpif();
    const p = new TablePolicy({ 1: 2, 2: 1, 3: 1 });
    const flows = new InstalledFlows();
    const a = install(flows, d, p, 1, 0, 9_000n);
    const b = install(flows, d, p, 2, 0, 5_000n);
    const c = install(flows, d, p, 3, 0, 7_000n);
    const r = new Revalidator({ dpif: d.dpif, dpIfindex: 7, policy: p, flows, idleTimeoutMs: 60_000, flowLimit: 1, now: () => 10_000 });
    await r.revalidate();
    expect(d.deleted.map((u) => Buffer.from(u).toString('hex')).sort()).toEqual([b, c].map((f) => Buffer.from(f.ufid).toString('hex')).sort());
    expect(flows.get(a.ufid)).toBeDefined();
    expect(r.stats.deletedLimit).toBe(2);
  });

  it('after a policy change: modifies flows whose actions changed, deletes those whose mask changed, keeps the rest', async () => {
    const d = new DumpDpif();
    const p = new TablePolicy({ 1: 2, 2: 1 });
    const flows = new InstalledFlows();
    const same = install(flows, d, p, 1, 0, 1_000n);
    const moved = install(flows, d, p, 2, 0, 1_000n);
    const r = new Revalidator({ dpif: d.dpif, dpIfindex: 7, policy: p, flows, now: () => 2_000 });
    p.out = { 1: 2, 2: 9 };
    p.generation++;
    await r.revalidate();
    expect(d.deleted).toEqual([]);
    expect(d.sets).toHaveLength(1);
    expect(d.sets[0]).toMatchObject({ mode: 'modify', ufid: moved.ufid, key: moved.key, mask: moved.mask });
    expect(decodeActions(d.sets[0].actions!)).toEqual([{ type: 'output', port: 9 }]);
    expect(decodeActions(flows.get(moved.ufid)!.actions)).toEqual([{ type: 'output', port: 9 }]);
    expect(flows.get(same.ufid)!.generation).toBe(1);
    expect(r.stats).toMatchObject({ revalidated: 2, modified: 1, deletedMask: 0 });

    p.wide = true;
    p.generation++;
    await r.revalidate();
    expect(d.deleted).toHaveLength(2);
    expect(flows.size).toBe(0);
    expect(r.stats).toMatchObject({ revalidated: 4, deletedMask: 2 });
    // Nothing left to re-decide.
    await r.revalidate();
    expect(r.stats.revalidated).toBe(4);
  });

  it('skips the dump while every flow is younger than the idle timeout, and still re-decides', async () => {
    const d = new DumpDpif();
    const p = new TablePolicy({ 1: 2 });
    const flows = new InstalledFlows();
    const f = install(flows, d, p, 1, 9_000);
    let dumps = 0;
    const dump = d.dumpFlows.bind(d);
    d.dumpFlows = () => {
      dumps++;
      return dump();
    };
    let now = 10_000;
    const r = new Revalidator({ dpif: d.dpif, dpIfindex: 7, policy: p, flows, idleTimeoutMs: 5_000, now: () => now });
    p.out = { 1: 3 };
    p.generation++;
    await r.revalidate();
    expect(dumps).toBe(0);
    expect(r.stats.dumpsSkipped).toBe(1);
    expect(decodeActions(d.sets[0].actions!)).toEqual([{ type: 'output', port: 3 }]);
    // Old enough to be idle: now the dump is needed, and says it is (never used).
    now = 14_000;
    await r.revalidate();
    expect(dumps).toBe(1);
    expect(d.deleted.map((u) => Buffer.from(u).toString('hex'))).toEqual([Buffer.from(f.ufid).toString('hex')]);
  });

  it('forgets flows that someone else deleted, after they are missing from two dumps', async () => {
    const d = new DumpDpif();
    const p = new TablePolicy({ 1: 2 });
    const flows = new InstalledFlows();
    install(flows, d, p, 1, 0, 1_000n);
    d.kernel = [];
    const r = new Revalidator({ dpif: d.dpif, dpIfindex: 7, policy: p, flows, idleTimeoutMs: 1_500, now: () => 2_000 });
    await r.revalidate();
    expect(flows.size).toBe(1);
    await r.revalidate();
    expect(flows.size).toBe(0);
  });

  it('dumps though every flow is young when the datapath holds fewer flows than we installed (a flush), and forgets them', async () => {
    const d = new DumpDpif();
    const p = new TablePolicy({ 1: 2, 2: 1 });
    const flows = new InstalledFlows();
    install(flows, d, p, 1, 9_000);
    install(flows, d, p, 2, 9_000);
    const r = new Revalidator({ dpif: d.dpif, dpIfindex: 7, policy: p, flows, idleTimeoutMs: 5_000, now: () => 10_000 });
    await r.revalidate();
    expect(r.stats.dumpsSkipped).toBe(1);
    d.kernel = d.kernel.slice(1);
    await r.revalidate();
    expect(r.stats.dumpsSkipped).toBe(1);
    expect(flows.size).toBe(2);
    await r.revalidate();
    expect(flows.size).toBe(1);
    // The count agrees again: back to skipping.
    await r.revalidate();
    expect(r.stats.dumpsSkipped).toBe(2);
  });

  it('re-decides only the flows a learned MAC can touch, when the policy says which', async () => {
    const d = new DumpDpif();
    const p = new LearningSwitch({ ports: () => [1, 2, 3] });
    const flows = new InstalledFlows();
    const put = (typedKey: FlowKey): InstalledFlow => {
      const gen = p.generation;
      const dec = p.decide(typedKey);
      const f: InstalledFlow = {
        ufid: randomUfid(), key: encodeKeyBytes(typedKey), typedKey, mask: encodeKeyBytes(dec.mask), actions: encodeActionBytes(dec.actions),
        generation: gen, installedAt: 0, reason: dec.reason,
      };
      flows.add(f);
      d.kernel.push({ ufid: f.ufid, used: 1_000n });
      return f;
    };
    const toB = put({ inPort: 1, ethernet: { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:0b' } });
    const toC = put({ inPort: 1, ethernet: { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:0c' } });
    const r = new Revalidator({ dpif: d.dpif, dpIfindex: 7, policy: p, flows, now: () => 2_000 });
    // A new source that no installed flow goes to.
    p.observe({ inPort: 2, ethernet: { src: '02:00:00:00:00:0d', dst: '02:00:00:00:00:01' } }, 0);
    await r.revalidate();
    expect(r.stats).toMatchObject({ revalidated: 0, unaffected: 2, modified: 0 });
    expect(flows.get(toB.ufid)!.generation).toBe(p.generation);
    // B learned on port 3: its flow goes from flooding to port 3; C's stays.
    p.observe({ inPort: 3, ethernet: { src: '02:00:00:00:00:0b', dst: '02:00:00:00:00:01' } }, 0);
    await r.revalidate();
    expect(r.stats).toMatchObject({ revalidated: 1, unaffected: 3, modified: 1 });
    expect(d.sets.map((x) => x.ufid)).toEqual([toB.ufid]);
    expect(decodeActions(flows.get(toB.ufid)!.actions)).toEqual([{ type: 'output', port: 3 }]);
    expect(decodeActions(flows.get(toC.ufid)!.actions)).toEqual([{ type: 'output', port: 2 }, { type: 'output', port: 3 }]);
  });
});
