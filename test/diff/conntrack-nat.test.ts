// ct(nat) on both datapaths: the same packets, one at a time, through a flow
// `ct(commit,nat(...)),recirc(R)` with no flow for R, so each comes back as a
// MISS upcall: its key holds what NAT made of it (addresses, ports, ct_state
// with the snat and dnat bits) and its packet the rewritten bytes, checksums
// included. The kernel's upcalls are the expected ones; the fallback's must
// be equal, byte for byte. The kernel's ct_state is also checked against
// what each step should give, so that a scenario that goes wrong on both
// sides alike is caught too. Then the connection tables, read over
// ctnetlink, must hold the same translated reply tuples and NAT status bits.
//
// Each scenario has addresses of its own (the tables outlive the flows).
// Not compared here: a clash on the translated tuple, where netfilter picks
// the new port at random (test/userspace/conntrack-nat.test.ts checks the
// fallback's pick is in range and free).
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { dumpConntrack, openConntrack } from '../../src/conntrack/client.js';
import type { CtEntry } from '../../src/conntrack/entry.js';
import type { Connection } from '../../src/netlink/connection.js';
import { encodeActions } from '../../src/ovs/action-codec.js';
import type { Action, CtNat } from '../../src/ovs/actions.js';
import { decodeKey, encodeKey } from '../../src/ovs/key-codec.js';
import type { FlowKey } from '../../src/ovs/keys.js';
import { buildFrame } from '../../src/packet/build.js';
import type { L4Spec } from '../../src/packet/spec.js';
import { bytesOf, hex, useSides, waitFor, type Side } from './harness.js';

const NEW = 0x01, EST = 0x02, REL = 0x04, RPL = 0x08, TRK = 0x20, SNAT = 0x40, DNAT = 0x80;
const R = 41;
const SYN = 0x02, ACK = 0x10;

const sides = useSides('dnat');
let kernelCt: Connection | undefined;
afterAll(() => kernelCt?.close());
afterEach(async () => {
  for (const s of sides) await s.dpif.flushFlows(s.dp);
});

const v4 = (n: number, host: number): string => `10.191.${n}.${host}`;
const v6 = (n: number, host: number): string => `fd00:91::${n}:${host.toString(16)}`;

interface Step {
  src: string;
  dst: string;
  l4: L4Spec;
  payload?: Uint8Array | number;
  /** The ct_state the kernel gives this packet. */
  state: number;
}

interface Scenario {
  name: string;
  zone: number;
  /** The nat of the committing ct() (the flow's family is the steps'). */
  nat: (n: number) => CtNat;
  /** Without commit: the ct() only looks up (and NATs confirmed connections). */
  lookup?: boolean;
  steps: (n: number) => Step[];
}

const udp = (src: string, sport: number, dst: string, dport: number, state: number): Step => ({ src, dst, l4: { kind: 'udp', src: sport, dst: dport }, payload: 20, state });
const tcp = (src: string, sport: number, dst: string, dport: number, flags: number, seq: number, ack: number, state: number): Step => ({
  src,
  dst,
  l4: { kind: 'tcp', src: sport, dst: dport, flags, seq, ack, window: 29200 },
  payload: 0,
  state,
});

/** The start of a UDP datagram as an ICMP error quotes it: its IP header and 8 bytes (IPv4), or all of it (IPv6). */
const quotedUdp = (src: string, sport: number, dst: string, dport: number): Uint8Array => {
  const v6q = src.includes(':');
  const f = buildFrame({ l3: v6q ? { kind: 'ipv6', src, dst, hopLimit: 64 } : { kind: 'ipv4', src, dst, ttl: 64 }, l4: { kind: 'udp', src: sport, dst: dport }, payload: 20 });
  return f.slice(14, v6q ? f.length : 14 + 28);
};

