// The ODP module's API beyond OVS's vectors: errors, names, dump lines.
import { describe, expect, it } from 'vitest';
import { OdpParseError, canonicalKey, formatFlowDump, formatOdpActions, formatOdpFlow, formatOdpKey, formatTcpFlagLetters, parseFlowDump, parseOdpActions, parseOdpFlow } from '../../../src/odp/index.js';
import { decodeActions, encodeActions } from '../../../src/ovs/index.js';
import { parseUfid } from '../../../src/ovs/ufid.js';
import { AttrWriter } from '../../../src/netlink/attr.js';

function parseError(f: () => unknown): OdpParseError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(OdpParseError);
    return e as OdpParseError;
  }
  throw new Error('no error');
}

describe('parse errors', () => {
  it('say what and where', () => {
    const e = parseError(() => parseOdpFlow('in_port(1),eth_type(0x0800),ipv4(frag=maybe)'));
    expect(e.offset).toBe(38);
    expect(e.reason).toMatch(/frag: expected no, first or later/);
    expect(e.at).toBe('ipv4(frag=maybe)');
    expect(e.ovsMessage).toBe('syntax error at ipv4(frag=maybe)');
    expect(e.message).toContain('⟨here⟩maybe');
  });

  it('refuse values that do not fit (OVS truncates them silently)', () => {
    expect(parseError(() => parseOdpFlow('tcp(src=65536)')).reason).toMatch(/does not fit in 16 bits/);
    expect(parseError(() => parseOdpFlow('ipv4(src=256.0.0.1)')).reason).toMatch(/256 is not an IPv4 address octet/);
    expect(parseError(() => parseOdpActions('ct(commit,zone=65536)')).reason).toMatch(/does not fit/);
    expect(parseError(() => parseOdpActions('trunc(-1)')).reason).toMatch(/unknown action|expected a number/);
  });

  it('point at the failing action', () => {
    const e = parseError(() => parseOdpActions('1,2,push_vlan(vid=1),3'));
    expect(e.at).toBe('push_vlan(vid=1),3');
    expect(e.offset).toBeGreaterThan(4);
  });
});

describe('port names', () => {
  const byName = new Map([
    ['br0', 0],
    ['eth1', 1],
  ]);
  const byNumber = new Map([...byName].map(([n, p]) => [p, n]));
  it('read and print in_port and outputs by name', () => {
    const f = parseOdpFlow('in_port(eth1),eth_type(0x0800),ipv4(frag=no)', { portNames: byName });
    expect(f.key.inPort).toBe(1);
    expect(formatOdpFlow(f.key, f.mask, { portNames: byNumber })).toBe('in_port(eth1),eth_type(0x0800),ipv4(frag=no)');
    const a = parseOdpActions('br0,set(ipv4(ttl=1)),eth1', { portNames: byName });
    expect(a[0]).toEqual({ type: 'output', port: 0 });
    expect(formatOdpActions(a, { portNames: byNumber })).toBe('br0,set(ipv4(ttl=1)),eth1');
  });
});

describe('keys alone', () => {
  it('print every field, as OVS prints a key without a mask', () => {
    const { key } = parseOdpFlow('in_port(1),eth_type(0x0800),ipv4(src=1.2.3.4)');
    expect(formatOdpKey(key)).toBe('in_port(1),eth_type(0x0800),ipv4(src=1.2.3.4,dst=0.0.0.0,proto=0,tos=0,ttl=0,frag=no)');
    expect(formatOdpFlow(key)).toBe(formatOdpKey(key));
  });

  it('canonicalKey reports fitness and can include conntrack tuples', () => {
    const { key } = parseOdpFlow('in_port(1),ct_state(0x21),ct_tuple4(src=1.2.3.4,dst=5.6.7.8,proto=6,tp_src=1,tp_dst=2),eth(),eth_type(0x0800),ipv4(proto=6,frag=no),tcp()');
    const c = canonicalKey(key, { ctOrigTuple: true });
    expect(c.fitness).toBe('perfect');
    expect(formatOdpKey(c.key)).toContain('ct_label(0),ct_tuple4(src=1.2.3.4,dst=5.6.7.8,proto=6,tp_src=1,tp_dst=2),packet_type(ns=0,id=0)');
  });
});

