// The fallback datapath's connection tracker against what Linux 6.1's
// openvswitch module and netfilter conntrack do with the same packets: the
// ct_state each packet gets, what is kept and for how long, and what is
// refused. Frames are built whole (checksums right unless a case says not),
// the clock is a number the tests move.
import { beforeEach, describe, expect, it } from 'vitest';
import { buildFrame, parsePacket, type FrameSpec, type L4Spec, type ParsedPacket } from '../../src/packet/index.js';
import {
  CS_EST,
  CS_INV,
  CS_NEW,
  CS_REL,
  CS_RPL,
  CS_TRK,
  ConnTracker,
  IPS_ASSURED,
  IPS_CONFIRMED,
  IPS_SEEN_REPLY,
  type CtEntryView,
  type CtVerdict,
} from '../../src/userspace/conntrack.js';

const NEW = CS_TRK | CS_NEW;
const EST = CS_TRK | CS_EST;
const RPL = CS_TRK | CS_EST | CS_RPL;
const INV = CS_TRK | CS_INV;
const FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10;

const A = '10.1.0.1';
const B = '10.1.0.2';
const C = '10.1.0.3';
const A6 = 'fd00::1';
const B6 = 'fd00::2';

let t = 0;
let ct: ConnTracker;
beforeEach(() => {
  t = 0;
  ct = new ConnTracker({ now: () => t });
});

/** Moves the clock on (whole milliseconds, so timeouts compare exactly). */
const sec = (s: number): void => {
  t += Math.round(s * 1000);
};

interface Opt {
  v6?: boolean;
  src?: string;
  dst?: string;
  payload?: Uint8Array | number;
  padTo?: number;
  ipv4?: { mf?: boolean; fragOffset?: number };
}

/** A frame from A to B (fwd) or B to A. */
function pkt(fwd: boolean, l4: L4Spec, o: Opt = {}): ParsedPacket {
  const [a, b] = o.v6 ? [A6, B6] : [A, B];
  const src = o.src ?? (fwd ? a : b);
  const dst = o.dst ?? (fwd ? b : a);
  const spec: FrameSpec = {
    l3: o.v6 ? { kind: 'ipv6', src, dst } : { kind: 'ipv4', src, dst, ...o.ipv4 },
    l4,
    payload: o.payload,
    padTo: o.padTo,
  };
  return parsePacket(buildFrame(spec));
}

const udp = (fwd: boolean, o: Opt & { checksum?: number | 'none'; length?: number } = {}): ParsedPacket =>
  pkt(fwd, { kind: 'udp', src: fwd ? 5000 : 53, dst: fwd ? 53 : 5000, checksum: o.checksum, length: o.length }, { payload: 20, ...o });

const tcp = (fwd: boolean, flags: number, seq: number, ack: number, o: Opt & { checksum?: number; window?: number; dataOffset?: number } = {}): ParsedPacket =>
  pkt(
    fwd,
    { kind: 'tcp', src: fwd ? 40000 : 80, dst: fwd ? 80 : 40000, flags, seq, ack, window: o.window ?? 29200, checksum: o.checksum, dataOffset: o.dataOffset },
    o,
  );

const echo = (fwd: boolean, type: number, id = 0x1234, o: Opt & { checksum?: number } = {}): ParsedPacket =>
  pkt(fwd, { kind: o.v6 ? 'icmpv6' : 'icmp', type, rest: (id << 16) | 1, checksum: o.checksum }, { payload: 16, ...o });

/** What an ICMP error quotes: the IP header and 8 bytes of a UDP datagram between A and B. */
function quoteUdp(fromA: boolean, v6 = false): Uint8Array {
  const f = buildFrame({
    l3: v6 ? { kind: 'ipv6', src: fromA ? A6 : B6, dst: fromA ? B6 : A6 } : { kind: 'ipv4', src: fromA ? A : B, dst: fromA ? B : A },
    l4: { kind: 'udp', src: fromA ? 5000 : 53, dst: fromA ? 53 : 5000 },
    payload: 20,
  });
  return f.slice(14, 14 + (v6 ? 40 : 20) + 8);
}

const commit = { force: false };
const run = (p: ParsedPacket, zone = 0, c: Parameters<ConnTracker['process']>[2] = commit): CtVerdict => ct.process(p, zone, c);
const look = (p: ParsedPacket, zone = 0): CtVerdict => ct.process(p, zone);
const states = (ps: ParsedPacket[], zone = 0): number[] => ps.map((p) => run(p, zone).state);
const only = (): CtEntryView => {
  const all = [...ct.entries()];
  expect(all).toHaveLength(1);
  return all[0];
};
const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

