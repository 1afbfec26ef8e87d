// The megaflow masks of the switch's policies (learning switch, rule table)
// on the real module: for upcall-shaped keys of every kind a MISS carries
// (ARP, IPv4 TCP/UDP/ICMP, fragments, IPv6 ND and UDP, VLAN-tagged), the
// kernel accepts the flow, and reads back the mask bits the policy asked
// for. And the control: the same bits without completeMask's prerequisites
// are refused, so this test would notice completeMask doing nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KernelDpif } from '../../src/dpif/kernel.js';
import { AttrWriter } from '../../src/netlink/attr.js';
import { encodeActions } from '../../src/ovs/action-codec.js';
import type { Action } from '../../src/ovs/actions.js';
import { decodeMask, encodeKey } from '../../src/ovs/key-codec.js';
import type { FlowKey, FlowMask } from '../../src/ovs/keys.js';
import { randomUfid } from '../../src/ovs/ufid.js';
import { flattenKey, maskFields } from '../../src/switch/classifier-fields.js';
import { LearningSwitch } from '../../src/switch/learning.js';
import type { Decision } from '../../src/switch/policy.js';
import { parseRuleFile } from '../../src/switch/rule-file.js';
import { RuleTable } from '../../src/switch/rules.js';
import { arpKey, ipv4Key, ipv6Key, tagged } from '../unit/switch-keys.js';
import { requireOvsModule } from './setup.js';
import { openDpif, uniqueName, waitFor, useDatapath } from './ovs-helpers.js';
import { copyUpcall, openUpcalls } from '../../src/dpif/upcalls.js';
import { decodeKey } from '../../src/ovs/key-codec.js';
import type { Upcall } from '../../src/ovs/packet.js';
import { buildFrame } from '../../src/packet/build.js';
import type { FrameSpec } from '../../src/packet/spec.js';
import { FrameTap, topology, type Topology } from './upcall-helpers.js';

const bytes = (f: (w: AttrWriter) => void): Uint8Array => {
  const w = new AttrWriter();
  f(w);
  return w.finish().slice();
};
const keyBytes = (k: FlowKey): Uint8Array => bytes((w) => encodeKey(w, k));
const actionBytes = (a: Action[]): Uint8Array => bytes((w) => encodeActions(w, a));

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';

// Each shape on its own input port, so that no two megaflows overlap.
const SHAPES: Array<[string, (inPort: number) => FlowKey]> = [
  ['arp request', (p) => arpKey({ inPort: p, src: A })],
  ['arp reply', (p) => arpKey({ inPort: p, src: A, dst: B, op: 2 })],
  ['ipv4 tcp', (p) => ipv4Key({ inPort: p, src: A, dst: B, proto: 6, dport: 80 })],
  ['ipv4 udp', (p) => ipv4Key({ inPort: p, src: A, dst: B, proto: 17, dport: 53 })],
  ['ipv4 icmp', (p) => ipv4Key({ inPort: p, src: A, dst: B, proto: 1, icmpType: 8 })],
  ['ipv4 udp first fragment', (p) => ipv4Key({ inPort: p, src: A, dst: B, proto: 17, frag: 1, dport: 53 })],
  ['ipv4 udp later fragment', (p) => ipv4Key({ inPort: p, src: A, dst: B, proto: 17, frag: 2 })],
  ['ipv6 neighbour solicitation', (p) => ipv6Key({ inPort: p, src: A, dst: '33:33:ff:00:00:02', icmpType: 135 })],
  ['ipv6 neighbour advertisement', (p) => ipv6Key({ inPort: p, src: A, dst: B, icmpType: 136, dst6: 'fe80::1' })],
  ['ipv6 udp', (p) => ipv6Key({ inPort: p, src: A, dst: B, proto: 17, dst6: 'fe80::2', dport: 53 })],
  ['ipv6 echo', (p) => ipv6Key({ inPort: p, src: A, dst: B, icmpType: 128, dst6: 'fe80::2' })],
  ['vlan ipv4 tcp', (p) => tagged(ipv4Key({ inPort: p, src: A, dst: B, proto: 6, dport: 80 }), 10, 3)],
  ['vlan arp', (p) => tagged(arpKey({ inPort: p, src: A }), 20)],
  ['vlan ipv4 later fragment', (p) => tagged(ipv4Key({ inPort: p, src: A, dst: B, proto: 17, frag: 2 }), 10)],
];

