// The proofs of non-match, field by field: which bits a rule that did not
// match adds to a decision's mask.
import { describe, expect, it } from 'vitest';
import type { Action } from '../../src/ovs/actions.js';
import { parseRuleFile } from '../../src/switch/rule-file.js';
import { RuleTable } from '../../src/switch/rules.js';
import { arpKey, ipv4Key, ipv6Key, tagged } from './switch-keys.js';

const table = (text: string) => new RuleTable(parseRuleFile(text));
const out = (port: number): Action[] => [{ type: 'output', port }];
const V4 = { src: '0.0.0.0', dst: '0.0.0.0', proto: 0, tos: 0, ttl: 0, frag: 0 };

describe('RuleTable masks', () => {
  it('the matched rule alone: its bits and their prerequisites, nothing else', () => {
    const d = table('priority=10 ipv4(src=10.0.0.0/255.0.0.0) actions:2').decide(ipv4Key({ src4: '10.1.2.3' }));
    expect(d.actions).toEqual(out(2));
    expect(d.mask).toEqual({ inPort: 0xffffffff, recircId: 0xffffffff, ethertype: 0xffff, ipv4: { ...V4, src: '255.0.0.0' } });
  });

  it('a higher rule that fails on a field: the top differing bit of it', () => {
    const t = table('priority=20 tcp(dst=80) actions:2\npriority=10 actions:3');
    const d = t.decide(ipv4Key({ proto: 6, dport: 0x51 }));
    expect(d.actions).toEqual(out(3));
    // 80 = 0x50, 0x51 differs in bit 0 only.
    expect(d.mask.tcp).toEqual({ src: 0, dst: 1 });
    expect(d.mask.ipv4).toEqual({ ...V4, proto: 0xff, frag: 0xff });
  });

  it('a bit already in the mask proves a later rule for free', () => {
    const t = table('priority=30 ipv4(dst=10.0.0.0/255.0.0.0) actions:2\npriority=20 ipv4(dst=10.1.0.0/255.255.0.0) actions:4\npriority=10 actions:3');
    const d = t.decide(ipv4Key({ dst4: '192.168.0.1' }));
    expect(d.actions).toEqual(out(3));
    // 192 ^ 10 = 0xca: the top bit (128) proves both 10/8 and 10.1/16 fail.
    expect(d.mask.ipv4?.dst).toBe('128.0.0.0');
  });

  it('prefers a field of an attribute already read over a new attribute', () => {
    const t = table('priority=30 ipv4(dst=10.0.0.0/255.0.0.0) actions:2\npriority=20 in_port(9),ipv4(src=10.0.0.0/255.0.0.0),udp(dst=7) actions:4\npriority=10 actions:3');
    const d = t.decide(ipv4Key({ inPort: 1, src4: '172.16.0.1', dst4: '192.168.0.1', proto: 6 }));
    expect(d.actions).toEqual(out(3));
    // Rule 20 fails on in_port, on ipv4 src and on udp: in_port is exact in every megaflow anyway.
    expect(d.mask.ipv4?.src).toBe('0.0.0.0');
    expect(d.mask.udp).toBeUndefined();
  });

  it('an L4 rule against another protocol: the IP protocol proves it', () => {
    const t = table('priority=20 udp(dst=53) actions:2\npriority=10 actions:3');
    const d = t.decide(ipv4Key({ proto: 6, dport: 53 }));
    expect(d.actions).toEqual(out(3));
    expect(d.mask.tcp).toBeUndefined();
    expect(d.mask.ipv4).toEqual({ ...V4, proto: 0xff });
    expect(d.mask.ethertype).toBe(0xffff);
  });

  it('an L4 rule against a later fragment: the fragment type proves it', () => {
    const t = table('priority=20 udp(dst=53) actions:2\npriority=10 actions:3');
    const d = t.decide(ipv4Key({ proto: 17, frag: 2 }));
    expect(d.actions).toEqual(out(3));
    expect(d.mask.ipv4).toEqual({ ...V4, frag: 0xff });
  });

  it('an L3 rule against another EtherType: the EtherType proves it', () => {
    const t = table('priority=20 ipv4(dst=10.0.0.1) actions:2\npriority=10 actions:3');
    const d = t.decide(arpKey());
    expect(d.actions).toEqual(out(3));
    expect(d.mask).toEqual({ inPort: 0xffffffff, recircId: 0xffffffff, ethertype: 0xffff });
  });

  it('an ND rule against another ICMPv6 type: the type proves it', () => {
    const t = table('priority=20 nd(target=fe80::9) actions:2\npriority=10 actions:3');
    const d = t.decide(ipv6Key({ icmpType: 128 }));
    expect(d.actions).toEqual(out(3));
    expect(d.mask.icmpv6).toEqual({ type: 0xff, code: 0 });
    expect(d.mask.nd).toBeUndefined();
  });

  it('a VLAN rule against an untagged packet adds nothing (the kernel keeps the TCI exact)', () => {
    const t = table('priority=20 vlan(vid=10),encap(ipv4(dst=10.0.0.1)) actions:2\npriority=10 actions:3');
    expect(t.decide(ipv4Key()).mask).toEqual({ inPort: 0xffffffff, recircId: 0xffffffff });
  });

  it('an untagged rule against a tagged packet: the tag proves it', () => {
    const t = table('priority=20 ipv4(dst=10.0.0.2) actions:2\npriority=10 actions:3');
    const d = t.decide(tagged(ipv4Key({ dst4: '10.0.0.2' }), 10));
    expect(d.actions).toEqual(out(3));
    expect(d.mask.vlan).toEqual({ vid: 0, pcp: 0, cfi: 1 });
    expect(d.mask.encap).toEqual({ ethertype: 0xffff });
  });

  it('a VLAN rule on the wrong VID: one VID bit', () => {
    const t = table('priority=20 vlan(vid=10),encap(ipv4(dst=10.0.0.1)) actions:2\npriority=10 actions:3');
    const d = t.decide(tagged(ipv4Key({ dst4: '10.0.0.1' }), 11));
    expect(d.actions).toEqual(out(3));
    expect(d.mask.vlan).toEqual({ vid: 1, pcp: 0, cfi: 1 });
    expect(d.mask.encap?.ipv4).toBeUndefined();
  });

  it('equal priorities: the earlier rule decides, and the later one is not examined', () => {
    const t = table('priority=10 ipv4(proto=6) actions:2\npriority=10 tcp(dst=80) actions:3');
    const d = t.decide(ipv4Key({ proto: 6, dport: 80 }));
    expect(d.actions).toEqual(out(2));
    expect(d.mask.tcp).toBeUndefined();
  });

  it('replace() changes decisions and bumps the generation', () => {
    const t = table('priority=10 actions:2');
    const g = t.generation;
    t.replace(parseRuleFile('priority=10 actions:3'));
    expect(t.generation).toBe(g + 1);
    expect(t.decide(ipv4Key()).actions).toEqual(out(3));
  });
});
