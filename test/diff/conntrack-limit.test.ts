// ovs_ct_limit on both datapaths: the same zone limits set through the same
// family, then new UDP connections committed by ct(commit,zone=Z) one at a
// time. The frames that get through (the ones past the limit are dropped)
// and the limits and counts GET reports must be the kernel's. The limits are
// the network namespace's in the kernel (the tracker's, shared by every
// datapath, in the fallback), so the test puts them back as it found them.
import { afterAll, describe, expect, it } from 'vitest';
import { buildFrame } from '../../src/packet/build.js';
import { putIpv4Flow, useSides, type Side } from './harness.js';

const sides = useSides('dcl');
const ZONES = [61, 62];
afterAll(async () => {
  for (const s of sides) {
    await s.dpif.deleteCtLimits([-1, ...ZONES]).catch(() => undefined);
  }
});

/** Every IPv4 frame of the in port through ct(commit,zone) and out. */
async function ctFlow(s: Side, zone: number): Promise<void> {
  await s.dpif.flushFlows(s.dp);
  await putIpv4Flow(s, s.inPort, [{ type: 'ct', commit: true, zone }, { type: 'output', port: s.outPort }]);
}

/** A new UDP connection per source port; each side gets its own addresses (the kernel's table outlives the test). */
const frame = (s: Side, port: number) =>
  buildFrame({ src: '02:93:00:00:00:01', dst: '02:93:00:00:00:02', l3: { kind: 'ipv4', src: s.label === 'kernel' ? '10.93.1.1' : '10.93.2.1', dst: '10.93.0.2' }, l4: { kind: 'udp', src: port, dst: 53 }, payload: 16 });

/** Sends the frames one at a time; which of them (by source port) came out. */
async function through(s: Side, ports: number[]): Promise<number[]> {
  s.output.clear();
  for (const p of ports) {
    await s.input.send([frame(s, p)]);
    await new Promise((r) => setTimeout(r, 150));
  }
  await new Promise((r) => setTimeout(r, 500));
  const out = s.output.poll().filter((f) => f.length > 36 && f[23] === 17 && f[36] === 0 && f[37] === 53);
  return out.map((f) => (f[34] << 8) | f[35]).filter((p) => ports.includes(p));
}

describe('zone limits, kernel vs fallback', () => {
  it('a zone limit lets that many new connections through and drops the rest; GET counts them', async () => {
    const got: Record<string, unknown> = {};
    for (const s of sides) {
      await s.dpif.setCtLimits({ zones: [{ zoneId: 61, limit: 3 }] });
      await ctFlow(s, 61);
      const passed = await through(s, [1001, 1002, 1003, 1004, 1005]);
      // A connection already committed still passes.
      const again = await through(s, [1002]);
      got[s.label] = { passed, again, limits: await s.dpif.getCtLimits([61]) };
    }
    expect(got.kernel).toEqual({ passed: [1001, 1002, 1003], again: [1002], limits: { defaultLimit: 0, zones: [{ zoneId: 61, limit: 3, count: 3 }] } });
    expect(got.fallback).toEqual(got.kernel);
  }, 60_000);

  it('the default limit holds a zone without its own; the full list and DEL read alike', async () => {
    const got: Record<string, unknown> = {};
    for (const s of sides) {
      await s.dpif.setCtLimits({ defaultLimit: 2 });
      await ctFlow(s, 62);
      const passed = await through(s, [2001, 2002, 2003]);
      const all = await s.dpif.getCtLimits();
      const some = await s.dpif.getCtLimits([62, 61]);
      await s.dpif.deleteCtLimits([-1, 61]);
      const after = await s.dpif.getCtLimits();
      got[s.label] = { passed, all, some, after };
    }
    expect(got.kernel).toMatchObject({
      passed: [2001, 2002],
      all: { defaultLimit: 2, zones: [{ zoneId: 61, limit: 3, count: 3 }] },
      some: { defaultLimit: 2, zones: [{ zoneId: 62, limit: 2, count: 2 }, { zoneId: 61, limit: 3, count: 3 }] },
      after: { defaultLimit: 0, zones: [] },
    });
    expect(got.fallback).toEqual(got.kernel);
  }, 60_000);
});