describe('dump-flows lines', () => {
  it('print stats, used time and TCP flags like ovs-dpctl', () => {
    const { key, mask } = parseOdpFlow('in_port(1),eth(),eth_type(0x0800),ipv4(proto=6,frag=no),tcp(dst=80)');
    const line = formatFlowDump({ key, mask, packets: 10n, bytes: 600n, used: 1000n, tcpFlags: 0x12, actions: parseOdpActions('2') }, { now: 5416n });
    expect(line).toBe('in_port(1),eth(),eth_type(0x0800),ipv4(proto=6,frag=no),tcp(dst=80), packets:10, bytes:600, used:4.416s, flags:S., actions:2');
    const back = parseFlowDump(line);
    expect(back.packets).toBe(10n);
    expect(back.usedSecondsAgo).toBe(4.416);
    expect(back.flags).toBe('S.');
  });

  it('show the UFID with -m', () => {
    const ufid = parseUfid('ufid:11111111-2222-3333-4444-555555555555');
    const line = formatFlowDump({ ufid, key: { inPort: 1 }, mask: { inPort: 0xffffffff }, packets: 0n, bytes: 0n, actions: [] }, { verbose: true });
    expect(line).toBe('ufid:11111111-2222-3333-4444-555555555555, in_port(1), packets:0, bytes:0, used:never, actions:drop');
    expect(parseFlowDump(line).ufid).toEqual(ufid);
  });

  // dpif_flow_stats_format (lib/dpif.c, called by dpctl.c's format_dpif_flow):
  // "used:" is (now - used) ms printed as seconds with three decimals, and
  // "flags:" (only when some flag was seen) is packet_format_tcp_flags'
  // letters in the order S F P R U . E C N, then [200] [400] [800].
  it('print non-zero used: and flags: as dpif_flow_stats_format does, and read them back', () => {
    const flow = 'recirc_id(0),in_port(2),eth_type(0x0800),ipv4(proto=6,frag=no),tcp(dst=443)';
    const { key, mask } = parseOdpFlow(flow);
    const entry = { key, mask, packets: 7n, bytes: 1042n, used: 1_000_000n, tcpFlags: 0x3f, actions: parseOdpActions('set(ipv4(ttl=63)),3') };
    const line = formatFlowDump(entry, { now: 1_000_120n });
    expect(line).toBe(`${flow}, packets:7, bytes:1042, used:0.120s, flags:SFPRU., actions:set(ipv4(ttl=63)),3`);
    const back = parseFlowDump(line);
    expect(formatOdpFlow(back.key, back.mask)).toBe(flow);
    expect(back.packets).toBe(7n);
    expect(back.bytes).toBe(1042n);
    expect(back.usedSecondsAgo).toBe(0.12);
    expect(back.flags).toBe('SFPRU.');
    expect(formatOdpActions(back.actions)).toBe('set(ipv4(ttl=63)),3');
    const used = 1_000_120n - BigInt(Math.round(back.usedSecondsAgo! * 1000));
    expect(formatFlowDump({ key: back.key, mask: back.mask, packets: back.packets, bytes: back.bytes, used, tcpFlags: 0x3f, actions: back.actions }, { now: 1_000_120n })).toBe(line);
  });

  it('print every flag bit, 64-bit counters and a few ms with -m', () => {
    const ufid = parseUfid('ufid:0a0b0c0d-1111-2222-3333-444455556666');
    // tcp() is a key attribute with an all-zero mask: -m shows it, the terse form leaves it out.
    const { key, mask } = parseOdpFlow('in_port(1),eth(),eth_type(0x86dd),ipv6(proto=6,frag=no),tcp()');
    const max = 18446744073709551615n;
    const line = formatFlowDump({ ufid, key, mask, packets: max, bytes: max, used: 77n, tcpFlags: 0xfff, actions: [], offloaded: 'partial', dpLayer: 'ovs' }, { verbose: true, now: 82n });
    expect(line).toBe(
      'ufid:0a0b0c0d-1111-2222-3333-444455556666, in_port(1),eth(src=00:00:00:00:00:00/00:00:00:00:00:00,dst=00:00:00:00:00:00/00:00:00:00:00:00),eth_type(0x86dd),' +
        'ipv6(src=::/::,dst=::/::,label=0/0,proto=6,tclass=0/0,hlimit=0/0,frag=no),tcp(src=0/0,dst=0/0), packets:18446744073709551615, bytes:18446744073709551615, used:0.005s, flags:SFPRU.ECN[200][400][800], offloaded:partial, dp:ovs, actions:drop',
    );
    const back = parseFlowDump(line);
    expect(back.ufid).toEqual(ufid);
    expect(back.packets).toBe(max);
    expect(back.bytes).toBe(max);
    expect(back.usedSecondsAgo).toBe(0.005);
    expect(back.flags).toBe('SFPRU.ECN[200][400][800]');
    expect(formatOdpFlow(back.key, back.mask)).toBe('in_port(1),eth(),eth_type(0x86dd),ipv6(proto=6,frag=no)');
    expect(back.actions).toEqual([{ type: 'drop', reason: 0 }]);
  });

  it('spell TCP flags as tcpdump does', () => {
    expect(formatTcpFlagLetters(0)).toBe('none');
    expect(formatTcpFlagLetters(0x1ff)).toBe('SFPRU.ECN');
  });
});