// Rules that make decisions read fields of every layer; most keys miss most
// of them, so their masks carry proofs of non-match too.
const RULES = `
name=web priority=500 eth_type(0x0800),ipv4(dst=10.0.0.0/255.255.255.0),tcp(dst=80) actions:2
name=dns priority=400 udp(dst=53) actions:3
name=ping priority=300 icmp(type=8) actions:4
name=nd priority=300 nd(target=fe80::2) actions:5
name=v10 priority=200 vlan(vid=10),encap(ipv4(src=10.0.0.1)) actions:6
name=frag priority=150 ipv4(frag=later) actions:7
name=arp priority=100 arp(op=2) actions:normal
name=v6 priority=50 ipv6(dst=fe80::/ffff::) actions:8
table-miss actions:normal
`;

function policies(): Array<[string, (k: FlowKey) => Decision]> {
  const ports = () => [1, 2, 3, 4, 5, 6, 7, 8, 40, 41];
  const flooding = new LearningSwitch({ ports });
  const learned = new LearningSwitch({ ports });
  learned.observe(ipv4Key({ inPort: 41, src: B }), 0);
  learned.observe(tagged(ipv4Key({ inPort: 41, src: B }), 10), 0);
  const table = new RuleTable(parseRuleFile(RULES, 'switch-masks.rules'), { normal: new LearningSwitch({ ports }) });
  return [
    ['learning switch (flood)', (k) => flooding.decide(k)],
    ['learning switch (learned)', (k) => learned.decide(k)],
    ['rule table', (k) => table.decide(k)],
  ];
}

/** The kernel's mask must hold each bit ours asks for. */
function expectMaskKept(sent: FlowMask, got: FlowMask): void {
  const kernel = flattenKey(got).fields;
  for (const f of maskFields(sent)) expect({ field: f.path, bits: (kernel.get(f.path) ?? 0n) & f.bits }).toEqual({ field: f.path, bits: f.bits });
}

describe('switch megaflow masks on the kernel', () => {
  let dpif!: KernelDpif;
  const dp = uniqueName('ovsmk');
  useDatapath(dp, (d) => (dpif = d));

  for (const [pname, decide] of policies()) {
    it(`accepts every key shape with the ${pname}'s masks`, async () => {
      await dpif.flushFlows(dp);
      const cases = SHAPES.map(([name, make], i) => {
        const key = make(100 + i);
        const d = decide(key);
        return { name, key, d, ufid: randomUfid() };
      });
      const results = await dpif.putFlows(
        dp,
        cases.map((c) => ({ key: keyBytes(c.key), mask: keyBytes(c.d.mask), actions: actionBytes(c.d.actions), ufid: c.ufid })),
      );
      expect(results.map((r, i) => [cases[i].name, r.ok ? 'ok' : String(r.error)])).toEqual(cases.map((c) => [c.name, 'ok']));
      for (const c of cases) {
        const f = await dpif.getFlow(dp, { ufid: c.ufid });
        expectMaskKept(c.d.mask, decodeMask(f.mask!));
      }
    });
  }

  it('the rule table reads the fields its rules name (checked on the kernel\'s masks)', async () => {
    await dpif.flushFlows(dp);
    const [, , [, decide]] = policies();
    const key = ipv4Key({ inPort: 150, src: A, dst: B, proto: 17, src4: '10.0.0.1', dport: 1234 });
    const d = decide(key);
    const ufid = randomUfid();
    expect(await dpif.putFlow(dp, { key: keyBytes(key), mask: keyBytes(d.mask), actions: actionBytes(d.actions), ufid })).toBeUndefined();
    const m = decodeMask((await dpif.getFlow(dp, { ufid })).mask!);
    expect(m.inPort).toBe(0xffffffff);
    expect(m.ethertype).toBe(0xffff);
    expect(m.ipv4?.proto).toBe(0xff);
    expect(m.ipv4?.frag).toBe(0xff);
    expect(m.udp?.dst).not.toBe(0);
    // The table miss went to the learning switch: both MACs exact.
    expect(m.ethernet).toEqual({ src: 'ff:ff:ff:ff:ff:ff', dst: 'ff:ff:ff:ff:ff:ff' });
  });

  it('refuses the same bits without completeMask (the control)', async () => {
    await dpif.flushFlows(dp);
    const key = ipv4Key({ inPort: 160, proto: 17, dport: 53 });
    const rawIp: FlowMask = { inPort: 0xffffffff, ipv4: { src: '0.0.0.0', dst: '255.255.255.0', proto: 0, tos: 0, ttl: 0, frag: 0 } };
    const rawPorts: FlowMask = { inPort: 0xffffffff, ethertype: 0xffff, udp: { src: 0, dst: 0xffff } };
    const vkey = tagged(ipv4Key({ inPort: 161, proto: 6 }), 10);
    const rawVlan: FlowMask = { inPort: 0xffffffff, vlan: { vid: 0xfff, pcp: 0, cfi: 1 } };
    const r = await dpif.putFlows(dp, [
      { key: keyBytes(key), mask: keyBytes(rawIp), actions: actionBytes([]), ufid: randomUfid() },
      { key: keyBytes(key), mask: keyBytes(rawPorts), actions: actionBytes([]), ufid: randomUfid() },
      { key: keyBytes(vkey), mask: keyBytes(rawVlan), actions: actionBytes([]), ufid: randomUfid() },
    ]);
    expect(r.map((x) => (x.ok ? 'ok' : (x.error as { code?: string }).code))).toEqual(['EINVAL', 'EINVAL', 'EINVAL']);
  });
});

