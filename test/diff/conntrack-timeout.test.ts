// Conntrack timeout policies, kernel vs fallback: the same policies made
// over nfnetlink_cttimeout (the kernel's, from the nfnetlink_cttimeout
// module; the daemon's, on its socket), the same flows with
// ct(commit,timeout=NAME), the same packets. Then:
// - the policies read back alike (every state's seconds, the use count: one
//   for the policy, two per flow whose ct() took it);
// - a policy binds only to a flow whose masked IP protocol is the policy's
//   (a megaflow that wildcards the protocol, or names another, keeps the
//   defaults), and the connections' timeouts in the tables agree;
// - a policy replaced in place applies to its connections at their next
//   packet; one in use can still be deleted (6.1 and 6.12 allow it): its
//   connections go back to the defaults at their next packet, while its
//   flow still gives it to the connections it makes; the refusals (EEXIST,
//   EBUSY without NLM_F_REPLACE, EINVAL for another protocol, ENOENT) are
//   the kernel's.
import { afterAll, describe, expect, it } from 'vitest';
import { dumpConntrack, openConntrack } from '../../src/conntrack/client.js';
import { AF_INET } from '../../src/conntrack/constants.js';
import type { CtEntry } from '../../src/conntrack/entry.js';
import { deleteTimeoutPolicy, dumpTimeoutPolicies, getTimeoutPolicy, putTimeoutPolicy, type TimeoutPolicy } from '../../src/conntrack/timeout.js';
import type { Connection } from '../../src/netlink/connection.js';
import { NetlinkError } from '../../src/netlink/errors.js';
import { encodeActions } from '../../src/ovs/action-codec.js';
import type { Action } from '../../src/ovs/actions.js';
import { encodeKey } from '../../src/ovs/key-codec.js';
import type { FlowKey } from '../../src/ovs/keys.js';
import { buildFrame } from '../../src/packet/build.js';
import type { L4Spec } from '../../src/packet/spec.js';
import { bytesOf, useSides, type Side } from './harness.js';

const sides = useSides('dct', 'nfnetlink_cttimeout');
let kernelCt: Connection | undefined;

const A1 = '10.96.0.1';
const A2 = '10.96.0.2';
const A3 = '10.96.0.3';
const B = '10.96.0.9';
const ZONE = 7;
const TP = { udp: 'ovsnl_tp_udp', tcp: 'ovsnl_tp_tcp', icmp: 'ovsnl_tp_icmp' };
const POLICIES: TimeoutPolicy[] = [
  { name: TP.udp, l3proto: AF_INET, l4proto: 17, timeouts: { unreplied: 17, replied: 71 } },
  { name: TP.tcp, l3proto: AF_INET, l4proto: 6, timeouts: { synSent: 44, synRecv: 55, established: 333 } },
  { name: TP.icmp, l3proto: AF_INET, l4proto: 1, timeouts: { timeout: 13 } },
];

async function tracker(s: Side): Promise<Connection> {
  if (s.label === 'fallback') return s.dpif.conn;
  kernelCt ??= openConntrack();
  return kernelCt;
}

afterAll(async () => {
  for (const s of sides) {
    await s.dpif.flushFlows(s.dp).catch(() => undefined);
    // The kernel's policies are the namespace's: the unused ones (all, now) go.
    await deleteTimeoutPolicy(await tracker(s)).catch(() => undefined);
  }
  kernelCt?.close();
});

const code = (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: unknown) => (e instanceof NetlinkError ? e.code : String(e)));

/** A megaflow on in_port and IPv4 source, with the IP protocol exact (proto > 0) or wildcarded (proto 0). */
async function flow(s: Side, inPort: number, src: string, proto: number, actions: Action[]): Promise<void> {
  const key: FlowKey = { inPort, ethernet: { src: '00:00:00:00:00:00', dst: '00:00:00:00:00:00' }, ethertype: 0x0800, ipv4: { src, dst: '0.0.0.0', proto, tos: 0, ttl: 0, frag: 0 } };
  const mask: FlowKey = { inPort: 0xffffffff, ethernet: { src: '00:00:00:00:00:00', dst: '00:00:00:00:00:00' }, ethertype: 0xffff, ipv4: { src: '255.255.255.255', dst: '0.0.0.0', proto: proto ? 0xff : 0, tos: 0, ttl: 0, frag: 0xff } };
  // The module wants the protocol's own attribute in a key that names it (wildcarded here).
  const l4: FlowKey = proto === 17 ? { udp: { src: 0, dst: 0 } } : proto === 6 ? { tcp: { src: 0, dst: 0 }, tcpFlags: 0 } : proto === 1 ? { icmp: { type: 0, code: 0 } } : {};
  await s.dpif.putFlow(s.dp, { key: bytesOf((w) => encodeKey(w, { ...key, ...l4 })), mask: bytesOf((w) => encodeKey(w, { ...mask, ...l4 })), actions: bytesOf((w) => encodeActions(w, actions)) });
}