describe('ufid prefix', () => {
  it('is accepted before a key with one space, not a comma', () => {
    expect(parseOdpFlow('ufid:12345678-9ABC-def0-1234-56789abcdef0 in_port(1)').ufid).toEqual(parseUfid('ufid:12345678-9abc-def0-1234-56789abcdef0'));
    expect(parseError(() => parseOdpFlow('ufid:12345678-9abc-def0-1234-56789abcdef0,in_port(1)')).at).toBe(',in_port(1)');
  });
});

// dec_ttl: the expected text follows OVS's format_dec_ttl_action (lib/odp-util.c):
// "dec_ttl(le_1(", the nested OVS_DEC_TTL_ATTR_ACTION list as format_odp_actions
// prints any list (so an empty one is "drop"), then "))". OVS's
// odp_actions_from_string has no dec_ttl parser at all (VECTORS.md lists it
// among the asymmetries), so no vector has it; ovsnl reads the printed form back.
describe('dec_ttl (format_dec_ttl_action)', () => {
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
  // One netlink attribute, header in host byte order, payload padded to 4 bytes.
  const nla = (type: number, ...parts: Uint8Array[]): Uint8Array => {
    const len = 4 + parts.reduce((n, p) => n + p.length, 0);
    const out = new Uint8Array((len + 3) & ~3);
    new Uint16Array(out.buffer, 0, 2).set([len, type]);
    let off = 4;
    for (const p of parts) {
      out.set(p, off);
      off += p.length;
    }
    return out;
  };
  const u32 = (v: number): Uint8Array => new Uint8Array(new Uint32Array([v]).buffer);
  // include/linux/openvswitch.h: OVS_ACTION_ATTR_OUTPUT = 1, OVS_ACTION_ATTR_DEC_TTL = 23,
  // OVS_DEC_TTL_ATTR_ACTION = 1.
  const OUTPUT = 1;
  const DEC_TTL = 23;
  const ACTION = 1;
  const output = (port: number): Uint8Array => nla(OUTPUT, u32(port));
  const cases: [string, Uint8Array][] = [
    ['dec_ttl(le_1(drop))', nla(DEC_TTL, nla(ACTION))],
    ['dec_ttl(le_1(1,2))', nla(DEC_TTL, nla(ACTION, output(1), output(2)))],
    ['dec_ttl(le_1(2)),3', Buffer.concat([nla(DEC_TTL, nla(ACTION, output(2))), output(3)])],
    ['dec_ttl(le_1(dec_ttl(le_1(drop))))', nla(DEC_TTL, nla(ACTION, nla(DEC_TTL, nla(ACTION))))],
  ];
  for (const [text, bytes] of cases) {
    it(`${text}: parse → format, and through netlink attributes`, () => {
      const actions = parseOdpActions(text);
      expect(formatOdpActions(actions)).toBe(text);
      const w = new AttrWriter();
      encodeActions(w, actions);
      const encoded = w.finish().slice();
      expect(hex(encoded)).toBe(hex(bytes));
      expect(formatOdpActions(decodeActions(encoded))).toBe(text);
      expect(formatOdpActions(decodeActions(bytes))).toBe(text);
    });
  }

  it('prints an empty nested list as drop', () => {
    expect(formatOdpActions([{ type: 'decTtl', actions: [] }])).toBe('dec_ttl(le_1(drop))');
    expect(parseOdpActions('dec_ttl(le_1(drop))')).toEqual([{ type: 'decTtl', actions: [] }]);
    expect(parseOdpActions('dec_ttl(le_1(1,2))')).toEqual([{ type: 'decTtl', actions: [{ type: 'output', port: 1 }, { type: 'output', port: 2 }] }]);
  });

  it('rejects malformed forms', () => {
    for (const bad of ['dec_ttl', 'dec_ttl()', 'dec_ttl(1)', 'dec_ttl(le_1(1)', 'dec_ttl(le_1(1),2)', 'dec_ttl(le_1(drop,1))']) {
      expect(() => parseOdpActions(bad), bad).toThrow(OdpParseError);
    }
  });
});
