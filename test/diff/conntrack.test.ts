// ct() on both datapaths: the same packets, one at a time, through a flow
// `ct(...),recirc(R)` with no flow for R, so each comes back as a MISS upcall
// whose key holds what conntrack said of it (ct_state, ct_zone, ct_mark,
// ct_labels, ct_tuple4/6). The kernel's keys are the expected ones; the
// fallback's must be equal, field for field. The kernel's ct_state is also
// checked against what each step should give, so that a scenario that goes
// wrong on both sides alike is caught too.
//
// Each scenario has addresses of its own: the kernel's connection table is
// the network namespace's and outlives the flows, and so does the fallback's.
// Elsewhere: NAT (conntrack-nat.test.ts), the FTP and TFTP
// helpers (conntrack-helper.test.ts), timeout policies (conntrack-timeout.test.ts), IP
// fragments (conntrack-frag.test.ts).
import { afterEach, describe, expect, it } from 'vitest';
import { encodeActions } from '../../src/ovs/action-codec.js';
import type { Action, CtAction } from '../../src/ovs/actions.js';
import { decodeKey, encodeKey } from '../../src/ovs/key-codec.js';
import type { FlowKey } from '../../src/ovs/keys.js';
import { buildFrame } from '../../src/packet/build.js';
import type { FrameSpec, L4Spec } from '../../src/packet/spec.js';
import { bytesOf, hex, useSides, waitFor, type Side } from './harness.js';

const NEW = 0x01, EST = 0x02, REL = 0x04, RPL = 0x08, INV = 0x10, TRK = 0x20;
const R = 40;
const TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_RST = 0x04, TCP_PSH = 0x08, TCP_ACK = 0x10;

const sides = useSides('dct');
afterEach(async () => {
  for (const s of sides) await s.dpif.flushFlows(s.dp);
});

/** Hosts of scenario n: A (the client) and B (the server). */
const hosts = (n: number, v6 = false) => (v6 ? { a: `fd00:90::${n}:1`, b: `fd00:90::${n}:2` } : { a: `10.90.${n}.1`, b: `10.90.${n}.2` });

interface Step {
  /** From A to B (false: from B to A). */
  fwd: boolean;
  l4: L4Spec;
  /** Bytes, a length, or bytes made from the scenario's number (an ICMP error's quote). */
  payload?: Uint8Array | number | ((n: number) => Uint8Array);
  /** The ct_state the kernel gives this packet. */
  state: number;
}

interface Scenario {
  name: string;
  v6?: boolean;
  /** The actions before recirc(R), in the first pass. */
  ct: Action[];
  steps: Step[];
  /** A flow for recirculated packets: ct fields it matches (mask = value bits unless given), and it outputs. */
  recircFlow?: { key: FlowKey; mask: FlowKey };
}

const ct = (a: Omit<CtAction, 'type'> = {}): CtAction => ({ type: 'ct', ...a });
const tcp = (fwd: boolean, flags: number, seq: number, ack: number, state: number, payload = 0): Step => ({
  fwd,
  l4: { kind: 'tcp', src: fwd ? 40000 : 80, dst: fwd ? 80 : 40000, flags, seq, ack, window: 29200 },
  payload,
  state,
});
const udp = (fwd: boolean, state: number): Step => ({ fwd, l4: { kind: 'udp', src: fwd ? 5000 : 53, dst: fwd ? 53 : 5000 }, payload: 20, state });

/** What an ICMP error quotes: the IPv4 header and first 8 bytes of a UDP datagram of scenario n (A to B if fromA). */
function quoted(n: number, fromA: boolean): Uint8Array {
  const h = hosts(n);
  const f = buildFrame({
    src: '02:90:00:00:00:01',
    dst: '02:90:00:00:00:02',
    l3: { kind: 'ipv4', src: fromA ? h.a : h.b, dst: fromA ? h.b : h.a, ttl: 64 },
    l4: { kind: 'udp', src: fromA ? 5000 : 53, dst: fromA ? 53 : 5000 },
    payload: 20,
  });
  return f.slice(14, 14 + 28);
}