const ct = (s: Side, timeout?: string): Action[] => [{ type: 'ct', commit: true, zone: ZONE, ...(timeout ? { timeout } : {}) }, { type: 'output', port: s.outPort }];

const frame = (src: string, dst: string, l4: L4Spec, payload = 8) =>
  buildFrame({ src: '02:96:00:00:00:01', dst: '02:96:00:00:00:02', l3: { kind: 'ipv4', src, dst }, l4, payload });
const SYN = 0x02;
const ACK = 0x10;
const tcp = (fwd: boolean, flags: number, seq: number, ack: number) =>
  frame(fwd ? A1 : B, fwd ? B : A1, { kind: 'tcp', src: fwd ? 42000 : 80, dst: fwd ? 80 : 42000, flags, seq, ack, window: 29200 }, 0);

async function send(s: Side, list: [boolean, Uint8Array][]): Promise<void> {
  for (const [fwd, f] of list) {
    await (fwd ? s.input : s.output).send([f]);
    await new Promise((r) => setTimeout(r, 150));
  }
  await new Promise((r) => setTimeout(r, 400));
}

/** This test's connections: "proto source" -> seconds left. */
async function timeouts(s: Side): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const e of (await dumpConntrack(await tracker(s), { zone: ZONE })) as CtEntry[]) {
    if (!e.orig.src.startsWith('10.96.0.')) continue;
    out[`${e.orig.proto} ${e.orig.src}`] = e.timeout ?? -1;
  }
  return out;
}

