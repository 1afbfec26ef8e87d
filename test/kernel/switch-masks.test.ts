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
import { dropDatapath, openDpif, uniqueName } from './ovs-helpers.js';

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
  let dpif: KernelDpif;
  const dp = uniqueName('ovsmk');

  beforeAll(async () => {
    requireOvsModule();
    dpif = await openDpif();
    await dpif.createDatapath({ name: dp });
  });
  afterAll(async () => {
    await dropDatapath(dpif, dp);
    dpif.close();
  });

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