// The keys the module itself sends up for real frames of each kind: every
// one of them, with each policy's mask, makes a flow the module accepts.
describe('switch megaflow masks for real MISS upcalls', () => {
  let dpif: KernelDpif;
  let topo: Topology;
  let tap: FrameTap;
  const keys: FlowKey[] = [];

  const mac = (i: number): string => `02:00:00:00:01:${i.toString(16).padStart(2, '0')}`;
  const v4 = { kind: 'ipv4', src: '10.77.0.1', dst: '10.77.0.2' } as const;
  const v6 = { kind: 'ipv6', src: 'fe80::1', dst: 'fe80::2' } as const;
  // Distinct source MACs: learning-switch megaflows of different frames never coincide.
  const FRAMES: Array<[string, Omit<FrameSpec, 'src'>]> = [
    ['arp', { dst: 'ff:ff:ff:ff:ff:ff', l3: { kind: 'arp', op: 1, spa: '10.77.0.1', tpa: '10.77.0.2' } }],
    ['tcp', { dst: B, l3: v4, l4: { kind: 'tcp', src: 40000, dst: 80, flags: 0x002 }, payload: 8 }],
    ['udp', { dst: B, l3: v4, l4: { kind: 'udp', src: 40000, dst: 53 }, payload: 8 }],
    ['icmp', { dst: B, l3: v4, l4: { kind: 'icmp', type: 8, rest: 0x00010001 }, payload: 8 }],
    ['first fragment', { dst: B, l3: { ...v4, mf: true, id: 7 }, l4: { kind: 'udp', src: 40000, dst: 53, length: 64 }, payload: 16 }],
    ['later fragment', { dst: B, l3: { ...v4, fragOffset: 3, id: 7, proto: 17 }, payload: 40 }],
    ['nd solicitation', { dst: '33:33:ff:00:00:02', l3: { ...v6, dst: 'ff02::1:ff00:2', hopLimit: 255 }, l4: { kind: 'nd', type: 'ns', target: 'fe80::2', sll: mac(7) } }],
    ['nd advertisement', { dst: B, l3: { ...v6, hopLimit: 255 }, l4: { kind: 'nd', type: 'na', target: 'fe80::1', tll: mac(8), solicited: true } }],
    ['udp6', { dst: B, l3: v6, l4: { kind: 'udp', src: 40000, dst: 53 }, payload: 8 }],
    ['icmp6 echo', { dst: B, l3: v6, l4: { kind: 'icmpv6', type: 128, rest: 0x00010001 }, payload: 8 }],
    ['vlan tcp', { dst: B, vlans: [{ vid: 10, pcp: 3 }], l3: v4, l4: { kind: 'tcp', src: 40000, dst: 80, flags: 0x002 }, payload: 8 }],
    ['vlan arp', { dst: 'ff:ff:ff:ff:ff:ff', vlans: [{ vid: 20 }], l3: { kind: 'arp', op: 1, spa: '10.77.0.1', tpa: '10.77.0.2' } }],
    ['qinq udp', { dst: B, vlans: [{ tpid: 0x88a8, vid: 100 }, { vid: 10 }], l3: v4, l4: { kind: 'udp', src: 40000, dst: 53 }, payload: 8 }],
    ['802.2 llc', { dst: B, l3: { kind: 'llc', dsap: 0x42, ssap: 0x42, ctrl: 3, data: new Uint8Array(40) } }],
    ['mpls', { dst: B, mpls: [{ label: 100, ttl: 64 }], l3: v4, l4: { kind: 'udp', src: 40000, dst: 53 }, payload: 8 }],
    ['sctp', { dst: B, l3: v4, l4: { kind: 'sctp', src: 40000, dst: 9 }, payload: 8 }],
    ['ipv6 later fragment', { dst: B, l3: { ...v6, ext: [{ kind: 'fragment', offset: 8, more: false, id: 5, nextHeader: 17 }] }, payload: 40 }],
  ];

  beforeAll(async () => {
    requireOvsModule();
    dpif = await openDpif();
    topo = await topology(dpif, 'swm');
    tap = new FrameTap(topo.aPeer);
    const got: Upcall[] = [];
    const up = await openUpcalls(dpif, topo.dp, { dispatch: 'per-vport', onBatch: (batch) => void got.push(...batch.map(copyUpcall)) });
    try {
      await tap.send(FRAMES.map(([, spec], i) => buildFrame({ ...spec, src: mac(i + 16), padTo: 60 })));
      const fromUs = (u: Upcall): boolean => {
        const k = decodeKey(u.key);
        return u.kind === 'miss' && k.ethernet !== undefined && k.ethernet.src.startsWith('02:00:00:00:01:');
      };
      await waitFor(() => got.filter(fromUs).length >= FRAMES.length, 15_000);
      for (const u of got.filter(fromUs)) keys.push(decodeKey(u.key));
    } finally {
      await up.close();
    }
  });
  afterAll(async () => {
    tap?.close();
    await topo?.remove();
    dpif?.close();
  });

  it('got a MISS upcall for every kind of frame', () => {
    const has = (f: (k: FlowKey) => boolean): boolean => keys.some(f);
    expect(keys.length).toBe(FRAMES.length);
    expect(has((k) => k.arp !== undefined)).toBe(true);
    expect(has((k) => k.tcp !== undefined && k.tcpFlags !== undefined)).toBe(true);
    expect(has((k) => k.ipv4?.frag === 1 && k.udp !== undefined)).toBe(true);
    expect(has((k) => k.ipv4?.frag === 2 && k.udp === undefined)).toBe(true);
    expect(has((k) => k.nd !== undefined && k.icmpv6?.type === 135)).toBe(true);
    expect(has((k) => k.nd !== undefined && k.icmpv6?.type === 136)).toBe(true);
    expect(has((k) => k.encap?.tcp !== undefined)).toBe(true);
    expect(has((k) => k.encap?.arp !== undefined)).toBe(true);
    expect(has((k) => k.encap?.encap?.udp !== undefined)).toBe(true);
    expect(has((k) => k.ethertype === undefined && k.ethernet !== undefined)).toBe(true);
    expect(has((k) => k.mpls !== undefined)).toBe(true);
    expect(has((k) => k.sctp !== undefined)).toBe(true);
    expect(has((k) => k.ipv6?.frag === 2 && k.udp === undefined)).toBe(true);
  });

  for (const [pname, decide] of policies()) {
    it(`accepts the ${pname}'s megaflow for each of them`, async () => {
      await dpif.flushFlows(topo.dp);
      const cases = keys.map((key) => ({ key, d: decide(key), ufid: randomUfid() }));
      const results = await dpif.putFlows(
        topo.dp,
        cases.map((c) => ({ key: keyBytes(c.key), mask: keyBytes(c.d.mask), actions: actionBytes(c.d.actions), ufid: c.ufid })),
      );
      // EEXIST would only say an earlier megaflow of the batch is the same one.
      const refused = results.map((r, i) => [cases[i].key.ethernet?.src, r.ok ? 'ok' : (r.error as { code?: string }).code]).filter(([, r]) => r !== 'ok' && r !== 'EEXIST');
      expect(refused).toEqual([]);
      expect(results.filter((r) => r.ok).length).toBeGreaterThan(cases.length / 2);
      for (const [i, c] of cases.entries()) if (results[i].ok) expectMaskKept(c.d.mask, decodeMask((await dpif.getFlow(topo.dp, { ufid: c.ufid })).mask!));
    });
  }
});