describe('conntrack timeout policies, kernel vs fallback', () => {
  it('are made, bound to the flows of their protocol, and time the connections alike', async () => {
    const got: Record<string, { policies: TimeoutPolicy[]; bound: TimeoutPolicy[]; table: Record<string, number>; replaced: Record<string, number> }> = {};
    for (const s of sides) {
      const conn = await tracker(s);
      await s.dpif.flushFlows(s.dp);
      await deleteTimeoutPolicy(conn);
      for (const p of POLICIES) await putTimeoutPolicy(conn, p);
      const policies = (await dumpTimeoutPolicies(conn)).filter((p) => p.name.startsWith('ovsnl_tp_'));
      await flow(s, s.inPort, A1, 17, ct(s, TP.udp));
      await flow(s, s.inPort, A1, 6, ct(s, TP.tcp));
      await flow(s, s.inPort, A1, 1, ct(s, TP.icmp));
      // The protocol wildcarded: the generic tracker's, so the UDP policy is not taken.
      await flow(s, s.inPort, A2, 0, ct(s, TP.udp));
      // A UDP flow naming the TCP policy: not taken either.
      await flow(s, s.inPort, A3, 17, ct(s, TP.tcp));
      await flow(s, s.outPort, B, 0, [{ type: 'ct', zone: ZONE }, { type: 'output', port: s.inPort }]);
      const bound = await Promise.all(Object.values(TP).map((n) => getTimeoutPolicy(conn, n)));
      await send(s, [
        [true, frame(A1, B, { kind: 'udp', src: 6001, dst: 53 })],
        [true, frame(A2, B, { kind: 'udp', src: 6002, dst: 53 })],
        [true, frame(A3, B, { kind: 'udp', src: 6003, dst: 53 })],
        [true, tcp(true, SYN, 1000, 0)],
        [false, tcp(false, SYN | ACK, 5000, 1001)],
        [true, tcp(true, ACK, 1001, 5001)],
        [true, frame(A1, B, { kind: 'icmp', type: 8, code: 0, rest: 0x43210001 })],
      ]);
      const table = await timeouts(s);
      // Changed in place: the UDP connection takes it at its next packet.
      await putTimeoutPolicy(conn, { ...POLICIES[0], timeouts: { unreplied: 23 } }, { replace: true });
      await send(s, [[true, frame(A1, B, { kind: 'udp', src: 6001, dst: 53 })]]);
      got[s.label] = { policies, bound, table, replaced: await timeouts(s) };
    }
    const k = got.kernel;
    const f = got.fallback;
    // The kernel's answers, stated: every state reported, the defaults where the policy said nothing.
    expect(k.policies.map((p) => [p.name, p.use])).toEqual([
      [TP.udp, 1],
      [TP.tcp, 1],
      [TP.icmp, 1],
    ]);
    expect(k.policies[0].timeouts).toEqual({ unreplied: 17, replied: 71 });
    expect(k.policies[1].timeouts).toEqual({ synSent: 44, synRecv: 55, established: 333, finWait: 120, closeWait: 60, lastAck: 30, timeWait: 120, close: 10, synSent2: 120, retrans: 300, unacknowledged: 300 });
    expect(k.policies[2].timeouts).toEqual({ timeout: 13 });
    expect(f.policies).toEqual(k.policies);
    // One flow each took its policy; the wildcarded and the mismatched ones did not.
    expect(k.bound.map((p) => p.use)).toEqual([3, 3, 3]);
    expect(f.bound).toEqual(k.bound);
    const near = (x: Record<string, number>, want: Record<string, number>) => {
      expect(Object.keys(x).sort()).toEqual(Object.keys(want).sort());
      for (const [c, t] of Object.entries(want)) expect([c, x[c] <= t && x[c] >= t - 4]).toEqual([c, true]);
    };
    const expected = { [`17 ${A1}`]: 17, [`17 ${A2}`]: 30, [`17 ${A3}`]: 30, [`6 ${A1}`]: 333, [`1 ${A1}`]: 13 };
    near(k.table, expected);
    near(f.table, expected);
    near(k.replaced, { ...expected, [`17 ${A1}`]: 23 });
    near(f.replaced, { ...expected, [`17 ${A1}`]: 23 });
  }, 90_000);

  it('refuse and delete as the kernel does; a deleted policy stays with its flow, not its connections', async () => {
    const got: Record<string, unknown> = {};
    for (const s of sides) {
      const conn = await tracker(s);
      const r: Record<string, string | number> = {};
      r.exclusive = await code(putTimeoutPolicy(conn, POLICIES[0], { exclusive: true }));
      r.again = await code(putTimeoutPolicy(conn, POLICIES[0]));
      r.otherProtocol = await code(putTimeoutPolicy(conn, { ...POLICIES[0], l4proto: 6, timeouts: {} }, { replace: true }));
      r.noSuch = await code(deleteTimeoutPolicy(conn, 'ovsnl_tp_nosuch'));
      r.getNoSuch = await code(getTimeoutPolicy(conn, 'ovsnl_tp_nosuch'));
      r.deleteInUse = await code(deleteTimeoutPolicy(conn, TP.tcp));
      r.gone = await code(getTimeoutPolicy(conn, TP.tcp));
      // The established connection's next packet: the default (5 days); a new one from the flow: the policy's SYN_SENT.
      await send(s, [
        [true, tcp(true, ACK, 1001, 5001)],
        [true, frame(A1, B, { kind: 'tcp', src: 42001, dst: 80, flags: SYN, seq: 7000, ack: 0, window: 29200 }, 0)],
      ]);
      const t = await dumpConntrack(conn, { zone: ZONE });
      const port = (p: number) => t.find((e) => e.orig.src === A1 && e.orig.proto === 6 && e.orig.srcPort === p)?.timeout ?? -1;
      r.established = port(42000);
      r.newSyn = port(42001);
      await deleteTimeoutPolicy(conn);
      r.left = (await dumpTimeoutPolicies(conn)).filter((p) => p.name.startsWith('ovsnl_tp_')).length;
      got[s.label] = r;
    }
    const k = got.kernel as Record<string, number | string>;
    expect(k).toMatchObject({ exclusive: 'EEXIST', again: 'EBUSY', otherProtocol: 'EINVAL', noSuch: 'ENOENT', getNoSuch: 'ENOENT', deleteInUse: 'ok', gone: 'ENOENT', left: 0 });
    expect(k.established as number).toBeGreaterThan(5 * 24 * 3600 - 10);
    expect(k.newSyn as number).toBeLessThanOrEqual(44);
    expect(k.newSyn as number).toBeGreaterThan(38);
    const f = got.fallback as Record<string, number | string>;
    expect({ ...f, established: 0, newSyn: 0 }).toEqual({ ...k, established: 0, newSyn: 0 });
    expect(Math.abs((f.established as number) - (k.established as number))).toBeLessThanOrEqual(4);
    expect(Math.abs((f.newSyn as number) - (k.newSyn as number))).toBeLessThanOrEqual(4);
  }, 60_000);
});
