// The daemon's flow-match checks against the kernel's: the "Missing key"
// lines are the 6.1 module's own, recorded in dmesg for these keys
// (/work/shared/reference/ovs-dpctl-samples/dmesg_openvswitch.txt and
// peer-behaviour.md point 2); the mask rules follow match_validate.
import { describe, expect, it } from 'vitest';
import { AttrWriter } from '../../src/netlink/attr.js';
import { parseOdpFlow } from '../../src/odp/parse-key.js';
import { encodeKey } from '../../src/ovs/key-codec.js';
import type { FlowKey } from '../../src/ovs/keys.js';
import { validateMatch } from '../../src/userspace/match-validate.js';

const bytes = (k: FlowKey): Uint8Array => {
  const w = new AttrWriter(256);
  encodeKey(w, k);
  return w.finish().slice();
};

/** Key and mask bytes of an ODP flow, as ovs-dpctl sends them. */
function flow(text: string): { key: Uint8Array; mask: Uint8Array } {
  const f = parseOdpFlow(text);
  return { key: bytes(f.key), mask: bytes(f.mask) };
}

const put = (text: string) => {
  const f = flow(text);
  return () => validateMatch(f.key, f.mask);
};

describe('validateMatch: what the kernel refuses', () => {
  it('a TCP key without tcp_flags: the kernel line for it', () => {
    expect(put('in_port(1),eth(),eth_type(0x0800),ipv4(src=10.0.0.1,proto=6,frag=no),tcp(dst=80)')).toThrow(
      expect.objectContaining({ errno: 22, message: 'Missing key (keys=2d8, expected=40280)' }),
    );
  });

  it('ipv4 proto=17 without udp()', () => {
    expect(put('in_port(1),eth(),eth_type(0x0800),ipv4(src=10.0.0.1,proto=17,frag=no)')).toThrow('Missing key (keys=d8, expected=480)');
  });

  it('an ICMPv6 neighbour solicitation without nd()', () => {
    expect(put('in_port(1),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=135)')).toThrow('Missing key (keys=1148, expected=5100)');
  });

  it('an ARP key without arp(), and with it', () => {
    expect(put('in_port(1),eth(),eth_type(0x0806)')).toThrow(/^Missing key \(keys=58, expected=2000\)$/);
    expect(put('in_port(1),eth(),eth_type(0x0806),arp(op=1)')).not.toThrow();
  });

  it('a mask on L4 when the protocol is not matched exactly', () => {
    // proto masked to 0xf0: the udp() mask has no exact prerequisite.
    expect(put('in_port(1),eth(),eth_type(0x0800),ipv4(proto=17/0xf0,frag=no),udp(dst=53)')).toThrow(/^Unexpected mask \(mask=[0-9a-f]+, allowed=[0-9a-f]+\)$/);
    // eth_type wildcarded: no ipv4() mask allowed.
    expect(put('in_port(1),eth(),eth_type(0x0800/0xff00),ipv4(src=10.0.0.1,frag=no)')).toThrow(/^Unexpected mask/);
  });

  it('an ethertype below 0x600', () => {
    expect(put('in_port(1),eth(),eth_type(0x0100)')).toThrow('EtherType 100 is less than min 600');
  });

  it('VLAN frames: tag and encap together, CFI set, exact TPID in the mask', () => {
    const key = bytes({ inPort: 1, ethernet: { src: '00:00:00:00:00:00', dst: '00:00:00:00:00:00' }, ethertype: 0x8100, vlan: { vid: 10, pcp: 0, cfi: 1 } });
    expect(() => validateMatch(key, undefined)).toThrow('Invalid VLAN frame');
    expect(put('in_port(1),eth(),eth_type(0x8100),vlan(vid=10,pcp=0),encap(eth_type(0x0800),ipv4(src=10.5.0.1,proto=17,frag=no))')).toThrow(/^Missing key/);
    expect(put('in_port(1),eth(),eth_type(0x8100),vlan(vid=10,pcp=0),encap(eth_type(0x0800),ipv4(src=10.5.0.1,proto=17,frag=no),udp(dst=53))')).not.toThrow();
  });
});

describe('validateMatch: what the kernel takes', () => {
  it.each([
    'in_port(1),eth(),eth_type(0x0800),ipv4(src=10.0.0.1,proto=6,frag=no),tcp(dst=80),tcp_flags(0/0)',
    'in_port(1),eth(),eth_type(0x0800),ipv4(src=10.2.0.0/255.255.0.0,dst=10.1.0.0/255.255.0.0,proto=17,frag=no),udp(dst=53)',
    'in_port(1),eth(),eth_type(0x0800),ipv4(src=10.6.0.1,frag=no)',
    'in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.4,dst=10.1.0.1,proto=17,tos=0,ttl=64,frag=no),udp(src=1000,dst=53)',
    'in_port(1),eth_type(0x86dd),ipv6(proto=58,frag=no),icmpv6(type=135),nd(target=::1)',
    'in_port(1),eth(),eth_type(0x0800),ipv4(proto=6,frag=later)',
    'in_port(2),eth()',
  ])('%s', (text) => expect(put(text)).not.toThrow());

  it('a key naming a flow (get, del) is checked for missing attributes only', () => {
    const f = flow('in_port(1),eth(),eth_type(0x0800),ipv4(src=10.0.0.1,proto=6,frag=no),tcp(dst=80),tcp_flags(0/0)');
    expect(() => validateMatch(f.key, null)).not.toThrow();
    const g = flow('in_port(1),eth(),eth_type(0x0800),ipv4(src=10.0.0.1,proto=6,frag=no)');
    expect(() => validateMatch(g.key, null)).toThrow(/^Missing key/);
  });

  it('refuses a duplicate attribute', () => {
    const one = bytes({ inPort: 1 });
    const twice = new Uint8Array([...one, ...one]);
    expect(() => validateMatch(twice, undefined)).toThrow('Duplicate key (type 3).');
  });
});