describe('UDP', () => {
  it('committed: new until answered, then established both ways, with the original tuple of the first packet', () => {
    const v = run(udp(true));
    expect(v.state).toBe(NEW);
    expect(v.orig).toEqual({ ipv6: false, src: bytes(10, 1, 0, 1), dst: bytes(10, 1, 0, 2), srcPort: 5000, dstPort: 53, proto: 17 });
    expect(run(udp(true)).state).toBe(NEW);
    const r = run(udp(false));
    expect(r.state).toBe(RPL);
    expect(r.orig?.srcPort).toBe(5000);
    expect(run(udp(true)).state).toBe(EST);
    expect(ct.size).toBe(1);
    expect(only().status & (IPS_CONFIRMED | IPS_SEEN_REPLY)).toBe(IPS_CONFIRMED | IPS_SEEN_REPLY);
  });

  it('look-up only keeps nothing: every packet is new, its own tuple the original', () => {
    expect(look(udp(true)).state).toBe(NEW);
    const r = look(udp(false));
    expect(r.state).toBe(NEW);
    expect(r.orig?.src).toEqual(bytes(10, 1, 0, 2));
    expect(r.orig?.srcPort).toBe(53);
    expect(look(udp(true)).state).toBe(NEW);
    expect(ct.size).toBe(0);
  });

  it('a look-up still updates a committed connection (the reply is seen)', () => {
    run(udp(true));
    expect(look(udp(false)).state).toBe(RPL);
    expect(look(udp(true)).state).toBe(EST);
  });

  it('checksums: zero means none (IPv4 and IPv6 alike in udp_error), a wrong one is invalid', () => {
    expect(run(udp(true, { checksum: 'none' })).state).toBe(NEW);
    expect(run(udp(true, { v6: true, checksum: 'none' })).state).toBe(NEW);
    const bad = run(udp(false, { checksum: 0x1234 }));
    expect(bad).toEqual({ state: INV, mark: 0, labels: 0n, orig: undefined, drop: false });
    // The invalid answer did not count as the reply.
    expect(run(udp(true)).state).toBe(NEW);
  });

  it('a length field past the data, or below the header, is invalid; so is a cut header', () => {
    expect(run(udp(true, { length: 200, checksum: 'none' })).state).toBe(INV);
    expect(run(udp(true, { length: 4, checksum: 'none' })).state).toBe(INV);
    const cut = buildFrame({ l3: { kind: 'ipv4', src: A, dst: B, proto: 17 }, payload: bytes(0x13, 0x88, 0, 53, 0, 8) });
    expect(run(parsePacket(cut)).state).toBe(INV);
    expect(ct.size).toBe(0);
  });

  it('Ethernet padding is not part of the datagram', () => {
    expect(run(udp(true, { payload: 2, padTo: 60 })).state).toBe(NEW);
  });

  it('times out after 30 s unanswered; answered within 2 s 30 s, later 120 s and assured', () => {
    run(udp(true));
    expect(only().timeout).toBe(30);
    sec(29.999);
    expect(run(udp(true)).state).toBe(NEW);
    sec(30);
    expect([...ct.entries()]).toHaveLength(0);
    expect(run(udp(false)).state).toBe(NEW); // the old connection is gone: this starts one
    sec(1);
    expect(run(udp(true)).state).toBe(RPL);
    expect(only().timeout).toBe(30);
    expect(only().status & IPS_ASSURED).toBe(0);
    sec(0.5);
    // Answered, but within 2 s of the first packet: not a stream yet.
    expect(run(udp(false)).state).toBe(EST);
    expect(only().timeout).toBe(30);
    expect(only().status & IPS_ASSURED).toBe(0);
    sec(1);
    expect(run(udp(false)).state).toBe(EST);
    expect(only().timeout).toBe(120);
    expect(only().status & IPS_ASSURED).toBe(IPS_ASSURED);
    sec(119.999);
    expect(run(udp(true)).state).toBe(RPL);
  });
});

