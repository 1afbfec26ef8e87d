// Actions of the fallback datapath: outputs, upcalls, rewrites with correct
// checksums, VLAN push/pop, trunc, nested lists, recirculation, recursion limit.
import { describe, expect, it } from 'vitest';
import type { Action, CtAction, UserspaceAction } from '../../src/ovs/actions.js';
import { buildFrame, ipv4HeaderChecksumOk, l4ChecksumOk, Layer, parsePacket } from '../../src/packet/index.js';
import { executeActions, executionLevel, unsupportedAction, type ActionSink, type ExecStats } from '../../src/userspace/actions.js';
import { actionLimitBreach } from '../../src/userspace/action-validate.js';
import type { PacketMeta } from '../../src/userspace/extract.js';

class Sink implements ActionSink {
  out: [number, Uint8Array][] = [];
  up: [Uint8Array, UserspaceAction, number | undefined][] = [];
  recirc: [PacketMeta, number][] = [];
  output(port: number, frame: Uint8Array): void {
    this.out.push([port, frame]);
  }
  /** Records what the datapath sends up: the (cut) packet and, when cut, the whole length. */
  userspace(frame: Uint8Array, _m: PacketMeta, a: UserspaceAction, sendLen?: number): void {
    this.up.push([frame.slice(0, sendLen ?? frame.length), a, sendLen === undefined ? undefined : frame.length]);
  }
  /** Meter 1 drops everything, others pass. */
  meter(id: number): boolean {
    return id === 1;
  }
  /** Records the recirculated packet's metadata and the execution level it was sent from. */
  recirculate(_f: Uint8Array, meta: PacketMeta): void {
    this.recirc.push([meta, executionLevel()]);
  }
  cts: CtAction[] = [];
  /** Zone 66 is over its limit (the packet is dropped); others are new connections. */
  conntrack(_f: Uint8Array, meta: PacketMeta, a: CtAction): boolean {
    this.cts.push(a);
    if (a.zone === 66) return false;
    meta.ct = { state: 0x21, zone: a.zone ?? 0, mark: 0, labels: 0n };
    return true;
  }
}

const udp = () =>
  buildFrame({ src: '00:00:00:00:00:01', dst: '00:00:00:00:00:02', l3: { kind: 'ipv4', src: '10.0.0.1', dst: '10.0.0.2', ttl: 9 }, l4: { kind: 'udp', src: 1000, dst: 2000 }, payload: 20 });
const tcp = () =>
  buildFrame({ src: '00:00:00:00:00:01', dst: '00:00:00:00:00:02', l3: { kind: 'ipv4', src: '10.0.0.1', dst: '10.0.0.2' }, l4: { kind: 'tcp', src: 1, dst: 2, flags: 2 }, payload: 7 });

function checksumsOk(f: Uint8Array): boolean {
  const p = parsePacket(f);
  return ipv4HeaderChecksumOk(f, p.l3) && l4ChecksumOk(f, p.l3, p.l4, f.length - p.l4, p.ipProto);
}

const run = (frame: Uint8Array, actions: Action[]) => {
  const s = new Sink();
  executeActions(s, frame, { inPort: 1 }, actions);
  return s;
};

