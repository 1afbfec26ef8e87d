// The central claim of the translation: with megaflows installed from the
// rule table's decisions (mask = matched rule + proofs of non-match for
// the rules above + completeMask), every packet is forwarded exactly as
// direct classification says, whether it hits a megaflow or misses.
// Megaflows are matched as the kernel matches them (switch-kernel-model.ts),
// and every mask must be one the kernel accepts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Action } from '../../src/ovs/actions.js';
import type { FlowKey, FlowMask } from '../../src/ovs/keys.js';
import { RuleTable, type Rule } from '../../src/switch/rules.js';
import { LearningSwitch } from '../../src/switch/learning.js';
import { arpKey, ipv4Key, ipv6Key, tagged } from './switch-keys.js';
import { kernelKey, kernelRefusal, megaflow, megaflowMatches, type Megaflow } from './switch-kernel-model.js';

const MACS = ['00:00:00:00:00:01', '00:00:00:00:00:02', '00:00:00:00:00:03', 'ff:ff:ff:ff:ff:ff'];
const IPS = ['10.0.0.1', '10.0.0.2', '10.0.1.1', '10.1.0.1', '192.168.0.1', '10.0.0.130'];
const PORTS = [53, 80, 443, 1000, 8080];

const keyArb: fc.Arbitrary<FlowKey> = fc
  .record({
    kind: fc.constantFrom('tcp', 'udp', 'udp', 'icmp', 'arp', 'ipv6', 'ns', 'na', 'echo6', 'frag-first', 'frag-later', 'frag-later'),
    dst6: fc.constantFrom('fe80::1', 'fe80::2', 'ff02::1:ff00:2', '2001:db8::1'),
    op: fc.constantFrom(1, 2),
    inPort: fc.integer({ min: 1, max: 3 }),
    src: fc.constantFrom(...MACS.slice(0, 3)),
    dst: fc.constantFrom(...MACS),
    src4: fc.constantFrom(...IPS),
    dst4: fc.constantFrom(...IPS),
    sport: fc.constantFrom(...PORTS),
    dport: fc.constantFrom(...PORTS),
    vid: fc.option(fc.constantFrom(10, 20), { freq: 4 }),
  })
  .map((o) => {
    let k: FlowKey;
    const l2 = { inPort: o.inPort, src: o.src, dst: o.dst };
    switch (o.kind) {
      case 'arp':
        k = arpKey({ ...l2, sip: o.src4, tip: o.dst4, op: o.op });
        break;
      case 'ipv6':
        k = ipv6Key({ ...l2, dst6: o.dst6, proto: 17, sport: o.sport, dport: o.dport });
        break;
      case 'ns':
      case 'na':
        k = ipv6Key({ ...l2, dst6: o.dst6, icmpType: o.kind === 'ns' ? 135 : 136, target: o.dst6 });
        break;
      case 'echo6':
        k = ipv6Key({ ...l2, dst6: o.dst6, icmpType: 128 });
        break;
      case 'frag-first':
      case 'frag-later':
        k = ipv4Key({ ...l2, src4: o.src4, dst4: o.dst4, proto: 17, frag: o.kind === 'frag-first' ? 1 : 2, sport: o.sport, dport: o.dport });
        break;
      default:
        k = ipv4Key({ ...l2, src4: o.src4, dst4: o.dst4, proto: o.kind === 'tcp' ? 6 : o.kind === 'udp' ? 17 : 1, sport: o.sport, dport: o.dport });
    }
    return o.vid === null ? k : tagged(k, o.vid);
  });

const prefixMask = (len: number): string => {
  const n = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
};

interface Part {
  match: FlowKey;
  mask: FlowMask;
}

const ipv4Zero = { src: '0.0.0.0', dst: '0.0.0.0', proto: 0, tos: 0, ttl: 0, frag: 0 };
const ipv6Zero = { src: '::', dst: '::', label: 0, proto: 0, tclass: 0, hlimit: 0, frag: 0 };
const arpZero = { sip: '0.0.0.0', tip: '0.0.0.0', op: 0, sha: '00:00:00:00:00:00', tha: '00:00:00:00:00:00' };