describe('TCP', () => {
  const stateOf = (): string => only().state;

  it('handshake, data and FIN close to TIME_WAIT, each state with its timeout', () => {
    const seen: [number, string, number][] = [];
    const step = (p: ParsedPacket): void => {
      const v = run(p);
      const e = only();
      seen.push([v.state, e.state, e.timeout]);
    };
    step(tcp(true, SYN, 1000, 0));
    step(tcp(false, SYN | ACK, 5000, 1001));
    step(tcp(true, ACK, 1001, 5001));
    step(tcp(true, ACK | PSH, 1001, 5001, { payload: 100 }));
    step(tcp(false, ACK, 5001, 1101));
    step(tcp(true, FIN | ACK, 1101, 5001));
    step(tcp(false, FIN | ACK, 5001, 1102));
    step(tcp(true, ACK, 1102, 5002));
    expect(seen).toEqual([
      [NEW, 'SYN_SENT', 120],
      [RPL, 'SYN_RECV', 60],
      [EST, 'ESTABLISHED', 5 * 86400],
      // Data not yet acknowledged: the shorter UNACK timeout.
      [EST, 'ESTABLISHED', 300],
      [RPL, 'ESTABLISHED', 5 * 86400],
      [EST, 'FIN_WAIT', 120],
      [RPL, 'LAST_ACK', 30],
      [EST, 'TIME_WAIT', 120],
    ]);
    expect(only().status & IPS_ASSURED).toBe(IPS_ASSURED);
    expect(only().orig).toEqual({ family: 2, src: A, dst: B, proto: 6, srcPort: 40000, dstPort: 80 });
    expect(only().reply).toEqual({ family: 2, src: B, dst: A, proto: 6, srcPort: 80, dstPort: 40000 });
  });

  const handshake = (isn = 1000, risn = 5000): void => {
    expect(states([tcp(true, SYN, isn, 0), tcp(false, SYN | ACK, risn, isn + 1), tcp(true, ACK, isn + 1, risn + 1)])).toEqual([NEW, RPL, EST]);
  };

  it('a reset ends the connection (CLOSE, 10 s); a new SYN starts another', () => {
    run(tcp(true, SYN, 2000, 0));
    run(tcp(false, SYN | ACK, 7000, 2001));
    expect(run(tcp(true, RST, 2001, 0)).state).toBe(EST);
    expect(stateOf()).toBe('CLOSE');
    expect(only().timeout).toBe(10);
    const v = run(tcp(true, SYN, 3000, 0));
    expect(v.state).toBe(NEW);
    expect(stateOf()).toBe('SYN_SENT');
  });

  it('a reset as the only answer to a SYN deletes the connection at once', () => {
    run(tcp(true, SYN, 1000, 0));
    expect(run(tcp(false, RST | ACK, 0, 1001)).state).toBe(RPL);
    expect(ct.size).toBe(0);
  });

  it('a reset below what the peer acknowledged is invalid on an established connection', () => {
    handshake();
    expect(run(tcp(true, RST, 900, 0)).state).toBe(INV);
    expect(stateOf()).toBe('ESTABLISHED');
    expect(run(tcp(true, RST, 1001, 0)).state).toBe(EST);
    expect(stateOf()).toBe('CLOSE');
  });

  it('a SYN in TIME_WAIT reopens: the old connection goes, the SYN is new', () => {
    handshake();
    run(tcp(true, FIN | ACK, 1001, 5001));
    run(tcp(false, FIN | ACK, 5001, 1002));
    run(tcp(true, ACK, 1002, 5002));
    expect(stateOf()).toBe('TIME_WAIT');
    sec(5);
    expect(run(tcp(true, SYN, 90000, 0)).state).toBe(NEW);
    expect(stateOf()).toBe('SYN_SENT');
    expect(only().timeout).toBe(120);
    expect(only().status & (IPS_SEEN_REPLY | IPS_ASSURED)).toBe(0);
  });

  it('invalid: flag combinations, bad checksum, what cannot start a connection, short or malformed headers', () => {
    expect(run(tcp(true, SYN | FIN, 1000, 0)).state).toBe(INV);
    expect(run(tcp(true, SYN | RST, 1000, 0)).state).toBe(INV);
    expect(run(tcp(true, FIN, 1000, 0)).state).toBe(INV); // FIN without ACK
    expect(run(tcp(true, 0, 1000, 0)).state).toBe(INV); // no flags
    expect(run(tcp(true, SYN, 1000, 0, { checksum: 0xbeef })).state).toBe(INV);
    // Valid flags, but nothing a connection starts with (tcp_new()).
    expect(run(tcp(true, SYN | ACK, 1000, 1)).state).toBe(INV);
    expect(run(tcp(true, FIN | ACK, 1000, 1)).state).toBe(INV);
    expect(run(tcp(true, RST, 1000, 0)).state).toBe(INV);
    expect(run(tcp(true, RST | ACK, 1000, 1)).state).toBe(INV);
    // A data offset below 5 words, and a header cut after the ports.
    expect(run(tcp(true, SYN, 1000, 0, { dataOffset: 16 })).state).toBe(INV);
    const cut = buildFrame({ l3: { kind: 'ipv4', src: A, dst: B, proto: 6 }, payload: bytes(0x9c, 0x40, 0, 80, 0, 0, 0, 1) });
    expect(run(parsePacket(cut)).state).toBe(INV);
    expect(ct.size).toBe(0);
  });

  it('an ACK alone is picked up midstream (loose) but kept only 300 s until answered', () => {
    const v = run(tcp(true, ACK | PSH, 123456, 654321, { payload: 10 }));
    expect(v.state).toBe(NEW);
    expect(stateOf()).toBe('ESTABLISHED');
    expect(only().timeout).toBe(300);
    expect(run(tcp(false, ACK, 654321, 123466)).state).toBe(RPL);
  });

  it('a picked-up connection never answered stays at 300 s even when its window checks pass', () => {
    // ACK 0 passes the bounds a lone direction has, so the window is
    // recorded; still no answer, so not the ESTABLISHED timeout.
    run(tcp(true, ACK, 1, 0));
    expect([stateOf(), only().timeout]).toEqual(['ESTABLISHED', 300]);
  });

  it('windows during the handshake: a SYN/ACK acknowledging what was never sent is invalid', () => {
    run(tcp(true, SYN, 1000, 0));
    expect(run(tcp(false, SYN | ACK, 5000, 7777)).state).toBe(INV);
    expect(stateOf()).toBe('SYN_SENT');
    expect(run(tcp(false, SYN | ACK, 5000, 1001)).state).toBe(RPL);
    expect(stateOf()).toBe('SYN_RECV');
  });

  it('an established connection is liberal about windows (the module sets be_liberal)', () => {
    handshake();
    // Far beyond anything either side advertised.
    expect(run(tcp(true, ACK | PSH, 400_000_000, 5001, { payload: 10 })).state).toBe(EST);
    expect(run(tcp(false, ACK, 5001, 999_999_999)).state).toBe(RPL);
  });

  it('before that, data beyond the receiver window is invalid', () => {
    run(tcp(true, SYN, 1000, 0));
    run(tcp(false, SYN | ACK, 5000, 1001, { window: 1000 }));
    expect(run(tcp(true, ACK | PSH, 500_000, 5001, { payload: 10 })).state).toBe(INV);
    expect(stateOf()).toBe('SYN_RECV');
  });

  it('a zero window keeps an established connection at the 300 s retransmission timeout', () => {
    run(tcp(true, SYN, 1000, 0));
    run(tcp(false, SYN | ACK, 5000, 1001));
    expect(run(tcp(true, ACK, 1001, 5001, { window: 0 })).state).toBe(EST);
    expect([stateOf(), only().timeout]).toEqual(['ESTABLISHED', 300]);
    run(tcp(true, ACK, 1001, 5001, { window: 100 }));
    expect(only().timeout).toBe(5 * 86400);
  });

  it('a retransmitted SYN does not extend the entry', () => {
    run(tcp(true, SYN, 1000, 0));
    sec(60);
    expect(run(tcp(true, SYN, 1000, 0)).state).toBe(NEW);
    expect(only().timeout).toBe(60);
  });

  it('the segment length excludes Ethernet padding', () => {
    handshake();
    expect(run(tcp(true, ACK, 1001, 5001, { padTo: 64 })).state).toBe(EST);
    expect(only().timeout).toBe(5 * 86400); // no phantom unacknowledged data
  });

  it('IPv6 with a hop-by-hop header is tracked at its TCP header', () => {
    const p = parsePacket(
      buildFrame({ l3: { kind: 'ipv6', src: A6, dst: B6, ext: [{ kind: 'hop' }] }, l4: { kind: 'tcp', src: 40000, dst: 80, flags: SYN, seq: 1 } }),
    );
    const v = run(p);
    expect(v.state).toBe(NEW);
    expect(v.orig?.proto).toBe(6);
    expect(v.orig?.dstPort).toBe(80);
  });
});

