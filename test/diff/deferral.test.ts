// Deep nesting, kernel vs fallback: recirculations and nested lists run on
// the spot up to the module's deferral threshold and wait for the outermost
// execution past it (clone_execute, process_deferred_actions). Each flow or
// nested list marks the frames it outputs with a source MAC of its own, so
// the order in which they leave the out port shows where each ran. The
// kernel's order is also stated, so that a scenario going wrong on both
// sides alike is caught.
import { describe, expect, it } from 'vitest';
import { encodeActions } from '../../src/ovs/action-codec.js';
import type { Action } from '../../src/ovs/actions.js';
import { encodeKey } from '../../src/ovs/key-codec.js';
import type { FlowKey } from '../../src/ovs/keys.js';
import { buildFrame } from '../../src/packet/build.js';
import { bytesOf, hex, useSides, waitFor, type Side } from './harness.js';

const sides = useSides('ddf');
const ZERO = '00:00:00:00:00:00';
const mark = (n: number): Action => ({ type: 'set', key: { ethernet: { src: `02:df:00:00:00:${n.toString(16).padStart(2, '0')}`, dst: '02:df:00:00:ff:ff' } } });
const frame = (port: number) => buildFrame({ src: '02:df:00:00:aa:aa', dst: '02:df:00:00:ff:ff', l3: { kind: 'ipv4', src: '10.96.0.1', dst: '10.96.0.2' }, l4: { kind: 'udp', src: port, dst: 9 }, payload: 10 });

async function put(s: Side, recircId: number, actions: Action[]): Promise<void> {
  const key: FlowKey = { recircId, inPort: s.inPort, ethernet: { src: ZERO, dst: ZERO } };
  const mask: FlowKey = { recircId: 0xffffffff, inPort: 0xffffffff, ethernet: { src: ZERO, dst: ZERO } };
  await s.dpif.putFlow(s.dp, { key: bytesOf((w) => encodeKey(w, key)), mask: bytesOf((w) => encodeKey(w, mask)), actions: bytesOf((w) => encodeActions(w, actions)) });
}

/** The marks (last MAC byte) of the frames out of the out port, in order. */
async function marks(s: Side, port: number, expected: number): Promise<number[]> {
  s.output.clear();
  await s.input.send([frame(port)]);
  await waitFor(() => s.output.poll().length >= expected, 5000);
  await new Promise((r) => setTimeout(r, 300));
  return s.output.poll().filter((f) => hex(f.subarray(0, 6)) === '02df0000ffff' && f[6] === 0x02 && f[7] === 0xdf).map((f) => f[11]);
}

describe('recirculation and nested lists past the deferral threshold, kernel vs fallback', () => {
  it('a chain of recirculations: levels 1 to 3 at once, the rest after the outermost list', async () => {
    const got: Record<string, number[]> = {};
    for (const s of sides) {
      await s.dpif.flushFlows(s.dp);
      const out: Action = { type: 'output', port: s.outPort };
      await put(s, 0, [{ type: 'recirc', id: 21 }, mark(0), out]);
      for (const n of [21, 22, 23, 24]) await put(s, n, [{ type: 'recirc', id: n + 1 }, mark(n - 20), out]);
      await put(s, 25, [mark(5), out]);
      got[s.label] = await marks(s, 7001, 6);
    }
    expect(got.kernel).toEqual([3, 2, 1, 0, 5, 4]);
    expect(got.fallback).toEqual(got.kernel);
  }, 60_000);

  it('nested clones that change the packet: three deep at once, the fourth after the outermost list', async () => {
    const got: Record<string, number[]> = {};
    for (const s of sides) {
      await s.dpif.flushFlows(s.dp);
      const out: Action = { type: 'output', port: s.outPort };
      const clone = (n: number, inner: Action[]): Action => ({ type: 'clone', actions: [mark(n), ...inner] });
      await put(s, 0, [clone(0x10, [clone(0x11, [clone(0x12, [clone(0x13, [out]), out]), out]), out]), mark(0x1f), out]);
      got[s.label] = await marks(s, 7002, 5);
    }
    expect(got.kernel).toEqual([0x12, 0x11, 0x10, 0x1f, 0x13]);
    expect(got.fallback).toEqual(got.kernel);
  }, 60_000);
});
