// flush-conntrack's tuple arguments: parsed with OVS 3.1's messages
// (lib/ofp-ct.c ofp_ct_tuple_parse) and matched as ct_dpif_entry_cmp does.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AF_INET, AF_INET6 } from '../../src/conntrack/constants.js';
import type { CtEntry, CtTuple } from '../../src/conntrack/entry.js';
import { CtTupleError, ctEntryMatches, emptyCtMatch, isFiveTuple, isZeroMatch, parseCtTuple, splitKeyValues, tupleOfMatch, type CtMatch } from '../../src/conntrack/match.js';

function parse(orig: string, reply?: string): CtMatch {
  const m = emptyCtMatch();
  parseCtTuple(orig, m, 'orig');
  if (reply !== undefined) parseCtTuple(reply, m, 'reply');
  return m;
}

const errorOf = (orig: string, reply?: string): string => {
  try {
    parse(orig, reply);
  } catch (e) {
    expect(e).toBeInstanceOf(CtTupleError);
    return (e as Error).message;
  }
  return 'no error';
};

describe('splitKeyValues (ofputil_parse_key_value)', () => {
  it('splits on commas and white space; key=value, key:value, key(value); bare keys get ""', () => {
    expect(splitKeyValues(' a=1, b:2\tc(x,y) d ,,e=')).toEqual([
      ['a', '1'],
      ['b', '2'],
      ['c', 'x,y'],
      ['d', ''],
      ['e', ''],
    ]);
    expect(splitKeyValues('')).toEqual([]);
  });
});

describe('parseCtTuple', () => {
  it('IPv4 five-tuple', () => {
    const m = parse('ct_nw_src=10.1.1.1,ct_nw_dst=10.1.1.2,ct_nw_proto=17,ct_tp_src=1,ct_tp_dst=0x10');
    expect(m).toEqual({ family: AF_INET, proto: 17, orig: { src: '10.1.1.1', dst: '10.1.1.2', srcPort: 1, dstPort: 16, icmpId: 0, icmpType: 0, icmpCode: 0 }, reply: expect.anything() });
    expect(isFiveTuple(m.orig, m.proto)).toBe(true);
    expect(tupleOfMatch(m)).toEqual({ family: AF_INET, src: '10.1.1.1', dst: '10.1.1.2', proto: 17, srcPort: 1, dstPort: 16 });
  });

  it('IPv6 and ICMP fields (after the protocol), canonical addresses', () => {
    const m = parse('ct_ipv6_src=FD00:0:0::1,ct_ipv6_dst=fd00::2,ct_nw_proto=58,icmp_id=7,icmp_type=128,icmp_code=0');
    expect(m.family).toBe(AF_INET6);
    expect(m.orig).toMatchObject({ src: 'fd00::1', dst: 'fd00::2', icmpId: 7, icmpType: 128 });
    expect(isFiveTuple(m.orig, m.proto)).toBe(true);
    expect(tupleOfMatch(m)).toEqual({ family: AF_INET6, src: 'fd00::1', dst: 'fd00::2', proto: 58, icmpId: 7, icmpType: 128, icmpCode: 0 });
  });

  it("OVS's messages for what it refuses", () => {
    expect(errorOf('c1')).toBe('field c1 missing value');
    expect(errorOf('system@c1')).toBe('field system@c1 missing value');
    expect(errorOf('ct_nw_src=1.2.3')).toBe('failed to parse field ct_nw_src');
    expect(errorOf('ct_nw_src=01.2.3.4')).toBe('failed to parse field ct_nw_src');
    expect(errorOf('ct_ipv6_src=fd00::g')).toBe('failed to parse field ct_ipv6_src');
    expect(errorOf('ct_nw_src=1.1.1.1,ct_nw_src=1.1.1.2')).toBe('ct_nw_src is set multiple times');
    expect(errorOf('ct_nw_src=1.1.1.1,ct_ipv6_dst=::1')).toBe('the L3 protocol does not match ::1');
    expect(errorOf('ct_ipv6_src=::1', 'ct_nw_dst=1.1.1.1')).toBe('the L3 protocol does not match 1.1.1.1');
    expect(errorOf('ct_nw_proto=256')).toBe('failed to parse field ct_nw_proto');
    expect(errorOf('ct_nw_proto=6,ct_tp_src=65536')).toBe('failed to parse field ct_tp_src');
    expect(errorOf('ct_tp_dst=80')).toBe('port is set without protocol');
    expect(errorOf('icmp_type=8,ct_nw_proto=1')).toBe('invalid L4 fields');
    expect(errorOf('ct_nw_proto=1,icmp_code=300')).toBe('failed to parse field icmp_code');
    expect(errorOf('nw_src=1.1.1.1')).toBe('invalid conntrack tuple field: nw_src');
  });

  it('strtol-style numbers: hex, octal, sign', () => {
    expect(parse('ct_nw_proto=0x11').proto).toBe(17);
    expect(parse('ct_nw_proto=021').proto).toBe(17);
    expect(errorOf('ct_nw_proto=-1')).toBe('failed to parse field ct_nw_proto');
    expect(errorOf('ct_nw_proto=17x')).toBe('failed to parse field ct_nw_proto');
  });

  it('"::" is no address at all, as in an in6_addr', () => {
    const m = parse('ct_ipv6_src=::,ct_ipv6_src=::1');
    expect(m.orig.src).toBe('::1');
    expect(isZeroMatch(emptyCtMatch())).toBe(true);
    expect(isZeroMatch(parse('ct_ipv6_src=::'))).toBe(false); // the family is set
  });
});