describe('ICMP and ICMPv6', () => {
  it('echo: request new, reply established reply, next request established; ports are type and code', () => {
    const v = run(echo(true, 8));
    expect(v.state).toBe(NEW);
    expect(v.orig).toEqual({ ipv6: false, src: bytes(10, 1, 0, 1), dst: bytes(10, 1, 0, 2), srcPort: 8, dstPort: 0, proto: 1 });
    expect(run(echo(false, 0)).state).toBe(RPL);
    expect(run(echo(true, 8)).state).toBe(EST);
    const e = only();
    expect(e.orig).toEqual({ family: 2, src: A, dst: B, proto: 1, icmpId: 0x1234, icmpType: 8, icmpCode: 0 });
    expect(e.reply).toEqual({ family: 2, src: B, dst: A, proto: 1, icmpId: 0x1234, icmpType: 0, icmpCode: 0 });
    expect(e.timeout).toBe(30);
    // Another id is another connection.
    expect(run(echo(false, 0, 0x9999)).state).toBe(INV);
  });

  it('a reply without a request, an unknown type, a type with no reverse, a bad checksum: invalid', () => {
    expect(run(echo(false, 0)).state).toBe(INV);
    expect(run(echo(true, 19)).state).toBe(INV);
    expect(run(echo(true, 9)).state).toBe(INV); // router advertisement
    expect(run(echo(true, 8, 1, { checksum: 0x1111 })).state).toBe(INV);
    expect(ct.size).toBe(0);
    expect(run(echo(true, 13)).state).toBe(NEW); // timestamp request
  });

  it('ICMPv6 echo, and neighbour discovery left untracked (the module reports it invalid)', () => {
    const v = run(echo(true, 128, 0x99, { v6: true }));
    expect(v.state).toBe(NEW);
    expect(v.orig?.ipv6).toBe(true);
    expect(v.orig?.src).toHaveLength(16);
    expect([v.orig?.srcPort, v.orig?.dstPort, v.orig?.proto]).toEqual([128, 0, 58]);
    expect(run(echo(false, 129, 0x99, { v6: true })).state).toBe(RPL);
    expect(run(echo(false, 129, 0x77, { v6: true })).state).toBe(INV);
    const ns = parsePacket(buildFrame({ l3: { kind: 'ipv6', src: A6, dst: 'ff02::1:ff00:2' }, l4: { kind: 'nd', type: 'ns', target: B6 } }));
    expect(run(ns).state).toBe(INV);
  });

  describe('errors related to a tracked UDP flow', () => {
    beforeEach(() => {
      run(udp(true), 0, { mark: { value: 7, mask: 0xffffffff }, labels: { value: 5n, mask: 0xffn } });
    });

    it('port unreachable from B about A\'s datagram: related, reply direction, the connection\'s mark, labels and tuple', () => {
      const v = run(pkt(false, { kind: 'icmp', type: 3, code: 3 }, { payload: quoteUdp(true) }));
      expect(v.state).toBe(CS_TRK | CS_REL | CS_RPL);
      expect(v.mark).toBe(7);
      expect(v.labels).toBe(5n);
      expect(v.orig).toEqual({ ipv6: false, src: bytes(10, 1, 0, 1), dst: bytes(10, 1, 0, 2), srcPort: 5000, dstPort: 53, proto: 17 });
      // Not an answer: the flow is still unreplied.
      expect(run(udp(true)).state).toBe(NEW);
    });

    it('from A about B\'s answer: related, original direction', () => {
      run(udp(false));
      expect(run(pkt(true, { kind: 'icmp', type: 3, code: 3 }, { payload: quoteUdp(false) })).state).toBe(CS_TRK | CS_REL);
    });

    it('to a host that is not the connection\'s end, or about an unknown flow: invalid', () => {
      expect(run(pkt(false, { kind: 'icmp', type: 3, code: 3 }, { dst: C, payload: quoteUdp(true) })).state).toBe(INV);
      expect(run(pkt(false, { kind: 'icmp', type: 3, code: 3 }, { payload: quoteUdp(false) })).state).toBe(INV);
      const q = quoteUdp(true);
      q[22] = 0x11; // another destination port
      expect(run(pkt(false, { kind: 'icmp', type: 11 }, { payload: q })).state).toBe(INV);
    });

    it('does not refresh the connection', () => {
      sec(20);
      run(pkt(false, { kind: 'icmp', type: 3, code: 3 }, { payload: quoteUdp(true) }));
      expect(only().timeout).toBe(10);
    });
  });

  it('ICMPv6 destination unreachable about a tracked IPv6 UDP flow is related', () => {
    run(udp(true, { v6: true }));
    const v = run(pkt(false, { kind: 'icmpv6', type: 1, code: 4 }, { v6: true, payload: quoteUdp(true, true) }));
    expect(v.state).toBe(CS_TRK | CS_REL | CS_RPL);
    expect(v.orig?.srcPort).toBe(5000);
  });
});

