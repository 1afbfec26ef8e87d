// completeMask: the prerequisites the kernel's flow_netlink.c checks, field
// by field, for each key shape an upcall carries. That the module accepts
// the results is test/kernel/switch-masks.test.ts.
import { describe, expect, it } from 'vitest';
import type { FlowKey } from '../../src/ovs/keys.js';
import { completeMask, MaskError } from '../../src/switch/mask.js';
import { arpKey, ipv4Key, ipv6Key, tagged } from './switch-keys.js';

describe('completeMask', () => {
  it('makes in_port and recirc_id exact and leaves everything else wildcarded for an empty mask', () => {
    expect(completeMask(ipv4Key({ inPort: 3 }), {})).toEqual({ inPort: 0xffffffff, recircId: 0xffffffff });
  });

  it('keeps L2 fields without adding an EtherType', () => {
    const m = completeMask(ipv4Key(), { ethernet: { src: '00:00:00:00:00:00', dst: 'ff:ff:ff:ff:ff:ff' } });
    expect(m.ethernet).toEqual({ src: '00:00:00:00:00:00', dst: 'ff:ff:ff:ff:ff:ff' });
    expect(m.ethertype).toBeUndefined();
  });

  it('adds an exact EtherType under IPv4 fields, and widens a partial EtherType mask to exact', () => {
    const key = ipv4Key();
    const m = completeMask(key, { ipv4: { src: '0.0.0.0', dst: '255.255.0.0', proto: 0, tos: 0, ttl: 0, frag: 0 } });
    expect(m.ethertype).toBe(0xffff);
    expect(m.ipv4).toEqual({ src: '0.0.0.0', dst: '255.255.0.0', proto: 0, tos: 0, ttl: 0, frag: 0 });
    expect(completeMask(key, { ethertype: 0xff00 }).ethertype).toBe(0xffff);
  });

  it('adds IP protocol and fragment type (and EtherType) under L4 ports', () => {
    for (const [key, l4] of [
      [ipv4Key({ proto: 6 }), 'tcp'],
      [ipv4Key({ proto: 17 }), 'udp'],
      [ipv4Key({ proto: 132 }), 'sctp'],
      [ipv6Key({ proto: 17 }), 'udp'],
    ] as const) {
      const m = completeMask(key, { [l4]: { src: 0, dst: 0xffff } } as unknown as FlowKey);
      expect(m.ethertype).toBe(0xffff);
      const ip = (m.ipv4 ?? m.ipv6)!;
      expect(ip.proto).toBe(0xff);
      expect(ip.frag).toBe(0xff);
      expect((m as Record<string, unknown>)[l4]).toEqual({ src: 0, dst: 0xffff });
    }
  });

  it('adds IP protocol under ICMP and TCP flags', () => {
    expect(completeMask(ipv4Key({ proto: 1 }), { icmp: { type: 0xff, code: 0 } }).ipv4?.proto).toBe(0xff);
    expect(completeMask(ipv4Key({ proto: 6 }), { tcpFlags: 0x002 }).ipv4?.proto).toBe(0xff);
  });

  it('adds the ICMPv6 type under ND fields', () => {
    const m = completeMask(ipv6Key({ icmpType: 135 }), { nd: { target: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', sll: '00:00:00:00:00:00', tll: '00:00:00:00:00:00' } });
    expect(m.icmpv6).toEqual({ type: 0xff, code: 0 });
    expect(m.ipv6?.proto).toBe(0xff);
    expect(m.ethertype).toBe(0xffff);
  });

  it('adds the EtherType under ARP fields', () => {
    const m = completeMask(arpKey(), { arp: { sip: '0.0.0.0', tip: '255.255.255.255', op: 0, sha: '00:00:00:00:00:00', tha: '00:00:00:00:00:00' } });
    expect(m.ethertype).toBe(0xffff);
    expect(m.arp?.tip).toBe('255.255.255.255');
  });

  it('keeps only the low byte of the ARP opcode, as the kernel does', () => {
    const arp = { sip: '0.0.0.0', tip: '0.0.0.0', op: 0xffff, sha: '00:00:00:00:00:00', tha: '00:00:00:00:00:00' };
    expect(completeMask(arpKey(), { arp }).arp?.op).toBe(0xff);
    expect(completeMask(arpKey(), { arp: { ...arp, op: 0xff00 } }).arp).toBeUndefined();
  });

  it('spells out the tag of a VLAN key: TPID exact, TCI present bit, inner EtherType exact', () => {
    const key = tagged(ipv4Key({ proto: 17 }), 10, 3);
    expect(completeMask(key, {})).toEqual({
      inPort: 0xffffffff,
      ethertype: 0xffff,
      vlan: { vid: 0, pcp: 0, cfi: 1 },
      encap: { ethertype: 0xffff },
      recircId: 0xffffffff,
    });
    const m = completeMask(key, { vlan: { vid: 0xfff, pcp: 0, cfi: 0 }, encap: { udp: { src: 0, dst: 0xffff } } });
    expect(m.vlan).toEqual({ vid: 0xfff, pcp: 0, cfi: 1 });
    expect(m.encap?.ethertype).toBe(0xffff);
    expect(m.encap?.ipv4?.proto).toBe(0xff);
    expect(m.encap?.ipv4?.frag).toBe(0xff);
    expect(m.encap?.udp).toEqual({ src: 0, dst: 0xffff });
  });

  it('keeps the key order of attributes', () => {
    const key = ipv4Key();
    const m = completeMask(key, { tcp: { src: 0, dst: 0xffff }, ethernet: { src: 'ff:ff:ff:ff:ff:ff', dst: '00:00:00:00:00:00' } });
    expect(Object.keys(m)).toEqual(['inPort', 'recircId', 'ethernet', 'ethertype', 'ipv4', 'tcp']);
  });

  it('drops all-zero attributes', () => {
    const m = completeMask(ipv4Key(), { tcp: { src: 0, dst: 0 }, ipv4: { src: '0.0.0.0', dst: '0.0.0.0', proto: 0, tos: 0, ttl: 0, frag: 0 } });
    expect(m).toEqual({ inPort: 0xffffffff, recircId: 0xffffffff });
  });

  it('refuses a mask on fields the key does not have', () => {
    expect(() => completeMask(ipv4Key({ proto: 17 }), { tcp: { src: 0, dst: 1 } })).toThrow(MaskError);
    expect(() => completeMask(ipv4Key(), { vlan: { vid: 1, pcp: 0, cfi: 1 } })).toThrow(MaskError);
    expect(() => completeMask(arpKey(), { encap: { ethertype: 0xffff } })).toThrow(MaskError);
  });
});