const SCENARIOS: Scenario[] = [
  {
    name: 'UDP, committed: new, then established in both directions',
    ct: [ct({ commit: true, zone: 1 })],
    steps: [udp(true, TRK | NEW), udp(true, TRK | NEW), udp(false, TRK | EST | RPL), udp(true, TRK | EST)],
  },
  {
    name: 'UDP, look-up only: nothing is kept',
    ct: [ct({ zone: 1 })],
    steps: [udp(true, TRK | NEW), udp(false, TRK | NEW), udp(true, TRK | NEW)],
  },
  {
    name: 'TCP handshake, data and close, committed',
    ct: [ct({ commit: true })],
    steps: [
      tcp(true, TCP_SYN, 1000, 0, TRK | NEW),
      tcp(false, TCP_SYN | TCP_ACK, 5000, 1001, TRK | EST | RPL),
      tcp(true, TCP_ACK, 1001, 5001, TRK | EST),
      tcp(true, TCP_ACK | TCP_PSH, 1001, 5001, TRK | EST, 100),
      tcp(false, TCP_ACK, 5001, 1101, TRK | EST | RPL),
      tcp(true, TCP_FIN | TCP_ACK, 1101, 5001, TRK | EST),
      tcp(false, TCP_FIN | TCP_ACK, 5001, 1102, TRK | EST | RPL),
      tcp(true, TCP_ACK, 1102, 5002, TRK | EST),
    ],
  },
  {
    name: 'TCP: a reset ends the connection, a new SYN starts another',
    ct: [ct({ commit: true, zone: 3 })],
    steps: [
      tcp(true, TCP_SYN, 2000, 0, TRK | NEW),
      tcp(false, TCP_SYN | TCP_ACK, 7000, 2001, TRK | EST | RPL),
      tcp(true, TCP_RST, 2001, 0, TRK | EST),
      tcp(true, TCP_SYN, 3000, 0, TRK | NEW),
    ],
  },
  {
    name: 'TCP: SYN with FIN is invalid',
    ct: [ct({ commit: true })],
    steps: [tcp(true, TCP_SYN | TCP_FIN, 1000, 0, TRK | INV)],
  },
  {
    name: 'ICMP echo, committed; a reply without a request is invalid',
    ct: [ct({ commit: true, zone: 2 })],
    steps: [
      { fwd: false, l4: { kind: 'icmp', type: 0, rest: (0x4321 << 16) | 1 }, payload: 16, state: TRK | INV },
      { fwd: true, l4: { kind: 'icmp', type: 8, rest: (0x1234 << 16) | 1 }, payload: 16, state: TRK | NEW },
      { fwd: false, l4: { kind: 'icmp', type: 0, rest: (0x1234 << 16) | 1 }, payload: 16, state: TRK | EST | RPL },
      { fwd: true, l4: { kind: 'icmp', type: 8, rest: (0x1234 << 16) | 2 }, payload: 16, state: TRK | EST },
    ],
  },
  {
    name: 'ICMP port unreachable for a tracked UDP flow is related',
    ct: [ct({ commit: true })],
    steps: [
      udp(true, TRK | NEW),
      // B's host answers A's datagram with an error: the reply direction.
      { fwd: false, l4: { kind: 'icmp', type: 3, code: 3 }, payload: (n) => quoted(n, true), state: TRK | REL | RPL },
    ],
  },
  {
    name: 'zones keep connections apart',
    ct: [ct({ commit: true, zone: 7 }), ct({ zone: 8 })],
    steps: [udp(true, TRK | NEW), udp(false, TRK | NEW)],
  },
  {
    name: 'mark and labels, written with their masks on commit',
    ct: [ct({ commit: true, zone: 4, mark: { value: 0x1234, mask: 0xff00 }, labels: { value: (1n << 100n) | 0xabn, mask: (1n << 100n) | 0xffn } })],
    steps: [udp(true, TRK | NEW), udp(false, TRK | EST | RPL)],
  },
  {
    name: 'a timeout policy that does not exist: tracked with the default timeouts, as without one',
    ct: [ct({ commit: true, zone: 6, timeout: 'ovs_tp_nosuch' })],
    steps: [udp(true, TRK | NEW), udp(false, TRK | EST | RPL)],
  },
  {
    name: 'ct_clear after ct: the key is untracked again',
    ct: [ct({ commit: true }), { type: 'ctClear' }],
    steps: [udp(true, 0), udp(false, 0)],
  },
  {
    name: 'IPv6 UDP, committed',
    v6: true,
    ct: [ct({ commit: true, zone: 1 })],
    steps: [udp(true, TRK | NEW), udp(false, TRK | EST | RPL), udp(true, TRK | EST)],
  },
  {
    name: 'IPv6 ICMPv6 echo, committed',
    v6: true,
    ct: [ct({ commit: true })],
    steps: [
      { fwd: true, l4: { kind: 'icmpv6', type: 128, rest: (0x99 << 16) | 1 }, payload: 8, state: TRK | NEW },
      { fwd: false, l4: { kind: 'icmpv6', type: 129, rest: (0x99 << 16) | 1 }, payload: 8, state: TRK | EST | RPL },
    ],
  },
  {
    name: 'a recirculated flow matches on ct_state: established packets go out, new ones miss',
    ct: [ct({ commit: true, zone: 9 })],
    recircFlow: { key: { ctState: TRK | EST }, mask: { ctState: TRK | EST | NEW } },
    steps: [udp(true, TRK | NEW), udp(false, TRK | EST | RPL), udp(true, TRK | EST)],
  },
];

const ZERO_MAC = '00:00:00:00:00:00';

