// Wildcarding on the real module: a rule table at several priorities over
// overlapping fields (IPv4 source and destination prefixes, protocol, port
// ranges), a randomised stream of crafted UDP and TCP frames sent into one
// veth through AF_PACKET, captured on three output veths. Every frame must
// leave exactly where the rules say, whether it went up as a miss or hit a
// megaflow some earlier frame installed: a megaflow masked too widely would
// carry a later frame to another rule's port. The expected port comes from
// predicates written here, not from the rule table under test.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KernelDpif } from '../../src/dpif/kernel.js';
import { buildFrame } from '../../src/packet/build.js';
import { parseRuleFile } from '../../src/switch/rule-file.js';
import { RuleTable } from '../../src/switch/rules.js';
import { Switch } from '../../src/switch/switch.js';
import { requireOvsModule } from './setup.js';
import { deleteLink, openDpif, uniqueName, vethPair, waitFor } from './ovs-helpers.js';
import { FrameTap, quiet } from './upcall-helpers.js';

interface Pkt {
  src: [number, number, number, number];
  dst: [number, number, number, number];
  tcp: boolean;
  sport: number;
  dport: number;
}

const ip = (a: readonly number[]): string => a.join('.');

/** Where each frame must go: the rules below, as plain predicates, highest priority first. */
function expected(p: Pkt, port: { b: number; c: number; d: number }): number | undefined {
  if (!p.tcp && p.src[0] === 10 && p.src[1] === 1 && p.dport === 53) return port.b; // r1, 300
  if (p.dst[0] === 10 && p.dst[1] === 2) return port.c; // r2, 200
  if (p.tcp && (p.sport & 0xfff0) === 80) return port.d; // r3, 150
  if (p.src[0] === 10 && p.src[1] === 1 && p.src[2] === 2) return port.b; // r4, 100
  if (!p.tcp && p.dport === 7) return undefined; // r5, 90: drop
  if (p.dst[0] === 10 && p.dst[1] === 3 && p.dst[2] === 0 && (p.dst[3] & 0x80) === 0) return port.d; // r6, 50
  return port.c; // table-miss
}

function rules(port: { b: number; c: number; d: number }): string {
  return [
    `name=r1 priority=300 eth_type(0x0800),ipv4(src=10.1.0.0/255.255.0.0,proto=17),udp(dst=53) actions:${port.b}`,
    `name=r2 priority=200 eth_type(0x0800),ipv4(dst=10.2.0.0/255.255.0.0) actions:${port.c}`,
    `name=r3 priority=150 eth_type(0x0800),ipv4(proto=6),tcp(src=80/0xfff0) actions:${port.d}`,
    `name=r4 priority=100 eth_type(0x0800),ipv4(src=10.1.2.0/255.255.255.0) actions:${port.b}`,
    `name=r5 priority=90 eth_type(0x0800),ipv4(proto=17),udp(dst=7) actions:drop`,
    `name=r6 priority=50 eth_type(0x0800),ipv4(dst=10.3.0.0/255.255.255.128) actions:${port.d}`,
    `table-miss actions:${port.c}`,
  ].join('\n');
}

const octet = (choices: number[]) => fc.constantFrom(...choices);
const pktArb: fc.Arbitrary<Pkt> = fc.record({
  src: fc.tuple(fc.constant(10), octet([1, 2, 3]), octet([1, 2, 3]), fc.integer({ min: 1, max: 254 })),
  dst: fc.tuple(fc.constant(10), octet([2, 3, 4]), octet([0, 1]), fc.integer({ min: 1, max: 254 })),
  tcp: fc.boolean(),
  sport: fc.oneof(fc.integer({ min: 76, max: 100 }), fc.constantFrom(53, 1024, 40000)),
  dport: fc.constantFrom(7, 53, 80, 443),
});

function frame(p: Pkt, i: number): Uint8Array {
  const payload = new Uint8Array(24);
  payload.set(Buffer.from(`wc${i}:`));
  return buildFrame({
    src: '02:00:00:00:0a:01',
    dst: '02:00:00:00:0a:02',
    l3: { kind: 'ipv4', src: ip(p.src), dst: ip(p.dst), ttl: 64 },
    l4: p.tcp ? { kind: 'tcp', src: p.sport, dst: p.dport, flags: 0x10 } : { kind: 'udp', src: p.sport, dst: p.dport },
    payload,
    padTo: 60,
  });
}

