// The CLI's fast flow-key scanner (text straight to attribute bytes) against
// src/odp's parser and key encoder: wherever the scanner answers, the bytes
// are the same; where it does not, the general parser takes over.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fastKeyBytes } from '../../src/cli/fast-key.js';
import { keyBytes } from '../../src/cli/flow-text.js';
import { parseOdpFlow } from '../../src/odp/index.js';
import { loadVectors } from './odp/vector-files.js';

const PORTS = new Map([
  ['va', 1],
  ['i1', 2],
]);

function general(text: string): { key: Uint8Array; mask: Uint8Array } | 'error' {
  try {
    const f = parseOdpFlow(text, { portNames: PORTS });
    return { key: new Uint8Array(keyBytes(f.key)), mask: new Uint8Array(keyBytes(f.mask)) };
  } catch {
    return 'error';
  }
}

function check(text: string): boolean {
  const fast = fastKeyBytes(text, PORTS);
  if (!fast) return false;
  expect({ text, ...fast }).toEqual({ text, ...(general(text) as object) });
  return true;
}

describe('fast key scanner = src/odp parser + encoder', () => {
  it('over OVS key vectors and the samples of ovs-dpctl 3.1', () => {
    const inputs = [...loadVectors('odp-keys-masked.txt'), ...loadVectors('odp-keys.txt')].map((v) => v.input);
    inputs.push(
      'in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.2,dst=10.1.0.1,proto=6,tos=0,ttl=64,frag=no),tcp(src=1000,dst=80),tcp_flags(0/0)',
      'in_port(2),eth(src=00:00:00:00:00:03/ff:ff:ff:00:00:00,dst=00:00:00:00:00:04),eth_type(0x0800),ipv4(src=10.9.0.0/255.255.255.0,dst=0.0.0.0/0.0.0.0,proto=6/0xff,frag=no),tcp(dst=443),tcp_flags(0/0)',
      'recirc_id(0),in_port(1),eth_type(0x0806),arp(sip=10.0.0.1,tip=10.0.0.2,op=1)',
      'in_port(va),eth(),eth_type(0x8100),vlan(vid=10,pcp=0),encap(eth_type(0x0800),ipv4(src=10.5.0.1,proto=17,frag=no),udp(dst=53))',
      'skb_mark(0x5),in_port(i1),eth(),eth_type(0x0800),ipv4(src=10.6.0.1,frag=no)',
      'in_port(1),eth(),eth_type(0x86dd),ipv6(src=2001:db8::1,dst=2001:db8::/ffff:ffff::,proto=58,frag=no),icmpv6(type=135),nd(target=2001:db8::5)',
      'in_port(1),eth(),eth_type(0x0800),ipv4(src=010.000.0.1,frag=later),tcp_flags(0x002/0x012)',
      'in_port(1),eth(),eth_type(0x0800),ipv4(src=1.2.3.4,src=5.6.7.8,),udp()',
      'dp_hash(0x12/0xff),skb_priority(7),ct_zone(5/0xf),ct_mark(0x1),in_port(1)',
      'in_port(1),in_port(2)',
      'in_port(nosuchport)',
      'ipv4(src=256.0.0.1)',
      'eth(src=0:1:2:3:4:5)',
      'in_port(1),eth(),eth_type(0x0800),ipv4(frag=maybe)',
      'recirc_id(0/0)',
    );
    let fast = 0;
    for (const t of inputs) if (check(t)) fast++;
    // Most of them take the fast path.
    expect(fast).toBeGreaterThan(inputs.length / 3);
  });

  it('on generated keys (property)', () => {
    const num = (max: number) =>
      fc.oneof(
        fc.integer({ min: 0, max }).map(String),
        fc.integer({ min: 0, max }).map((n) => `0x${n.toString(16)}`),
        fc.integer({ min: 0, max: max * 2 + 1 }).map((n) => `0${n.toString(8)}`),
      );
    const masked = (max: number) => fc.tuple(num(max), fc.option(num(max), { nil: undefined })).map(([v, m]) => (m === undefined ? v : `${v}/${m}`));
    const ip = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(300), fc.nat(255)).map((o) => o.join('.'));
    const mac = fc.uint8Array({ minLength: 6, maxLength: 6 }).map((b) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':'));
    const field = (name: string, v: fc.Arbitrary<string>) => fc.option(v.map((x) => `${name}=${x}`), { nil: undefined });
    const struct = (name: string, fields: fc.Arbitrary<string | undefined>[]) =>
      fc.tuple(...fields).map((fs) => `${name}(${fs.filter((f) => f !== undefined).join(',')})`);
    const attr = fc.oneof(
      masked(0xffffffff).map((v) => `in_port(${v})`),
      fc.constantFrom('in_port(va)', 'in_port(i1)', 'recirc_id(0)', 'eth()', 'tcp_flags(0/0)', 'frag=no'),
      masked(0xffff).map((v) => `eth_type(${v})`),
      masked(0xffffffff).map((v) => `skb_mark(${v})`),
      masked(0xffff).map((v) => `ct_zone(${v})`),
      struct('eth', [field('src', fc.tuple(mac, fc.option(mac)).map(([a, b]) => (b ? `${a}/${b}` : a))), field('dst', mac)]),
      struct('ipv4', [field('src', ip), field('dst', fc.tuple(ip, ip).map(([a, b]) => `${a}/${b}`)), field('proto', masked(255)), field('ttl', masked(300)), field('frag', fc.constantFrom('no', 'first', 'later', 'x'))]),
      struct('udp', [field('src', masked(0xffff)), field('dst', masked(70000))]),
      struct('tcp', [field('dst', masked(0xffff))]),
      struct('icmp', [field('type', masked(255)), field('code', masked(255))]),
      struct('arp', [field('sip', ip), field('op', masked(0xffff)), field('tha', mac)]),
      struct('vlan', [field('vid', masked(4095)), field('pcp', masked(7))]),
    );
    fc.assert(
      fc.property(fc.array(attr, { minLength: 1, maxLength: 6 }), fc.constantFrom(',', ', ', ' '), (attrs, sep) => {
        const text = attrs.join(sep);
        const fast = fastKeyBytes(text, PORTS);
        const want = general(text);
        if (want === 'error') expect(fast).toBeUndefined();
        else if (fast) expect(fast).toEqual(want);
        return true;
      }),
      { numRuns: 3000 },
    );
  });
});