// Terms over overlapping fields; each is a (match, mask) fragment merged into a rule.
const termArb: fc.Arbitrary<Part> = fc.oneof(
  fc.integer({ min: 1, max: 3 }).map((p) => ({ match: { inPort: p }, mask: { inPort: 0xffffffff } })),
  fc.constantFrom(...MACS).map((m) => ({ match: { ethernet: { src: '00:00:00:00:00:00', dst: m } }, mask: { ethernet: { src: '00:00:00:00:00:00', dst: 'ff:ff:ff:ff:ff:ff' } } })),
  fc.constantFrom(0x0800, 0x0806, 0x86dd, 0x8100).map((t) => ({ match: { ethertype: t }, mask: { ethertype: 0xffff } })),
  fc.record({ ip: fc.constantFrom(...IPS), len: fc.integer({ min: 0, max: 32 }), dst: fc.boolean() }).map(({ ip, len, dst }) => ({
    match: { ipv4: { ...ipv4Zero, [dst ? 'dst' : 'src']: ip } },
    mask: { ipv4: { ...ipv4Zero, [dst ? 'dst' : 'src']: prefixMask(len) } },
  })),
  fc.constantFrom(1, 6, 17).map((p) => ({ match: { ipv4: { ...ipv4Zero, proto: p } }, mask: { ipv4: { ...ipv4Zero, proto: 0xff } } })),
  fc.constantFrom(0, 1, 2).map((f) => ({ match: { ipv4: { ...ipv4Zero, frag: f } }, mask: { ipv4: { ...ipv4Zero, frag: 0xff } } })),
  {
    weight: 3,
    arbitrary: fc.record({ l4: fc.constantFrom('tcp', 'udp'), port: fc.constantFrom(...PORTS), m: fc.constantFrom(0xffff, 0xff00, 0x00ff, 0x8000) }).map(({ l4, port, m }) => ({
      match: { [l4]: { src: 0, dst: port } } as unknown as FlowKey,
      mask: { [l4]: { src: 0, dst: m } } as unknown as FlowKey,
    })),
  },
  fc.constantFrom(10, 20).map((vid) => ({ match: { vlan: { vid, pcp: 0, cfi: 1 } }, mask: { vlan: { vid: 0xfff, pcp: 0, cfi: 1 } } })),
  fc.record({ ip: fc.constantFrom('fe80::', 'ff02::', '2001:db8::'), m: fc.constantFrom('ffff::', 'ffff:ffff::', 'fe00::') }).map(({ ip, m }) => ({
    match: { ipv6: { ...ipv6Zero, dst: ip } },
    mask: { ipv6: { ...ipv6Zero, dst: m } },
  })),
  fc.record({ tip: fc.constantFrom(...IPS), op: fc.constantFrom(0, 1, 2) }).map(({ tip, op }) => ({
    match: { arp: { ...arpZero, tip, op } },
    mask: { arp: { ...arpZero, tip: '255.255.255.255', op: op ? 0xff : 0 } },
  })),
  fc.constantFrom(0, 8).map((type) => ({ match: { icmp: { type, code: 0 } }, mask: { icmp: { type: 0xff, code: 0 } } })),
  fc.constantFrom(128, 135, 136).map((type) => ({ match: { icmpv6: { type, code: 0 } }, mask: { icmpv6: { type: 0xff, code: 0 } } })),
  fc.constantFrom('fe80::1', 'fe80::2', '2001:db8::1').map((target) => ({
    match: { nd: { target, sll: '00:00:00:00:00:00', tll: '00:00:00:00:00:00' } },
    mask: { nd: { target: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', sll: '00:00:00:00:00:00', tll: '00:00:00:00:00:00' } },
  })),
  fc.constantFrom(0x002, 0x010).map((f) => ({ match: { tcpFlags: f }, mask: { tcpFlags: f } })),
  fc.constantFrom(...PORTS).map((port) => ({ match: { encap: { udp: { src: 0, dst: port } } }, mask: { encap: { udp: { src: 0, dst: 0xffff } } } })),
  fc.constantFrom(...IPS).map((ip) => ({
    match: { encap: { ipv4: { ...ipv4Zero, dst: ip } } },
    mask: { encap: { ipv4: { ...ipv4Zero, dst: '255.255.255.0' } } },
  })),
);

/** Merges fragments; a later fragment's value for the same field wins, masks OR. */
function merge(parts: Part[]): Part {
  const match: Record<string, unknown> = {};
  const mask: Record<string, unknown> = {};
  const mergeInto = (dst: Record<string, unknown>, src: Record<string, unknown>, or: boolean) => {
    for (const [k, v] of Object.entries(src)) {
      if (typeof v === 'object' && v !== null && typeof dst[k] === 'object' && dst[k] !== null) {
        const d = { ...(dst[k] as Record<string, unknown>) };
        for (const [f, x] of Object.entries(v)) {
          if (typeof x === 'object' && x !== null) {
            d[f] = { ...(d[f] as object), ...x };
            continue;
          }
          if (or && typeof x === 'number') d[f] = ((d[f] as number) | x) >>> 0;
          else if (or && typeof x === 'string' && x !== '0.0.0.0' && x !== '00:00:00:00:00:00') d[f] = x;
          else if (!or && (x !== 0 && x !== '0.0.0.0' && x !== '00:00:00:00:00:00')) d[f] = x;
        }
        dst[k] = d;
      } else dst[k] = v;
    }
  };
  for (const p of parts) {
    mergeInto(match, p.match as Record<string, unknown>, false);
    mergeInto(mask, p.mask as Record<string, unknown>, true);
  }
  return { match: match as FlowKey, mask: mask as FlowKey };
}

const rulesArb: fc.Arbitrary<Rule[]> = fc.array(
  fc.record({ priority: fc.constantFrom(10, 20, 30, 40), terms: fc.array(termArb, { minLength: 1, maxLength: 3 }) }),
  { minLength: 1, maxLength: 8 },
).map((rs) =>
  rs.map((r, i) => {
    const { match, mask } = merge(r.terms);
    return { priority: r.priority, match, mask, actions: [{ type: 'output', port: 100 + i }] as Action[], name: `r${i}` };
  }),
);

const counts = { hits: 0, misses: 0 };

function simulate(table: { decide: RuleTable['decide'] }, expected: (k: FlowKey) => Action[], keys: FlowKey[]): void {
  const flows: Megaflow[] = [];
  for (const key of keys) {
    const want = expected(key);
    const packet = kernelKey(key);
    const hits = flows.filter((f) => megaflowMatches(f, packet));
    if (hits.length) {
      counts.hits++;
      for (const h of hits) expect({ key, megaflow: h.key, actions: h.actions }).toEqual({ key, megaflow: h.key, actions: want });
      continue;
    }
    counts.misses++;
    const d = table.decide(key);
    expect(d.actions).toEqual(want);
    expect(kernelRefusal(key, d.mask)).toBeUndefined();
    flows.push(megaflow(key, d.mask, d.actions));
  }
}

describe('megaflow translation', () => {
  it('forwards every key of a random stream as direct classification does (random rule tables)', () => {
    fc.assert(
      fc.property(rulesArb, fc.array(keyArb, { minLength: 30, maxLength: 80 }), (rules, keys) => {
        const table = new RuleTable(rules);
        simulate(table, (k) => table.classify(k)?.actions ?? [], keys);
      }),
      { numRuns: 300 },
    );
    // The claim is only worth something if megaflows are wide enough to be
    // hit by keys other than their own.
    expect(counts.hits).toBeGreaterThan(counts.misses);
  });

  it('is not trivially exact: megaflows get hit by other keys', () => {
    const rules: Rule[] = [
      { priority: 20, match: { ipv4: { ...ipv4Zero, dst: '10.0.0.0' } }, mask: { ipv4: { ...ipv4Zero, dst: '255.255.255.0' } }, actions: [{ type: 'output', port: 2 }], name: 'net' },
      { priority: 10, match: {}, mask: {}, actions: [{ type: 'output', port: 3 }], name: 'all' },
    ];
    const table = new RuleTable(rules);
    const d = table.decide(ipv4Key({ dst4: '192.168.0.1', sport: 1, dport: 2 }));
    expect(d.actions).toEqual([{ type: 'output', port: 3 }]);
    // One bit proves 192.168.0.1 is outside 10.0.0.0/24: the top one, where 192 and 10 differ.
    expect(d.mask.ipv4?.dst).toBe('128.0.0.0');
    expect(d.mask.tcp).toBeUndefined();
    const f = megaflow(ipv4Key({ dst4: '192.168.0.1' }), d.mask, d.actions);
    expect(megaflowMatches(f, kernelKey(ipv4Key({ dst4: '172.16.5.5', sport: 7, dport: 9 })))).toBe(true);
    expect(megaflowMatches(f, kernelKey(ipv4Key({ dst4: '10.0.0.5' })))).toBe(false);
  });

  it('keeps later fragments (no ports) off a megaflow made for a port rule', () => {
    // Port 53 under mask 0xff00 is 0: so is the port a later fragment keys as.
    const rules: Rule[] = [
      { priority: 20, match: { udp: { src: 0, dst: 53 } }, mask: { udp: { src: 0, dst: 0xff00 } }, actions: [{ type: 'output', port: 2 }], name: 'low-ports' },
    ];
    const table = new RuleTable(rules);
    const d = table.decide(ipv4Key({ proto: 17, dport: 53 }));
    expect(d.actions).toEqual([{ type: 'output', port: 2 }]);
    expect(d.mask.ipv4?.frag).toBe(0xff);
    const later = ipv4Key({ proto: 17, frag: 2 });
    expect(table.classify(later)).toBeUndefined();
    expect(megaflowMatches(megaflow(ipv4Key({ proto: 17, dport: 53 }), d.mask, d.actions), kernelKey(later))).toBe(false);
  });

  it('with a learning switch behind `normal` rules, forwards as the switch and the rules say', () => {
    fc.assert(
      fc.property(rulesArb, fc.array(keyArb, { minLength: 20, maxLength: 60 }), fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }), (rules, keys, normals) => {
        const sw = new LearningSwitch({ ports: () => [1, 2, 3] });
        // Learn a few sources first so that decisions are not all floods.
        sw.observe(ipv4Key({ inPort: 1, src: MACS[0] }), 0);
        sw.observe(ipv4Key({ inPort: 2, src: MACS[1] }), 0);
        const rs = rules.map((r, i) => (normals[i] ? { ...r, actions: [], normal: true } : r));
        const table = new RuleTable(rs, { normal: sw });
        simulate(table, (k) => {
          const r = table.classify(k);
          if (!r) return [];
          return r.normal ? sw.decide(k).actions : r.actions;
        }, keys);
      }),
      { numRuns: 150 },
    );
  });

  it('stays exact while the switch learns, moves and ages MACs (flows re-translated on each generation)', () => {
    fc.assert(
      fc.property(rulesArb, fc.array(fc.tuple(keyArb, fc.integer({ min: 0, max: 120_000 })), { minLength: 20, maxLength: 60 }), fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }), (rules, stream, normals) => {
        const sw = new LearningSwitch({ ports: () => [1, 2, 3], agingSeconds: 300 });
        const rs = rules.map((r, i) => (normals[i] ? { ...r, actions: [], normal: true } : r));
        const table = new RuleTable(rs, { normal: sw });
        const expected = (k: FlowKey): Action[] => {
          const r = table.classify(k);
          if (!r) return [];
          return r.normal ? sw.decide(k).actions : r.actions;
        };
        let flows: Array<Megaflow & { generation: number }> = [];
        let now = 0;
        const revalidate = (): void => {
          // What the revalidator does after a generation change: re-decide
          // each flow from its key; a new mask deletes it, new actions modify it.
          const g = table.generation;
          flows = flows.flatMap((f) => {
            if (f.generation === g) return [f];
            const d = table.decide(f.key);
            const m = megaflow(f.key, d.mask, d.actions);
            const sameMask = m.mask.every((w, i) => w === f.mask[i]);
            return sameMask ? [{ ...m, generation: g }] : [];
          });
        };
        for (const [key, dt] of stream) {
          now += dt;
          if (sw.expire(now)) revalidate();
          const packet = kernelKey(key);
          const hits = flows.filter((f) => megaflowMatches(f, packet));
          if (hits.length) {
            for (const h of hits) expect({ key, megaflow: h.key, actions: h.actions }).toEqual({ key, megaflow: h.key, actions: expected(key) });
            continue;
          }
          // A miss: the handler learns from it first, then decides.
          if (table.observe(key, now)) revalidate();
          const d = table.decide(key);
          expect(d.actions).toEqual(expected(key));
          flows.push({ ...megaflow(key, d.mask, d.actions), generation: table.generation });
        }
      }),
      { numRuns: 150 },
    );
  });
});
