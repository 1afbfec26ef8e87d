// The ODP module's API beyond OVS's vectors: errors, names, dump lines.
import { describe, expect, it } from 'vitest';
import { OdpParseError, canonicalKey, formatFlowDump, formatOdpActions, formatOdpFlow, formatOdpKey, formatTcpFlagLetters, parseFlowDump, parseOdpActions, parseOdpFlow } from '../../../src/odp/index.js';
import { parseUfid } from '../../../src/ovs/ufid.js';

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
