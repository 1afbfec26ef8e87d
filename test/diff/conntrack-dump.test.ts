// The connection table itself, kernel vs fallback: the same packets through
// ct(commit) on both datapaths, then the table read over ctnetlink, the
// kernel's from netfilter, the fallback's from the daemon (which answers
// ctnetlink for its tracker on its socket). Entries must agree in tuples,
// zone, status bits, mark, TCP state and timeout (within a few seconds:
// the two clocks started apart); ids and use counts are each side's own.
// A flush of one zone, then of everything, must leave the same tables.
import { afterAll, describe, expect, it } from 'vitest';
import { dumpConntrack, flushConntrack, openConntrack } from '../../src/conntrack/client.js';
import type { CtEntry } from '../../src/conntrack/entry.js';
import type { Connection } from '../../src/netlink/connection.js';
import { buildFrame } from '../../src/packet/build.js';
import type { L4Spec } from '../../src/packet/spec.js';
import { putIpv4Flow, useSides, type Side } from './harness.js';

const sides = useSides('dcd');
let kernelCt: Connection | undefined;
afterAll(() => kernelCt?.close());

const A = '10.95.0.1';
const B = '10.95.0.2';

const frame = (fwd: boolean, l4: L4Spec, payload = 0) =>
  buildFrame({ src: fwd ? '02:95:00:00:00:01' : '02:95:00:00:00:02', dst: fwd ? '02:95:00:00:00:02' : '02:95:00:00:00:01', l3: { kind: 'ipv4', src: fwd ? A : B, dst: fwd ? B : A }, l4, payload });
const SYN = 0x02, ACK = 0x10;
const tcp = (fwd: boolean, flags: number, seq: number, ack: number) => frame(fwd, { kind: 'tcp', src: fwd ? 41000 : 80, dst: fwd ? 80 : 41000, flags, seq, ack, window: 29200 });
/** In order: [from A (true) or B, frame]. */
const TRAFFIC: [boolean, Uint8Array][] = [
  [true, frame(true, { kind: 'udp', src: 5001, dst: 53 }, 20)],
  [false, frame(false, { kind: 'udp', src: 53, dst: 5001 }, 20)],
  [true, frame(true, { kind: 'udp', src: 5002, dst: 53 }, 20)],
  [true, tcp(true, SYN, 1000, 0)],
  [false, tcp(false, SYN | ACK, 5000, 1001)],
  [true, tcp(true, ACK, 1001, 5001)],
  [true, frame(true, { kind: 'icmp', type: 8, code: 0, rest: 0x12340001 }, 8)],
  [false, frame(false, { kind: 'icmp', type: 0, code: 0, rest: 0x12340001 }, 8)],
];

async function tracker(s: Side): Promise<Connection> {
  if (s.label === 'fallback') return s.dpif.conn;
  kernelCt ??= openConntrack();
  return kernelCt;
}

/** The scenario's entries, without what each side numbers for itself, in a stable order. */
async function table(s: Side): Promise<Record<string, unknown>[]> {
  const all = await dumpConntrack(await tracker(s));
  const ours = all.filter((e: CtEntry) => e.orig.src === A || e.orig.src === B);
  return ours
    .map((e) => ({ proto: e.orig.proto, zone: e.zone, orig: e.orig, reply: e.reply, status: e.status, mark: e.mark ?? 0, tcpState: e.tcp?.state, timeout: e.timeout }))
    .sort((x, y) => x.zone - y.zone || x.proto - y.proto || (x.orig.srcPort ?? 0) - (y.orig.srcPort ?? 0));
}

describe('the conntrack table over ctnetlink, kernel vs fallback', () => {
  it('holds the same entries after the same traffic, and flushes alike', async () => {
    const got: Record<string, unknown> = {};
    for (const s of sides) {
      await s.dpif.flushFlows(s.dp);
      await putIpv4Flow(s, s.inPort, [{ type: 'ct', commit: true, zone: 4, mark: { value: 0x2a, mask: 0xff } }, { type: 'output', port: s.outPort }]);
      await putIpv4Flow(s, s.outPort, [{ type: 'ct', zone: 4 }, { type: 'output', port: s.inPort }]);
      for (const [fromA, f] of TRAFFIC) {
        await (fromA ? s.input : s.output).send([f]);
        await new Promise((r) => setTimeout(r, 150));
      }
      await new Promise((r) => setTimeout(r, 500));
      const before = await table(s);
      await flushConntrack(await tracker(s), { zone: 4 });
      const afterZone = await table(s);
      got[s.label] = { before, afterZone };
    }
    const k = got.kernel as { before: Record<string, unknown>[] };
    const f = got.fallback as { before: Record<string, unknown>[] };
    // The kernel's table: UDP answered and not, TCP established, ICMP answered, all in zone 4 with the mark.
    expect(k.before.map((e) => [e.proto, e.zone, e.mark])).toEqual([
      [1, 4, 0x2a],
      [6, 4, 0x2a],
      [17, 4, 0x2a],
      [17, 4, 0x2a],
    ]);
    const strip = (rows: Record<string, unknown>[]) => rows.map(({ timeout, ...rest }) => rest);
    expect(strip(f.before)).toEqual(strip(k.before));
    // Timeouts: the same protocol timers, read a moment apart.
    f.before.forEach((e, i) => expect(Math.abs((e.timeout as number) - (k.before[i].timeout as number))).toBeLessThanOrEqual(5));
    expect(got.fallback).toMatchObject({ afterZone: [] });
    expect(got.kernel).toMatchObject({ afterZone: [] });
  }, 60_000);
});