/** The frame's index, from its payload marker. */
function tagOf(f: Uint8Array): number | undefined {
  const m = /wc(\d+):/.exec(Buffer.from(f).toString('latin1'));
  return m ? Number(m[1]) : undefined;
}

let dpif: KernelDpif;
let dp: string;
const links: string[] = [];
const taps: FrameTap[] = [];

beforeAll(async () => {
  requireOvsModule();
  dpif = await openDpif();
  dp = uniqueName('swwc');
  await dpif.createDatapath({ name: dp });
  quiet(dp);
}, 120_000);
afterAll(async () => {
  for (const t of taps) t.close();
  await dpif?.deleteDatapath(dp).catch(() => undefined);
  for (const l of links) deleteLink(l);
  dpif?.close();
});

describe('megaflows on the kernel forward every frame as the rule table says', () => {
  it('a random stream over overlapping rules: misses and megaflow hits alike', async () => {
    const ends: Record<'a' | 'b' | 'c' | 'd', { port: number; tap: FrameTap }> = {} as never;
    for (const name of ['a', 'b', 'c', 'd'] as const) {
      const [inDp, outside] = vethPair(`wc${name}`);
      links.push(inDp);
      quiet(inDp);
      quiet(outside);
      const v = await dpif.createVport(dp, { name: inDp, type: 'netdev' });
      const tap = new FrameTap(outside);
      taps.push(tap);
      ends[name] = { port: v.portNo, tap };
    }
    const port = { b: ends.b.port, c: ends.c.port, d: ends.d.port };
    const table = new RuleTable(parseRuleFile(rules(port), 'wildcard'));
    const errors: Error[] = [];
    const sw = await Switch.start({ dpif, datapath: dp, policy: () => table, onError: (e) => void errors.push(e), idleTimeoutMs: 120_000 });
    try {
      const pkts = fc.sample(pktArb, { numRuns: 400, seed: 20261122 });
      // In bursts of 25: within a burst frames race their own misses, across bursts they meet installed megaflows.
      for (let i = 0; i < pkts.length; i += 25) {
        await ends.a.tap.send(pkts.slice(i, i + 25).map((p, j) => frame(p, i + j)));
        await new Promise((r) => setTimeout(r, 150));
        // Read the captures as they come: a capture socket left unread drops what overflows it.
        for (const k of ['b', 'c', 'd'] as const) ends[k].tap.poll();
      }
      const want = new Map<number, number | undefined>(pkts.map((p, i) => [i, expected(p, port)]));
      const delivered = (): number => ['b', 'c', 'd'].reduce((n, k) => n + ends[k as 'b'].tap.poll().filter((f) => tagOf(f) !== undefined).length, 0);
      const forwarded = [...want.values()].filter((p) => p !== undefined).length;
      // Wrong masks also lose frames (to the drop rule): after a while, compare what came.
      await waitFor(() => delivered() >= forwarded, 30_000);
      await new Promise((r) => setTimeout(r, 1000));
      const seen = new Map<number, number[]>();
      for (const k of ['b', 'c', 'd'] as const) {
        for (const f of ends[k].tap.poll()) {
          const t = tagOf(f);
          if (t === undefined) continue;
          seen.set(t, [...(seen.get(t) ?? []), ends[k].port]);
        }
      }
      const wrong: string[] = [];
      for (const [i, p] of pkts.entries()) {
        const got = seen.get(i) ?? [];
        const exp = want.get(i);
        if (JSON.stringify(got) !== JSON.stringify(exp === undefined ? [] : [exp])) wrong.push(`${i} ${JSON.stringify(p)}: expected ${exp ?? 'drop'}, got [${got}]`);
      }
      expect(wrong).toEqual([]);
      // Both ways of forwarding were exercised: many frames went up, many did not.
      const s = sw.stats;
      expect(s.handler.misses).toBeGreaterThan(20);
      expect(s.handler.misses).toBeLessThan(pkts.length - 20);
      expect(s.handler.installed).toBeGreaterThan(10);
      expect(errors.map((e) => e.message)).toEqual([]);
    } finally {
      await sw.stop();
    }
  }, 120_000);
});