describe('what cannot be tracked', () => {
  it('IP fragments (the module reassembles them first; the fallback does not)', () => {
    expect(run(udp(true, { ipv4: { mf: true } })).state).toBe(INV);
    expect(run(pkt(true, { kind: 'raw', proto: 17, data: new Uint8Array(16) }, { ipv4: { fragOffset: 4 } })).state).toBe(INV);
    const v6frag = parsePacket(
      buildFrame({ l3: { kind: 'ipv6', src: A6, dst: B6, ext: [{ kind: 'fragment', more: true, id: 5 }] }, l4: { kind: 'udp', src: 1, dst: 2 }, payload: 8 }),
    );
    expect(run(v6frag).state).toBe(INV);
    expect(ct.size).toBe(0);
  });

  it('IPv6 with no next header, and frames that are not IP', () => {
    expect(run(parsePacket(buildFrame({ l3: { kind: 'ipv6', src: A6, dst: B6 } }))).state).toBe(INV);
    expect(run(parsePacket(buildFrame({ l3: { kind: 'arp', op: 1, spa: A, tpa: B } }))).state).toBe(INV);
  });
});

describe('other protocols (generic tracker)', () => {
  it('600 s, no ports in the tuple; SCTP keeps its ports', () => {
    const gre = (fwd: boolean) => pkt(fwd, { kind: 'raw', proto: 47, data: new Uint8Array(8) });
    const v = run(gre(true));
    expect(v.state).toBe(NEW);
    expect([v.orig?.srcPort, v.orig?.dstPort, v.orig?.proto]).toEqual([0, 0, 47]);
    expect(run(gre(false)).state).toBe(RPL);
    expect(only().timeout).toBe(600);
    const s = run(pkt(true, { kind: 'sctp', src: 3868, dst: 3869 }));
    expect([s.state, s.orig?.srcPort, s.orig?.dstPort]).toEqual([NEW, 3868, 3869]);
  });
});