const SCENARIOS: Scenario[] = [
  {
    name: 'UDP, source NAT to one address: the port stays, the reply goes back to the client',
    zone: 1,
    nat: (n) => ({ src: true, ipMin: v4(n, 100) }),
    steps: (n) => [
      udp(v4(n, 1), 5000, v4(n, 2), 53, TRK | NEW | SNAT),
      udp(v4(n, 2), 53, v4(n, 100), 5000, TRK | EST | RPL | DNAT),
      udp(v4(n, 1), 5000, v4(n, 2), 53, TRK | EST | SNAT),
    ],
  },
  {
    name: 'UDP, source NAT to an address and a port',
    zone: 2,
    nat: (n) => ({ src: true, ipMin: v4(n, 100), protoMin: 2000 }),
    steps: (n) => [udp(v4(n, 1), 5000, v4(n, 2), 53, TRK | NEW | SNAT), udp(v4(n, 2), 53, v4(n, 100), 2000, TRK | EST | RPL | DNAT)],
  },
  {
    name: 'source NAT to a range of addresses: each client gets the one the kernel hashes it to',
    zone: 3,
    nat: (n) => ({ src: true, ipMin: v4(n, 100), ipMax: v4(n, 107) }),
    // Each client its own source port: two hashed to one address keep theirs, with no clash to resolve at random.
    steps: (n) => [1, 2, 3, 4, 5, 6, 7, 8].map((h) => udp(v4(n, h), 5000 + h, v4(n, 200), 53, TRK | NEW | SNAT)),
  },
  {
    name: 'source NAT to a range, persistent: the hash leaves the destination out',
    zone: 3,
    nat: (n) => ({ src: true, ipMin: v4(n, 100), ipMax: v4(n, 115), persistent: true }),
    steps: (n) => [1, 2, 3, 4, 5, 6].map((h) => udp(v4(n, h), 5000 + h, v4(n, 200 + h), 53, TRK | NEW | SNAT)),
  },
  {
    name: 'TCP, destination NAT to another address and port: the handshake both ways',
    zone: 4,
    nat: (n) => ({ dst: true, ipMin: v4(n, 80), protoMin: 8080 }),
    steps: (n) => [
      tcp(v4(n, 1), 40000, v4(n, 2), 80, SYN, 1000, 0, TRK | NEW | DNAT | SNAT),
      tcp(v4(n, 80), 8080, v4(n, 1), 40000, SYN | ACK, 5000, 1001, TRK | EST | RPL | SNAT),
      tcp(v4(n, 1), 40000, v4(n, 2), 80, ACK, 1001, 5001, TRK | EST | DNAT | SNAT),
    ],
  },
  {
    name: 'ICMP echo, source NAT: the id is kept, the reply goes back',
    zone: 5,
    nat: (n) => ({ src: true, ipMin: v4(n, 100) }),
    steps: (n) => [
      { src: v4(n, 1), dst: v4(n, 2), l4: { kind: 'icmp', type: 8, rest: (0x77 << 16) | 1 }, payload: 16, state: TRK | NEW | SNAT },
      { src: v4(n, 2), dst: v4(n, 100), l4: { kind: 'icmp', type: 0, rest: (0x77 << 16) | 1 }, payload: 16, state: TRK | EST | RPL | DNAT },
    ],
  },
  {
    name: 'an ICMP error about a source-NATed datagram is translated inside and out',
    zone: 6,
    nat: (n) => ({ src: true, ipMin: v4(n, 100) }),
    steps: (n) => [
      udp(v4(n, 1), 5000, v4(n, 2), 53, TRK | NEW | SNAT),
      { src: v4(n, 2), dst: v4(n, 100), l4: { kind: 'icmp', type: 3, code: 3 }, payload: quotedUdp(v4(n, 100), 5000, v4(n, 2), 53), state: TRK | REL | RPL | DNAT },
    ],
  },
  {
    name: 'a bare nat without commit does nothing to a new connection',
    zone: 7,
    lookup: true,
    nat: () => ({}),
    steps: (n) => [udp(v4(n, 1), 5000, v4(n, 2), 53, TRK | NEW)],
  },
  {
    name: 'IPv6, source NAT to one address',
    zone: 8,
    nat: (n) => ({ src: true, ipMin: v6(n, 0x100) }),
    steps: (n) => [udp(v6(n, 1), 5000, v6(n, 2), 53, TRK | NEW | SNAT), udp(v6(n, 2), 53, v6(n, 0x100), 5000, TRK | EST | RPL | DNAT)],
  },
  {
    name: 'IPv6: ICMPv6 echo and an ICMPv6 error about a source-NATed datagram',
    zone: 10,
    nat: (n) => ({ src: true, ipMin: v6(n, 0x100) }),
    steps: (n) => [
      { src: v6(n, 1), dst: v6(n, 2), l4: { kind: 'icmpv6', type: 128, rest: (0x66 << 16) | 1 }, payload: 8, state: TRK | NEW | SNAT },
      { src: v6(n, 2), dst: v6(n, 0x100), l4: { kind: 'icmpv6', type: 129, rest: (0x66 << 16) | 1 }, payload: 8, state: TRK | EST | RPL | DNAT },
      udp(v6(n, 1), 5000, v6(n, 2), 53, TRK | NEW | SNAT),
      { src: v6(n, 2), dst: v6(n, 0x100), l4: { kind: 'icmpv6', type: 1, code: 4 }, payload: quotedUdp(v6(n, 0x100), 5000, v6(n, 2), 53), state: TRK | REL | RPL | DNAT },
    ],
  },
  {
    name: 'IPv6, source NAT to a range of addresses',
    zone: 9,
    nat: (n) => ({ src: true, ipMin: v6(n, 0x100), ipMax: v6(n, 0x10f) }),
    steps: (n) => [1, 2, 3, 4, 5, 6].map((h) => udp(v6(n, h), 5000 + h, v6(n, 0x200), 53, TRK | NEW | SNAT)),
  },
];