describe('userspace actions', () => {
  // As the kernel does (test/diff/actions.test.ts): a trunc cuts the next
  // output or userspace action only.
  it('outputs, upcalls and truncates', () => {
    const s = run(udp(), [
      { type: 'output', port: 2 },
      { type: 'trunc', maxLen: 20 },
      { type: 'output', port: 3 },
      { type: 'output', port: 4 },
      { type: 'trunc', maxLen: 24 },
      { type: 'userspace', pid: 9, userdata: new Uint8Array([1]) },
      { type: 'userspace', pid: 9, userdata: new Uint8Array([2]) },
    ]);
    expect(s.out.map(([p, f]) => [p, f.length])).toEqual([
      [2, udp().length],
      [3, 20],
      [4, udp().length],
    ]);
    expect(s.up[0][0]).toHaveLength(24);
    expect(s.up[0][2]).toBe(udp().length);
    expect(s.up[1][0]).toHaveLength(udp().length);
    expect(s.up[1][2]).toBeUndefined();
  });

  it('stops the list where a meter drops the packet', () => {
    const s = run(udp(), [{ type: 'meter', id: 2 }, { type: 'output', port: 2 }, { type: 'meter', id: 1 }, { type: 'output', port: 3 }]);
    expect(s.out.map(([p]) => p)).toEqual([2]);
  });

  it('rewrites addresses, ports and TTL with checksums right', () => {
    for (const frame of [udp(), tcp()]) {
      const proto: 'tcp' | 'udp' = parsePacket(frame).ipProto === 6 ? 'tcp' : 'udp';
      const s = run(frame, [
        { type: 'set', key: { ethernet: { src: '02:00:00:00:00:aa', dst: '02:00:00:00:00:bb' } } },
        {
          type: 'setMasked',
          key: { ipv4: { src: '192.168.1.1', dst: '0.0.0.0', proto: 0, tos: 0, ttl: 3, frag: 0 } },
          mask: { ipv4: { src: '255.255.255.255', dst: '0.0.0.0', proto: 0, tos: 0, ttl: 0xff, frag: 0 } },
        },
        proto === 'tcp'
          ? { type: 'setMasked', key: { tcp: { src: 4242, dst: 0 } }, mask: { tcp: { src: 0xffff, dst: 0 } } }
          : { type: 'setMasked', key: { udp: { src: 4242, dst: 0 } }, mask: { udp: { src: 0xffff, dst: 0 } } },
        { type: 'output', port: 2 },
      ]);
      const f = s.out[0][1];
      const p = parsePacket(f);
      expect(p.ipv4Src()).toBe(0xc0a80101);
      expect(p.ipv4Dst()).toBe(0x0a000002);
      expect(p.ipTtl).toBe(3);
      expect(p.tpSrc).toBe(4242);
      expect(p.tpDst).toBe(proto === 'tcp' ? 2 : 2000);
      expect(checksumsOk(f)).toBe(true);
    }
  });

  it('pushes and pops VLAN tags, and decrements the TTL', () => {
    const s = run(udp(), [{ type: 'pushVlan', tpid: 0x8100, vid: 5, pcp: 2, cfi: 1 }, { type: 'output', port: 1 }, { type: 'popVlan' }, { type: 'decTtl', actions: [] }, { type: 'output', port: 2 }]);
    const tagged = parsePacket(s.out[0][1]);
    expect(tagged.has(Layer.VLAN)).toBe(true);
    expect(tagged.vlanTci).toBe((2 << 13) | 5);
    const plain = parsePacket(s.out[1][1]);
    expect(plain.has(Layer.VLAN)).toBe(false);
    expect(plain.ipTtl).toBe(8);
    expect(checksumsOk(s.out[1][1])).toBe(true);
  });

  it('runs nested lists on copies and defers recirculation', () => {
    const s = run(udp(), [
      { type: 'clone', actions: [{ type: 'set', key: { ethernet: { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' } } }, { type: 'output', port: 5 }] },
      { type: 'sample', probability: 0, actions: [{ type: 'output', port: 6 }] },
      { type: 'checkPktLen', pktLen: 10, gt: [{ type: 'output', port: 7 }], le: [{ type: 'output', port: 8 }] },
      { type: 'hash', alg: 0, basis: 0 },
      { type: 'recirc', id: 3 },
    ]);
    expect(s.out.map(([p]) => p)).toEqual([5, 7]);
    expect(s.recirc).toHaveLength(1);
    expect(s.recirc[0][0].recircId).toBe(3);
    expect(s.recirc[0][0].dpHash).not.toBe(0);
  });

  it('keeps what ct() says with the packet through recirculation, until ct_clear; a refused packet goes no further', () => {
    const s = run(udp(), [
      { type: 'clone', actions: [{ type: 'ct', zone: 3 }, { type: 'recirc', id: 1 }] },
      { type: 'recirc', id: 2 },
      { type: 'ct', zone: 4, commit: true },
      { type: 'ctClear' },
      { type: 'recirc', id: 3 },
      { type: 'ct', zone: 5 },
      { type: 'recirc', id: 4 },
      { type: 'ct', zone: 66 },
      { type: 'output', port: 9 },
    ]);
    expect(s.cts.map((a) => a.zone)).toEqual([3, 4, 5, 66]);
    // In the order they were met, each with the ct() verdict of its own copy.
    expect(s.recirc.map(([m]) => [m.recircId, m.ct?.zone])).toEqual([
      [1, 3],
      [2, undefined],
      [3, undefined],
      [4, 5],
    ]);
    expect(s.out).toEqual([]);
  });

  it('recirculates on the spot up to the deferral threshold, past it after the outermost list (clone_execute, process_deferred_actions)', () => {
    const events: string[] = [];
    const s = new Sink();
    // A table where recirc_id n recirculates to n + 1, then outputs to port n; 5 only outputs.
    s.output = (port) => void events.push(`out ${port} at ${executionLevel()}`);
    s.recirculate = (f, meta) => {
      const n = meta.recircId!;
      executeActions(s, f, meta, n < 5 ? [{ type: 'recirc', id: n + 1 }, { type: 'output', port: n }] : [{ type: 'output', port: n }]);
    };
    executeActions(s, udp(), { inPort: 1 }, [{ type: 'recirc', id: 1 }, { type: 'output', port: 0 }]);
    // Levels 1 to 3 recirculate at once; level 4 defers recirc(4), which runs
    // after level 1's list, from level 1 again (its flow at level 2).
    expect(events).toEqual(['out 3 at 4', 'out 2 at 3', 'out 1 at 2', 'out 0 at 1', 'out 5 at 3', 'out 4 at 2']);
    expect(executionLevel()).toBe(0);
  });

  it('runs a nested list one level deeper only when it may change the key and is not last', () => {
    const levels: string[] = [];
    const s = new Sink();
    s.output = (port) => void levels.push(`${port}@${executionLevel()}`);
    const set: Action = { type: 'set', key: { skbMark: 1 } };
    executeActions(s, udp(), { inPort: 1 }, [
      { type: 'clone', actions: [{ type: 'output', port: 1 }] },
      { type: 'clone', actions: [set, { type: 'output', port: 2 }] },
      { type: 'sample', probability: 0xffffffff, actions: [set, { type: 'output', port: 3 }] },
      { type: 'checkPktLen', pktLen: 10, gt: [set, { type: 'output', port: 4 }], le: [] },
      { type: 'clone', actions: [set, { type: 'output', port: 5 }] },
    ]);
    expect(levels).toEqual(['1@1', '2@2', '3@2', '4@2', '5@1']);
  });

  it('defers nested lists past the threshold too, and drops what does not fit the FIFO of 10', () => {
    const s = new Sink();
    const order: string[] = [];
    s.output = (port) => void order.push(`${port}@${executionLevel()}`);
    const set: Action = { type: 'set', key: { skbMark: 1 } };
    // Three clones deep that may change the key reach level 4, where the fourth waits.
    const deep: Action[] = [{ type: 'clone', actions: [set, { type: 'clone', actions: [set, { type: 'clone', actions: [set, { type: 'clone', actions: [set, { type: 'output', port: 9 }] }, { type: 'output', port: 4 }] }, { type: 'output', port: 3 }] }, { type: 'output', port: 2 }] }, { type: 'output', port: 1 }];
    executeActions(s, udp(), { inPort: 1 }, deep);
    expect(order).toEqual(['4@4', '3@3', '2@2', '1@1', '9@1']);
    const stats: ExecStats = { recursionDrops: 0 };
    const t = new Sink();
    const eleven: Action[] = Array.from({ length: 11 }, (_, i) => ({ type: 'recirc', id: 200 + i }) as Action);
    // From level 4 every recirculation is deferred: ten fit.
    t.recirculate = (f, meta) => {
      if (meta.recircId! < 100) executeActions(t, f, { ...meta, recircId: meta.recircId! + 100 }, meta.recircId === 3 ? [...eleven, { type: 'output', port: 0 }] : [{ type: 'recirc', id: meta.recircId! + 1 }], stats);
      else t.recirc.push([meta, executionLevel()]);
    };
    executeActions(t, udp(), { inPort: 1 }, [{ type: 'recirc', id: 1 }], stats);
    expect(stats.deferredDrops).toBe(1);
  });

  it('stops at the recursion limit and names what it cannot run', () => {
    // Clones each the last of their list run at one level, however deep (the module keeps no key for them).
    let a: Action[] = [{ type: 'output', port: 1 }];
    for (let i = 0; i < 8; i++) a = [{ type: 'clone', actions: a }];
    expect(run(udp(), a).out).toHaveLength(1);
    // Executions nested in executions (a port that hands the packet straight back): the sixth level drops it.
    const stats: ExecStats = { recursionDrops: 0 };
    const s = new Sink();
    const reached: number[] = [];
    s.output = (_port, f) => {
      reached.push(executionLevel());
      executeActions(s, f, { inPort: 1 }, [{ type: 'output', port: 1 }], stats);
    };
    executeActions(s, udp(), { inPort: 1 }, [{ type: 'output', port: 1 }], stats);
    expect([reached, stats.recursionDrops]).toEqual([[1, 2, 3, 4, 5], 1]);
    expect(unsupportedAction([{ type: 'clone', actions: [{ type: 'ct', zone: 1, helper: 'irc' }] }])).toBe('ct(helper=irc)');
    expect(unsupportedAction([{ type: 'ct', zone: 1, commit: true, timeout: 'tp1' }])).toBeUndefined();
    expect(unsupportedAction([{ type: 'ct', helper: 'ftp' }])).toBeUndefined();
    expect(unsupportedAction([{ type: 'ct', zone: 1, commit: true, nat: { src: true, ipMin: '10.0.0.1' } }])).toBeUndefined();
    expect(unsupportedAction([{ type: 'clone', actions: [{ type: 'ct', zone: 1, commit: true }, { type: 'ctClear' }] }])).toBeUndefined();
    expect(unsupportedAction([{ type: 'output', port: 1 }])).toBeUndefined();
  });
});

describe("the module's limits on action lists (actionLimitBreach)", () => {
  const nest = (depth: number, type: 'clone' | 'decTtl' | 'sample'): Action[] => {
    let a: Action[] = [{ type: 'output', port: 1 }];
    for (let i = 0; i < depth; i++) a = [type === 'sample' ? { type, probability: 1, actions: a } : { type, actions: a }];
    return a;
  };
  it('nesting: 16 levels pass, 17 overflow, whatever the container', () => {
    for (const t of ['clone', 'decTtl', 'sample'] as const) {
      expect(actionLimitBreach(nest(16, t))).toBeUndefined();
      expect(actionLimitBreach(nest(17, t))).toMatchObject({ errno: 'EOVERFLOW' });
    }
    const gt = nest(16, 'clone');
    expect(actionLimitBreach([{ type: 'checkPktLen', pktLen: 100, gt, le: [] }])).toMatchObject({ errno: 'EOVERFLOW' });
    expect(actionLimitBreach([{ type: 'checkPktLen', pktLen: 100, gt: nest(15, 'clone'), le: [] }])).toBeUndefined();
  });
  it('output ports below DP_MAX_PORTS (65535), nested ones too', () => {
    expect(actionLimitBreach([{ type: 'output', port: 65534 }])).toBeUndefined();
    expect(actionLimitBreach([{ type: 'output', port: 65535 }])).toMatchObject({ errno: 'EINVAL', why: expect.stringContaining('65535') });
    expect(actionLimitBreach([{ type: 'clone', actions: [{ type: 'output', port: 70000 }] }])).toMatchObject({ errno: 'EINVAL' });
  });
});