describe('zones', () => {
  it('separate connections fully', () => {
    run(udp(true), 7);
    expect(look(udp(false), 8).state).toBe(NEW);
    expect(look(udp(true), 8).state).toBe(NEW);
    expect(look(udp(false), 7).state).toBe(RPL);
    run(udp(true), 8);
    expect(ct.size).toBe(2);
    expect([...ct.entries()].map((e) => e.zone).sort()).toEqual([7, 8]);
    expect(ct.flush(7)).toBe(1);
    expect(look(udp(false), 7).state).toBe(NEW);
    expect(look(udp(false), 8).state).toBe(CS_TRK | CS_EST | CS_RPL);
  });
});

describe('mark and labels', () => {
  it('written on commit with their masks; a look-up reports what is stored', () => {
    const L = 1n << 100n;
    const v = run(udp(true), 4, { mark: { value: 0x1234, mask: 0xff00 }, labels: { value: L | 0xabn, mask: L | 0xffn } });
    // ovs_ct_set_mark(): value | (old & ~mask), the value as given.
    expect(v.mark).toBe(0x1234);
    expect(v.labels).toBe(L | 0xabn);
    const r = look(udp(false), 4);
    expect([r.state, r.mark, r.labels]).toEqual([RPL, 0x1234, L | 0xabn]);
    // Committed again: the old bits outside the mask stay.
    const w = run(udp(true), 4, { mark: { value: 0xff, mask: 0xff } });
    expect(w.mark).toBe(0x12ff);
    expect(w.labels).toBe(L | 0xabn);
    // A confirmed connection's labels: nf_connlabels_replace(), (old & ~mask)
    // ^ value, the value unmasked: its bit 7 flips the stored one.
    expect(run(udp(true), 4, { labels: { value: 0x81n, mask: 0x0fn } }).labels).toBe(L | 0x21n);
    // A new connection's: masked.
    expect(run(udp(true, { src: C }), 4, { labels: { value: 0x1f0n, mask: 0x0fn } }).labels).toBe(0n);
  });

  it('a look-up sets nothing, an invalid packet carries none', () => {
    run(udp(true), 0, { mark: { value: 9, mask: 0xf } });
    expect(look(udp(true)).mark).toBe(9);
    expect(run(udp(false, { checksum: 1 }), 0, { mark: { value: 3, mask: 0xf } }).mark).toBe(0);
    expect(look(udp(true)).mark).toBe(9);
  });
});