async function install(s: Side, c: Scenario): Promise<void> {
  const ipMaskV4 = { src: '0.0.0.0', dst: '0.0.0.0', proto: 0, tos: 0, ttl: 0, frag: 0xff };
  const ipMaskV6 = { src: '::', dst: '::', label: 0, proto: 0, tclass: 0, hlimit: 0, frag: 0xff };
  const l3 = c.v6 ? { ethertype: 0x86dd, ipv6: { src: '::', dst: '::', label: 0, proto: 0, tclass: 0, hlimit: 0, frag: 0 } } : { ethertype: 0x0800, ipv4: { src: '0.0.0.0', dst: '0.0.0.0', proto: 0, tos: 0, ttl: 0, frag: 0 } };
  const l3Mask = c.v6 ? { ethertype: 0xffff, ipv6: ipMaskV6 } : { ethertype: 0xffff, ipv4: ipMaskV4 };
  const key: FlowKey = { recircId: 0, inPort: s.inPort, ethernet: { src: ZERO_MAC, dst: ZERO_MAC }, ...l3 };
  const mask: FlowKey = { recircId: 0xffffffff, inPort: 0xffffffff, ethernet: { src: ZERO_MAC, dst: ZERO_MAC }, ...l3Mask };
  const actions: Action[] = [...c.ct, { type: 'recirc', id: R }];
  await s.dpif.putFlow(s.dp, { key: bytesOf((w) => encodeKey(w, key)), mask: bytesOf((w) => encodeKey(w, mask)), actions: bytesOf((w) => encodeActions(w, actions)) });
  if (c.recircFlow) {
    const rk: FlowKey = { recircId: R, inPort: s.inPort, ...c.recircFlow.key, ethernet: { src: ZERO_MAC, dst: ZERO_MAC }, ...l3 };
    const rm: FlowKey = { recircId: 0xffffffff, inPort: 0xffffffff, ...c.recircFlow.mask, ethernet: { src: ZERO_MAC, dst: ZERO_MAC }, ...l3Mask };
    await s.dpif.putFlow(s.dp, { key: bytesOf((w) => encodeKey(w, rk)), mask: bytesOf((w) => encodeKey(w, rm)), actions: bytesOf((w) => encodeActions(w, [{ type: 'output', port: s.outPort }])) });
  }
}

function frameOf(n: number, c: Scenario, step: Step): Uint8Array {
  const h = hosts(n, c.v6);
  const [src, dst] = step.fwd ? [h.a, h.b] : [h.b, h.a];
  const payload = typeof step.payload === 'function' ? step.payload(n) : step.payload;
  const spec: FrameSpec = {
    src: step.fwd ? '02:90:00:00:00:01' : '02:90:00:00:00:02',
    dst: step.fwd ? '02:90:00:00:00:02' : '02:90:00:00:00:01',
    l3: c.v6 ? { kind: 'ipv6', src, dst, hopLimit: 64 } : { kind: 'ipv4', src, dst, ttl: 64 },
    l4: step.l4,
    payload,
  };
  return buildFrame(spec);
}

interface Seen {
  /** Each step's MISS key after recirculation, or "out" when the recirculated flow sent it on. */
  steps: string[];
  states: number[];
}

async function run(s: Side, n: number, c: Scenario): Promise<Seen> {
  await install(s, c);
  const seen: Seen = { steps: [], states: [] };
  for (const step of c.steps) {
    const f = frameOf(n, c, step);
    const fx = hex(f);
    s.upcalls.length = 0;
    s.output.clear();
    await s.input.send([f]);
    const mine = () => s.upcalls.filter((u) => u.kind === 'miss' && hex(u.packet) === fx);
    const sent = () => s.output.poll().some((o) => hex(o) === fx);
    const came = await waitFor(() => mine().length > 0 || sent(), 3000);
    if (!came) {
      seen.steps.push('nothing');
      seen.states.push(-1);
      continue;
    }
    if (sent()) {
      seen.steps.push('out');
      seen.states.push(-2);
      continue;
    }
    const k = decodeKey(mine()[0].key);
    if (k.inPort === s.inPort) k.inPort = 1;
    seen.steps.push(JSON.stringify(k, (_, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v)));
    seen.states.push(k.ctState ?? 0);
  }
  return seen;
}

describe('conntrack, kernel vs fallback', () => {
  it.each(SCENARIOS.map((c, i) => [c.name, c, i] as const))('%s', async (_, c, i) => {
    const n = 10 + i;
    const k = await run(sides[0], n, c);
    const u = await run(sides[1], n, c);
    const expected = c.steps.map((st) => (c.recircFlow && (st.state & (TRK | EST | NEW)) === (TRK | EST) ? -2 : st.state));
    expect(k.states, 'the kernel: ct_state per step').toEqual(expected);
    expect(u.steps).toEqual(k.steps);
  }, 120_000);
});