const ZERO_MAC = '00:00:00:00:00:00';

async function install(s: Side, c: Scenario, ipv6: boolean): Promise<void> {
  const l3: FlowKey = ipv6
    ? { ethertype: 0x86dd, ipv6: { src: '::', dst: '::', label: 0, proto: 0, tclass: 0, hlimit: 0, frag: 0 } }
    : { ethertype: 0x0800, ipv4: { src: '0.0.0.0', dst: '0.0.0.0', proto: 0, tos: 0, ttl: 0, frag: 0 } };
  const l3Mask: FlowKey = ipv6
    ? { ethertype: 0xffff, ipv6: { src: '::', dst: '::', label: 0, proto: 0, tclass: 0, hlimit: 0, frag: 0xff } }
    : { ethertype: 0xffff, ipv4: { src: '0.0.0.0', dst: '0.0.0.0', proto: 0, tos: 0, ttl: 0, frag: 0xff } };
  const key: FlowKey = { recircId: 0, inPort: s.inPort, ethernet: { src: ZERO_MAC, dst: ZERO_MAC }, ...l3 };
  const mask: FlowKey = { recircId: 0xffffffff, inPort: 0xffffffff, ethernet: { src: ZERO_MAC, dst: ZERO_MAC }, ...l3Mask };
  const actions: Action[] = [{ type: 'ct', commit: !c.lookup, zone: c.zone, nat: c.nat(nOf(c)) }, { type: 'recirc', id: R }];
  await s.dpif.putFlow(s.dp, { key: bytesOf((w) => encodeKey(w, key)), mask: bytesOf((w) => encodeKey(w, mask)), actions: bytesOf((w) => encodeActions(w, actions)) });
}

const nOf = (c: Scenario): number => 10 + SCENARIOS.indexOf(c);

/** Each step's MISS upcall after recirculation: the key (in_port made 1) and the packet. */
async function run(s: Side, c: Scenario): Promise<{ keys: string[]; packets: string[]; states: number[] }> {
  const n = nOf(c);
  const steps = c.steps(n);
  await install(s, c, steps[0].src.includes(':'));
  const out = { keys: [] as string[], packets: [] as string[], states: [] as number[] };
  for (const st of steps) {
    const ipv6 = st.src.includes(':');
    const f = buildFrame({
      src: '02:91:00:00:00:01',
      dst: '02:91:00:00:00:02',
      l3: ipv6 ? { kind: 'ipv6', src: st.src, dst: st.dst, hopLimit: 64 } : { kind: 'ipv4', src: st.src, dst: st.dst, ttl: 64 },
      l4: st.l4,
      payload: st.payload,
    });
    s.upcalls.length = 0;
    await s.input.send([f]);
    const mine = () => s.upcalls.filter((u) => u.kind === 'miss' && decodeKey(u.key).recircId === R);
    if (!(await waitFor(() => mine().length > 0, 3000))) {
      out.keys.push('nothing');
      out.packets.push('');
      out.states.push(-1);
      continue;
    }
    const u = mine()[0];
    const k = decodeKey(u.key);
    if (k.inPort === s.inPort) k.inPort = 1;
    out.keys.push(JSON.stringify(k, (_, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v)));
    out.packets.push(hex(u.packet));
    out.states.push(k.ctState ?? 0);
  }
  return out;
}

async function tracker(s: Side): Promise<Connection> {
  if (s.label === 'fallback') return s.dpif.conn;
  kernelCt ??= openConntrack();
  return kernelCt;
}

/** This file's connections, without ids and timeouts, in a stable order. */
async function table(s: Side): Promise<string[]> {
  const all = await dumpConntrack(await tracker(s));
  return all
    .filter((e: CtEntry) => e.orig.src.startsWith('10.191.') || e.orig.src.startsWith('fd00:91:'))
    .map((e) => JSON.stringify({ zone: e.zone, orig: e.orig, reply: e.reply, status: e.status }))
    .sort();
}

describe('ct(nat), kernel vs fallback', () => {
  it.each(SCENARIOS.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const k = await run(sides[0], c);
    const u = await run(sides[1], c);
    expect(k.states, 'the kernel: ct_state per step').toEqual(c.steps(nOf(c)).map((st) => st.state));
    expect(u.keys).toEqual(k.keys);
    expect(u.packets).toEqual(k.packets);
  }, 120_000);

  it('leaves the same translated connections in both tables', async () => {
    const k = await table(sides[0]);
    const u = await table(sides[1]);
    expect(k.length).toBeGreaterThan(20);
    expect(u).toEqual(k);
  }, 60_000);
});