describe('force commit', () => {
  it('a packet in the reply direction ends the connection and starts one it originates', () => {
    run(udp(true));
    const v = run(udp(false), 0, { force: true });
    expect(v.state).toBe(NEW);
    expect(v.orig?.src).toEqual(bytes(10, 1, 0, 2));
    expect(v.orig?.srcPort).toBe(53);
    expect(ct.size).toBe(1);
    expect(run(udp(true)).state).toBe(RPL);
  });

  it('in the original direction it is an ordinary commit', () => {
    run(udp(true), 0, { mark: { value: 1, mask: 1 } });
    run(udp(false));
    const v = run(udp(true), 0, { force: true });
    expect([v.state, v.mark]).toEqual([EST, 1]);
  });
});

describe('a packet already tracked in the zone (recirculated, then committed)', () => {
  it('is not run through the tracker twice', () => {
    const hs = [tcp(true, SYN, 1000, 0), tcp(false, SYN | ACK, 5000, 1001), tcp(true, ACK, 1001, 5001)];
    for (const p of hs) run(p);
    const fin = tcp(true, FIN | ACK, 1001, 5001);
    const first = look(fin);
    expect(first.state).toBe(EST);
    expect(only().state).toBe('FIN_WAIT');
    const again = ct.process(fin, 0, { mark: { value: 2, mask: 2 } }, { state: first.state, zone: 0 });
    expect([again.state, again.mark]).toEqual([EST, 2]);
    expect(only().state).toBe('FIN_WAIT');
    // Without the prior state the FIN would count twice.
    ct.process(fin, 0, commit);
    expect(only().state).toBe('LAST_ACK');
  });

  it('a new connection looked up first is committed by the second ct()', () => {
    const p = udp(true);
    const first = look(p, 3);
    const second = ct.process(p, 3, commit, { state: first.state, zone: 3 });
    expect(second.state).toBe(NEW);
    expect(ct.size).toBe(1);
  });
});

describe('timeouts and the table', () => {
  it('expire lazily on look-up, in the sweep, or on expire()', () => {
    run(echo(true, 8));
    run(udp(true));
    expect(ct.size).toBe(2);
    sec(30);
    expect([...ct.entries()]).toHaveLength(0);
    expect(ct.size).toBe(2);
    expect(ct.expire()).toBe(2);
    expect(ct.size).toBe(0);
    run(udp(true));
    sec(31);
    look(udp(true, { src: C })); // any packet sweeps a few
    expect(ct.size).toBe(0);
  });

  it('a connection is gone at its timeout even where the sweep has not been', () => {
    for (let i = 1; i <= 40; i++) run(udp(true, { src: `10.8.0.${i}` }));
    sec(30);
    expect(ct.size).toBe(40);
    for (let i = 40; i > 30; i--) expect(look(udp(false, { dst: `10.8.0.${i}` })).state).toBe(NEW);
  });

  it('IPv6 tuples and entries', () => {
    const v = run(udp(true, { v6: true }));
    const a6 = new Uint8Array(16);
    a6[0] = 0xfd;
    a6[15] = 1;
    expect(v.orig?.src).toEqual(a6);
    expect(v.orig?.ipv6).toBe(true);
    expect(only()).toMatchObject({ family: 10, proto: 17, orig: { src: A6, dst: B6, srcPort: 5000 }, reply: { src: B6, dst: A6, dstPort: 5000 } });
  });

  it('maxEntries: a full table evicts a connection not assured, else drops the packet', () => {
    ct = new ConnTracker({ now: () => t, maxEntries: 2 });
    run(udp(true, { src: '10.9.0.1' }));
    run(udp(true, { src: '10.9.0.2' }));
    expect(run(udp(true, { src: '10.9.0.3' })).state).toBe(NEW);
    expect(ct.size).toBe(2);
    // The oldest went.
    expect([...ct.entries()].map((e) => e.orig.src).sort()).toEqual(['10.9.0.2', '10.9.0.3']);
    // Make both assured streams: nothing can go, new packets are dropped.
    // (A stream is a flow seen answered, on a packet after the answer, 2 s on.)
    sec(3);
    for (const h of ['10.9.0.2', '10.9.0.3']) {
      run(udp(false, { dst: h }));
      expect(ct.process(udp(false, { dst: h }), 0).state).toBe(RPL);
    }
    for (const e of ct.entries()) expect(e.status & IPS_ASSURED).toBe(IPS_ASSURED);
    const d = run(udp(true, { src: '10.9.0.4' }));
    expect(d.drop).toBe(true);
    expect(look(udp(true, { src: '10.9.0.4' })).drop).toBe(true);
    // Known connections still pass.
    expect(run(udp(true, { src: '10.9.0.2' })).state).toBe(EST);
    expect(ct.size).toBe(2);
  });
});

