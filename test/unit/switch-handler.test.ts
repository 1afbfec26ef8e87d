// The handler's bookkeeping over a recording Dpif: which puts and executes a
// batch turns into, dedup, the EEXIST race, the flow limit. What the kernel
// makes of them is tested in test/kernel/switch-run.test.ts.
import { describe, expect, it } from 'vitest';
import { NetlinkError } from '../../src/netlink/errors.js';
import type { Dpif, FlowPut, FlowPutResult } from '../../src/dpif/dpif.js';
import type { PacketExecute, Upcall } from '../../src/ovs/packet.js';
import type { FlowKey } from '../../src/ovs/keys.js';
import { decodeActions } from '../../src/ovs/action-codec.js';
import { decodeKey } from '../../src/ovs/key-codec.js';
import { UpcallHandler, encodeActionBytes, encodeKeyBytes, isKernelClean } from '../../src/switch/handler.js';
import type { Decision, Policy } from '../../src/switch/policy.js';
import { InstalledFlows } from '../../src/switch/switch-flows.js';

class RecordingDpif {
  puts: FlowPut[] = [];
  executes: PacketExecute[] = [];
  /** Keys (as hex) the "kernel" already has a flow for. */
  existing = new Set<string>();
  async putFlows(_dp: number, flows: FlowPut[]): Promise<FlowPutResult[]> {
    this.puts.push(...flows);
    return flows.map((f) => {
      const id = Buffer.from(f.key).toString('hex');
      if (this.existing.has(id)) return { ok: false, error: new NetlinkError({ errno: 17, operation: 'flow new' }) };
      this.existing.add(id);
      return { ok: true };
    });
  }
  async executeMany(_dp: number, xs: readonly PacketExecute[]): Promise<(Error | undefined)[]> {
    this.executes.push(...xs);
    return xs.map(() => undefined);
  }
  get dpif(): Dpif {
    return this as unknown as Dpif;
  }
}

/** Outputs to port (in_port + 1), depending on in_port only. */
class PlusOne implements Policy {
  generation = 0;
  observed: FlowKey[] = [];
  observe(key: FlowKey): boolean {
    this.observed.push(key);
    return false;
  }
  decide(key: FlowKey): Decision {
    return { actions: [{ type: 'output', port: (key.inPort ?? 0) + 1 }], mask: { inPort: 0xffffffff }, reason: 'plus-one' };
  }
}

const key = (inPort: number, src = '02:00:00:00:00:01'): Uint8Array =>
  encodeKeyBytes({ inPort, ethernet: { src, dst: '02:00:00:00:00:02' }, ethertype: 0x0800 });

const miss = (k: Uint8Array, tag: number): Upcall => ({ kind: 'miss', dpIfindex: 7, key: k, packet: new Uint8Array([tag, 1, 2, 3]) });

function setup(opts: { flowLimit?: number } = {}) {
  const d = new RecordingDpif();
  const policy = new PlusOne();
  const flows = new InstalledFlows();
  const h = new UpcallHandler({ dpif: d.dpif, dpIfindex: 7, policy, flows, now: () => 1000, flowLimit: opts.flowLimit });
  return { d, policy, flows, h };
}

