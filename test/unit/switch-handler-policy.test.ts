// The policy `ovsnl run` builds from --rules and --learning: who decides for
// a rule match, a `normal` rule, a table miss, and what a reload keeps.
import { describe, expect, it } from 'vitest';
import type { FlowKey } from '../../src/ovs/keys.js';
import { buildRunPolicy } from '../../src/switch/switch-policy.js';

const ports = (): readonly number[] => [0, 1, 2, 3];

const ipv4 = (inPort: number, src: string, dst: string, dstIp: string): FlowKey => ({
  recircId: 0,
  inPort,
  ethernet: { src, dst },
  ethertype: 0x0800,
  ipv4: { src: '10.0.0.1', dst: dstIp, proto: 17, tos: 0, ttl: 64, frag: 0 },
  udp: { src: 1000, dst: 2000 },
});
const arp = (inPort: number, src: string): FlowKey => ({
  recircId: 0,
  inPort,
  ethernet: { src, dst: 'ff:ff:ff:ff:ff:ff' },
  ethertype: 0x0806,
  arp: { sip: '10.0.0.1', tip: '10.0.0.2', op: 1, sha: src, tha: '00:00:00:00:00:00' },
});

const RULES = [
  'name=to3 priority=100 eth_type(0x0800),ipv4(dst=10.0.0.3) actions:3',
  'name=arp priority=50 eth_type(0x0806) actions:normal',
].join('\n');

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';

describe('buildRunPolicy', () => {
  it('rules and learning: rules first; normal rules and table misses go to the learning switch', () => {
    const p = buildRunPolicy({ ports, learning: true, rules: RULES, origin: 'r' });
    expect(p.describe).toMatch(/rule table \(2 rules, normal and table misses to the learning switch\)/);
    const d1 = p.policy.decide(ipv4(1, A, B, '10.0.0.3'));
    expect(d1).toMatchObject({ actions: [{ type: 'output', port: 3 }], reason: 'to3' });
    const d2 = p.policy.decide(arp(1, A));
    expect(d2.reason).toBe('arp:flood');
    expect(d2.actions).toEqual([0, 2, 3].map((port) => ({ type: 'output', port })));
    expect(p.policy.decide(ipv4(1, A, B, '10.0.0.9')).reason).toBe('table-miss:flood');
    // Learned through the rule table's observe.
    expect(p.policy.observe!(ipv4(2, B, A, '10.0.0.1'), 0)).toBe(true);
    expect(p.policy.decide(ipv4(1, A, B, '10.0.0.9'))).toMatchObject({ actions: [{ type: 'output', port: 2 }], reason: 'table-miss:learned' });
  });

  it("a file's own table-miss line wins over the learning switch", () => {
    const p = buildRunPolicy({ ports, learning: true, rules: `${RULES}\ntable-miss actions:1`, origin: 'r' });
    expect(p.policy.decide(ipv4(2, A, B, '10.0.0.9'))).toMatchObject({ actions: [{ type: 'output', port: 1 }], reason: 'table-miss' });
  });

  it('rules alone: normal rules and table misses drop', () => {
    const p = buildRunPolicy({ ports, learning: false, rules: RULES, origin: 'r' });
    expect(p.policy.decide(arp(1, A)).actions).toEqual([]);
    expect(p.policy.decide(ipv4(1, A, B, '10.0.0.9')).actions).toEqual([]);
  });

  it('a reload replaces the rules and bumps the generation; one that does not parse changes nothing', () => {
    const p = buildRunPolicy({ ports, learning: false, rules: RULES, origin: 'r', portNames: new Map([['eth9', 9]]) });
    const g = p.policy.generation;
    expect(() => p.reload('name=x in_port(1) actions:output(', 'r')).toThrow(/r:1:/);
    expect(p.policy.generation).toBe(g);
    expect(p.policy.decide(ipv4(1, A, B, '10.0.0.3')).reason).toBe('to3');
    expect(p.reload('name=y in_port(eth9) actions:1', 'r', new Map([['eth9', 9]]))).toBe(1);
    expect(p.policy.generation).toBe(g + 1);
    expect(p.policy.decide({ ...ipv4(9, A, B, '10.0.0.3') })).toMatchObject({ actions: [{ type: 'output', port: 1 }], reason: 'y' });
  });

  it('learning alone has no rules to reload', () => {
    const p = buildRunPolicy({ ports, learning: true });
    expect(p.describe).toBe('learning switch');
    expect(() => p.reload('', 'r')).toThrow(/no rules file/);
  });
});