const t4 = (src: string, dst: string, proto: number, sp?: number, dp?: number): CtTuple => ({ family: AF_INET, src, dst, proto, srcPort: sp, dstPort: dp });
const entry = (orig: CtTuple, reply: CtTuple): CtEntry => ({ family: orig.family, orig, reply, id: 1, zone: 0, status: 8, origTupleBytes: new Uint8Array() });
const udp = entry(t4('10.0.0.1', '10.0.0.2', 17, 1000, 53), t4('10.0.0.2', '10.0.0.1', 17, 53, 1000));
const icmpEcho = entry(
  { family: AF_INET, src: '10.0.0.1', dst: '10.0.0.2', proto: 1, icmpId: 9, icmpType: 8, icmpCode: 0 },
  { family: AF_INET, src: '10.0.0.2', dst: '10.0.0.1', proto: 1, icmpId: 9, icmpType: 0, icmpCode: 0 },
);

describe('ctEntryMatches (ct_dpif_entry_cmp)', () => {
  it('fields left out match anything; given ones must be equal', () => {
    expect(ctEntryMatches(udp, parse('ct_nw_proto=17'))).toBe(true);
    expect(ctEntryMatches(udp, parse('ct_nw_src=10.0.0.1'))).toBe(true);
    expect(ctEntryMatches(udp, parse('ct_nw_src=10.0.0.2'))).toBe(false);
    expect(ctEntryMatches(udp, parse('ct_nw_proto=17,ct_tp_dst=53'))).toBe(true);
    expect(ctEntryMatches(udp, parse('ct_nw_proto=6'))).toBe(false);
    expect(ctEntryMatches(udp, parse('', 'ct_nw_src=10.0.0.2,ct_nw_proto=17,ct_tp_src=53'))).toBe(true);
    expect(ctEntryMatches(udp, parse('ct_ipv6_src=::1'))).toBe(false);
  });

  it('ICMP id, type and code compare on both sides even when left out (OVS 3.1)', () => {
    expect(ctEntryMatches(icmpEcho, parse('', 'ct_nw_src=10.0.0.2,ct_nw_proto=1,icmp_id=9,icmp_type=0,icmp_code=0'))).toBe(false);
    expect(ctEntryMatches(icmpEcho, parse('ct_nw_proto=1,icmp_id=9,icmp_type=8', 'icmp_id=9'))).toBe(true);
  });

  it('a parsed match never throws on any entry', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 255 }), fc.integer({ min: 0, max: 65535 }), (proto, port) => {
        const m = parse(`ct_nw_proto=${proto}`);
        if (proto !== 1 && proto !== 58) parseCtTuple(`ct_tp_src=${port}`, m, 'reply');
        expect(typeof ctEntryMatches(udp, m)).toBe('boolean');
      }),
    );
  });
});