describe('UpcallHandler', () => {
  it('puts one create-only flow per distinct key and executes every packet with its actions', async () => {
    const { d, flows, h, policy } = setup();
    const k1 = key(1);
    const k2 = key(2);
    // The buffer is reused by the next receive: the handler must have copied what it keeps.
    const batch = [miss(k1, 10), miss(k2, 20), miss(k1.slice(), 11)];
    const done = h.onBatch(batch);
    for (const u of batch) {
      u.key.fill(0);
      u.packet.fill(0);
    }
    await done;
    expect(d.puts).toHaveLength(2);
    expect(d.puts.every((p) => p.mode === 'create' && p.ufid?.length === 16)).toBe(true);
    expect(decodeKey(d.puts[0].key).inPort).toBe(1);
    expect(decodeKey(d.puts[0].mask!)).toEqual({ inPort: 0xffffffff });
    expect(decodeActions(d.puts[1].actions!)).toEqual([{ type: 'output', port: 3 }]);
    expect(d.executes.map((x) => [x.packet[0], decodeKey(x.key).inPort, decodeActions(x.actions)])).toEqual([
      [10, 1, [{ type: 'output', port: 2 }]],
      [11, 1, [{ type: 'output', port: 2 }]],
      [20, 2, [{ type: 'output', port: 3 }]],
    ]);
    expect(h.stats).toMatchObject({ misses: 3, deduped: 1, flowPuts: 2, installed: 2, executed: 3, raced: 0 });
    expect(h.stats.reasons.get('plus-one')).toBe(2);
    expect(flows.size).toBe(2);
    expect(policy.observed).toHaveLength(2);
    expect([...flows.values()].map((f) => f.installedAt)).toEqual([1000, 1000]);
  });

  it('spares the Dpif its scan when mask and actions hold nothing userspace-only, and only then', async () => {
    const { d, h } = setup();
    await h.onBatch([miss(key(1), 1)]);
    expect(d.puts[0].kernelChecked).toBe(true);
    expect(d.executes[0].kernelChecked).toBe(true);

    const flows = new InstalledFlows();
    const d2 = new RecordingDpif();
    const tnl: Policy = { generation: 0, decide: () => ({ actions: [{ type: 'tnlPop', port: 4 }], mask: { inPort: 0xffffffff }, reason: 'tnl' }) };
    await new UpcallHandler({ dpif: d2.dpif, dpIfindex: 7, policy: tnl, flows, now: () => 1000 }).onBatch([miss(key(1), 1)]);
    // Left to the Dpif, which refuses it with its reason.
    expect(d2.puts[0].kernelChecked).toBe(false);
    expect(d2.executes[0].kernelChecked).toBe(false);
  });

  it('isKernelClean scans a stream once and remembers the answer per object', () => {
    const out = encodeActionBytes([{ type: 'output', port: 2 }]);
    const pop = encodeActionBytes([{ type: 'tnlPop', port: 2 }]);
    expect(isKernelClean(out, 'actions')).toBe(true);
    expect(isKernelClean(pop, 'actions')).toBe(false);
    // Remembered by object: the same bytes changed afterwards are not rescanned (shared streams are never written to).
    pop.set(out.subarray(0, pop.length));
    expect(isKernelClean(pop, 'actions')).toBe(false);
    expect(isKernelClean(encodeKeyBytes({ inPort: 0xffffffff }), 'mask')).toBe(true);
  });

  it('counts EEXIST as a race, records no flow, and still executes the packet', async () => {
    const { d, flows, h } = setup();
    d.existing.add(Buffer.from(key(5)).toString('hex'));
    await h.onBatch([miss(key(5), 1)]);
    expect(h.stats).toMatchObject({ raced: 1, installed: 0, putErrors: 0, executed: 1 });
    expect(flows.size).toBe(0);
  });

  it('executes without putting once the flow limit is reached', async () => {
    const { d, flows, h } = setup({ flowLimit: 1 });
    await h.onBatch([miss(key(1), 1), miss(key(2), 2)]);
    expect(d.puts).toHaveLength(1);
    expect(d.executes).toHaveLength(2);
    expect(h.stats.overLimit).toBe(1);
    expect(flows.size).toBe(1);
  });

  it('counts ACTION upcalls and undecodable keys without putting anything', async () => {
    const { d, h } = setup();
    const bad = new Uint8Array([8, 0, 3, 0, 1]); // an attribute longer than its buffer
    await h.onBatch([{ kind: 'action', dpIfindex: 7, key: key(1), packet: new Uint8Array(4) }, miss(bad, 1)]);
    expect(h.stats).toMatchObject({ actionUpcalls: 1, badKeys: 1, flowPuts: 0 });
    expect(d.executes).toHaveLength(0);
  });
});

describe('UpcallHandler and a policy that reads some key fields', () => {
  it('gives the policy (and the flow record) only those fields, and puts and executes with the whole key', async () => {
    const d = new RecordingDpif();
    const seen: FlowKey[] = [];
    const policy: Policy = {
      generation: 0,
      keyFields: ['inPort', 'ethernet', 'encap'],
      observe: (k) => (seen.push(k), false),
      decide: (k) => (seen.push(k), { actions: [{ type: 'output', port: 9 }], mask: { inPort: 0xffffffff }, reason: 'r' }),
    };
    const flows = new InstalledFlows();
    const h = new UpcallHandler({ dpif: d.dpif, dpIfindex: 7, policy, flows, now: () => 1000 });
    const whole: FlowKey = {
      inPort: 3, ethernet: { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' }, ethertype: 0x8100, vlan: { vid: 5, pcp: 0, cfi: 1 },
      encap: { ethertype: 0x0800, ipv4: { src: '10.0.0.1', dst: '10.0.0.2', proto: 17, tos: 0, ttl: 64, frag: 0 } },
    };
    const k = encodeKeyBytes(whole);
    await h.onBatch([miss(k, 1)]);
    const want = { inPort: 3, ethernet: whole.ethernet, encap: {} };
    expect(seen).toEqual([want, want]);
    expect([...flows.values()].map((f) => f.typedKey)).toEqual([want]);
    expect(decodeKey(d.puts[0].key)).toEqual(whole);
    expect(decodeKey(d.executes[0].key!)).toEqual(whole);
  });
});