// ovs_ct_limit on the tracker (conntrack.c: ovs_ct_check_limit and the
// ct_limit commands; test/diff/conntrack-limit.test.ts holds it to the module).
describe('zone limits', () => {
  const flow = (i: number) => udp(true, { src: `10.9.0.${i}` });

  it('commits new connections up to the zone limit and drops the packet of the next', () => {
    ct.setZoneLimits([{ zoneId: 5, limit: 3 }]);
    const verdicts = [1, 2, 3, 4, 5].map((i) => run(flow(i), 5));
    expect(verdicts.map((v) => v.drop)).toEqual([false, false, false, true, true]);
    expect(ct.getZoneLimits([5])).toEqual([{ zoneId: 5, limit: 3, count: 3 }]);
    // A connection of the zone already committed still passes; another zone has no limit.
    expect(run(flow(1), 5)).toMatchObject({ drop: false, state: NEW });
    expect(run(flow(9), 6).drop).toBe(false);
    // Without commit nothing is counted or refused.
    expect(look(flow(8), 5)).toMatchObject({ drop: false, state: NEW });
  });

  it('frees room as connections expire or close', () => {
    ct.setZoneLimits([{ zoneId: 5, limit: 1 }]);
    expect(run(flow(1), 5).drop).toBe(false);
    expect(run(flow(2), 5).drop).toBe(true);
    sec(31); // UDP unreplied: 30 s
    expect(run(flow(2), 5).drop).toBe(false);
    expect(ct.getZoneLimits([5])[0].count).toBe(1);
  });

  it('the default applies to zones without their own limit; limit 0 is none; DEL restores the default', () => {
    ct.setZoneLimits([{ zoneId: -1, limit: 2 }, { zoneId: 7, limit: 0 }]);
    expect([1, 2, 3].map((i) => run(flow(i), 4).drop)).toEqual([false, false, true]);
    expect([1, 2, 3].map((i) => run(flow(i), 7).drop)).toEqual([false, false, false]);
    expect(ct.getZoneLimits([-1, 4, 7, 70000])).toEqual([
      { zoneId: -1, limit: 2, count: 0 },
      { zoneId: 4, limit: 2, count: 2 },
      { zoneId: 7, limit: 0, count: 0 },
    ]);
    ct.deleteZoneLimits([7, -1]);
    expect(ct.getZoneLimits()).toEqual([{ zoneId: -1, limit: 0, count: 0 }]);
    expect(run(flow(3), 4).drop).toBe(false);
  });

  it('lists every limit by hash bucket, the newest of a bucket first, as the module does', () => {
    ct.setZoneLimits([{ zoneId: 513, limit: 1 }, { zoneId: 1, limit: 2 }, { zoneId: 2, limit: 3 }, { zoneId: 1025, limit: 4 }]);
    ct.setZoneLimits([{ zoneId: 1, limit: 5 }]);
    expect(ct.getZoneLimits().map((z) => [z.zoneId, z.limit])).toEqual([[-1, 0], [1025, 4], [1, 5], [513, 1], [2, 3]]);
  });

  it('counts only what was committed while the zone had a limit', () => {
    expect(run(flow(1), 5).drop).toBe(false);
    ct.setZoneLimits([{ zoneId: 5, limit: 1 }]);
    expect(ct.getZoneLimits([5])[0].count).toBe(0);
    expect(run(flow(2), 5).drop).toBe(false);
    expect(run(flow(3), 5).drop).toBe(true);
  });
});
