// ct(nat) in the fallback's tracker: the translated tuple a connection gets,
// the packets rewritten with checksums still right, replies and ICMP errors
// translated back, and the key's NAT bits, as netfilter's NAT core and the
// openvswitch module's ovs_ct_nat give them. The kernel itself judges the
// same cases in test/diff/conntrack-nat.test.ts; this file pins the parts a
// differential test cannot reach (ports picked at random on a clash, the
// checks of every checksum) without a VM.
import { beforeEach, describe, expect, it } from 'vitest';
import type { CtNat } from '../../src/ovs/actions.js';
import { ipv4FromBytes, ipv6FromBytes } from '../../src/ovs/addr.js';
import { be16 } from '../../src/packet/bytes.js';
import { internetChecksum, ipv4HeaderChecksumOk, l4ChecksumOk, pseudoSum6 } from '../../src/packet/checksum.js';
import { buildFrame, parsePacket, type L4Spec, type ParsedPacket } from '../../src/packet/index.js';
import { CS_DNAT, CS_EST, CS_NEW, CS_REL, CS_RPL, CS_SNAT, CS_TRK, ConnTracker, type CtVerdict } from '../../src/userspace/conntrack.js';
import { IPS_DST_NAT, IPS_DST_NAT_DONE, IPS_SRC_NAT, IPS_SRC_NAT_DONE, refusedNat } from '../../src/userspace/conntrack-nat.js';
import { jhash2, reciprocalScale } from '../../src/userspace/jhash.js';

const A = '10.1.0.1';
const C = '10.1.0.3';
const B = '10.1.0.2';
const N = '192.0.2.1';
const A6 = 'fd00::1';
const B6 = 'fd00::2';
const N6 = 'fd00:ff::1';

let ct: ConnTracker;
beforeEach(() => {
  ct = new ConnTracker({ now: () => 0 });
});

function frame(src: string, dst: string, l4: L4Spec, payload: Uint8Array | number = 20): ParsedPacket {
  const v6 = src.includes(':');
  return parsePacket(buildFrame({ l3: v6 ? { kind: 'ipv6', src, dst } : { kind: 'ipv4', src, dst }, l4, payload }));
}
const udp = (src: string, sport: number, dst: string, dport: number): ParsedPacket => frame(src, dst, { kind: 'udp', src: sport, dst: dport });
const tcp = (src: string, sport: number, dst: string, dport: number, flags: number, seq: number, ack: number): ParsedPacket =>
  frame(src, dst, { kind: 'tcp', src: sport, dst: dport, flags, seq, ack, window: 29200 }, 0);

const commit = { force: false };
const snat: CtNat = { src: true, ipMin: N };

/** The packet's addresses and ports (or ICMP id) after the tracker, and whether every checksum in it is right. */
function seen(p: ParsedPacket): { src: string; dst: string; sport: number; dport: number; ok: boolean } {
  const b = p.buf;
  const v6 = b[p.l3] >> 4 === 6;
  const l4 = p.l4;
  const len = p.len - l4;
  const proto = v6 ? b[p.l3 + 6] : b[p.l3 + 9];
  const ok = (v6 || ipv4HeaderChecksumOk(b, p.l3)) && l4ChecksumOk(b, p.l3, l4, len, proto);
  return {
    src: v6 ? ipv6FromBytes(b, p.l3 + 8) : ipv4FromBytes(b, p.l3 + 12),
    dst: v6 ? ipv6FromBytes(b, p.l3 + 24) : ipv4FromBytes(b, p.l3 + 16),
    sport: be16(b, l4),
    dport: be16(b, l4 + (proto === 1 || proto === 58 ? 4 : 2)),
    ok,
  };
}

const go = (p: ParsedPacket, nat: CtNat | undefined, c: typeof commit | undefined = commit, zone = 0): CtVerdict => ct.process(p, zone, c, undefined, nat);

describe('source NAT', () => {
  it('to one address: the port stays, replies go back to the client, the key says snat one way and dnat the other', () => {
    const p = udp(A, 5000, B, 53);
    expect(go(p, snat).state).toBe(CS_TRK | CS_NEW | CS_SNAT);
    expect(seen(p)).toEqual({ src: N, dst: B, sport: 5000, dport: 53, ok: true });
    const [e] = [...ct.entries()];
    expect(e.orig).toMatchObject({ src: A, dst: B, srcPort: 5000, dstPort: 53 });
    expect(e.reply).toMatchObject({ src: B, dst: N, srcPort: 53, dstPort: 5000 });
    expect(e.status & (IPS_SRC_NAT | IPS_SRC_NAT_DONE | IPS_DST_NAT | IPS_DST_NAT_DONE)).toBe(IPS_SRC_NAT | IPS_SRC_NAT_DONE);

    const r = udp(B, 53, N, 5000);
    expect(go(r, {}, undefined).state).toBe(CS_TRK | CS_EST | CS_RPL | CS_DNAT);
    expect(seen(r)).toEqual({ src: B, dst: A, sport: 53, dport: 5000, ok: true });
    const again = udp(A, 5000, B, 53);
    expect(go(again, {}, undefined).state).toBe(CS_TRK | CS_EST | CS_SNAT);
    expect(seen(again).src).toBe(N);
  });

  it('without nat in the action a translated connection is found but its packets stay as they are', () => {
    go(udp(A, 5000, B, 53), snat);
    const r = udp(B, 53, N, 5000);
    expect(go(r, undefined, undefined).state).toBe(CS_TRK | CS_EST | CS_RPL);
    expect(seen(r).dst).toBe(N);
  });

  it('a clash on the translated tuple moves the second client to a free port of its class', () => {
    go(udp(A, 5000, B, 53), snat);
    const p = udp(C, 5000, B, 53);
    go(p, snat);
    const s = seen(p);
    expect(s.src).toBe(N);
    expect(s.sport).not.toBe(5000);
    expect(s.sport).toBeGreaterThanOrEqual(1024);
    expect(s.ok).toBe(true);
    const r = udp(B, 53, N, s.sport);
    expect(go(r, {}, undefined).state).toBe(CS_TRK | CS_EST | CS_RPL | CS_DNAT);
    expect(seen(r)).toMatchObject({ dst: C, dport: 5000 });
    // A low port keeps to its class: below 512 stays below 512.
    go(udp(A, 500, B, 53), snat);
    const q = udp(C, 500, B, 53);
    go(q, snat);
    expect(seen(q).sport).toBeGreaterThanOrEqual(1);
    expect(seen(q).sport).toBeLessThan(512);
    expect(seen(q).sport).not.toBe(500);
  });

  it('a port range of one port is taken as given; a client keeps its mapping for a second destination', () => {
    const p = udp(A, 5000, B, 53);
    go(p, { src: true, ipMin: N, protoMin: 2000 });
    expect(seen(p).sport).toBe(2000);
    const q = udp(A, 5000, C, 53);
    go(q, { src: true, ipMin: N, protoMin: 2000 });
    expect(seen(q)).toMatchObject({ src: N, sport: 2000 });
  });

  it('an address range: the choice is in range, and the same client gets the same address', () => {
    const nat: CtNat = { src: true, ipMin: '192.0.2.10', ipMax: '192.0.2.13' };
    const picks = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const p = udp(`10.2.${i}.1`, 6000, B, 53);
      go(p, nat);
      const s = seen(p).src;
      expect(['192.0.2.10', '192.0.2.11', '192.0.2.12', '192.0.2.13']).toContain(s);
      picks.add(s);
      const again = udp(`10.2.${i}.1`, 6001, B, 53);
      go(again, nat);
      expect(seen(again).src).toBe(s);
    }
    expect(picks.size).toBeGreaterThan(1);
  });

  it('ICMP echo: the id is the port; the reply comes back to the client', () => {
    const p = frame(A, B, { kind: 'icmp', type: 8, rest: (0x4242 << 16) | 1 }, 16);
    expect(go(p, snat).state).toBe(CS_TRK | CS_NEW | CS_SNAT);
    expect(seen(p)).toMatchObject({ src: N, dport: 0x4242, ok: true });
    const r = frame(B, N, { kind: 'icmp', type: 0, rest: (0x4242 << 16) | 1 }, 16);
    expect(go(r, {}, undefined).state).toBe(CS_TRK | CS_EST | CS_RPL | CS_DNAT);
    expect(seen(r)).toMatchObject({ dst: A, ok: true });
  });

  it('an ICMP error about a translated datagram is translated inside and out', () => {
    go(udp(A, 5000, B, 53), snat);
    // B's host quotes the datagram as it saw it: from N.
    const quoted = buildFrame({ l3: { kind: 'ipv4', src: N, dst: B }, l4: { kind: 'udp', src: 5000, dst: 53 }, payload: 20 }).slice(14, 14 + 28);
    const e = frame(B, N, { kind: 'icmp', type: 3, code: 3 }, quoted);
    expect(go(e, {}, undefined).state).toBe(CS_TRK | CS_REL | CS_RPL | CS_DNAT);
    const b = e.buf;
    const l4 = e.l4;
    expect(ipv4FromBytes(b, e.l3 + 16)).toBe(A);
    expect(ipv4HeaderChecksumOk(b, e.l3)).toBe(true);
    expect(internetChecksum(b, l4, e.len - l4)).toBe(0);
    // The quoted header: from A again, its own checksum right.
    expect(ipv4FromBytes(b, l4 + 8 + 12)).toBe(A);
    expect(ipv4HeaderChecksumOk(b, l4 + 8)).toBe(true);
    expect(be16(b, l4 + 8 + 20)).toBe(5000);
  });

  it('IPv6: addresses and the UDP checksum over the new pseudo-header', () => {
    const p = udp(A6, 5000, B6, 53);
    expect(go(p, { src: true, ipMin: N6 }).state).toBe(CS_TRK | CS_NEW | CS_SNAT);
    expect(seen(p)).toEqual({ src: N6, dst: B6, sport: 5000, dport: 53, ok: true });
    const r = udp(B6, 53, N6, 5000);
    go(r, {}, undefined);
    expect(seen(r)).toMatchObject({ dst: A6, ok: true });
    const icmp = frame(A6, B6, { kind: 'icmpv6', type: 128, rest: (7 << 16) | 1 }, 8);
    go(icmp, { src: true, ipMin: N6 });
    const b = icmp.buf;
    expect(internetChecksum(b, icmp.l4, icmp.len - icmp.l4, pseudoSum6(b, icmp.l3, 58, icmp.len - icmp.l4))).toBe(0);
  });
});

describe('destination NAT', () => {
  it('TCP to another address and port: the handshake goes through both ways, the source is bound too', () => {
    const D = '10.9.0.9';
    const p = tcp(A, 40000, B, 80, 0x02, 1000, 0);
    const v = go(p, { dst: true, ipMin: D, protoMin: 8080 });
    // The source's null binding runs after the destination's, and sets its bit (ovs_nat_update_key).
    expect(v.state).toBe(CS_TRK | CS_NEW | CS_DNAT | CS_SNAT);
    expect(seen(p)).toEqual({ src: A, dst: D, sport: 40000, dport: 8080, ok: true });
    expect(v.orig).toMatchObject({ srcPort: 40000, dstPort: 80 });
    const [e] = [...ct.entries()];
    expect(e.reply).toMatchObject({ src: D, dst: A, srcPort: 8080, dstPort: 40000 });
    expect(e.status & (IPS_SRC_NAT | IPS_SRC_NAT_DONE | IPS_DST_NAT | IPS_DST_NAT_DONE)).toBe(IPS_DST_NAT | IPS_DST_NAT_DONE | IPS_SRC_NAT_DONE);
    const r = tcp(D, 8080, A, 40000, 0x12, 5000, 1001);
    expect(go(r, {}, undefined).state).toBe(CS_TRK | CS_EST | CS_RPL | CS_SNAT);
    expect(seen(r)).toEqual({ src: B, dst: A, sport: 80, dport: 40000, ok: true });
  });
});

describe('a packet tracked and translated before, in the same zone', () => {
  it('finds its connection by the inverted tuple and is not translated twice', () => {
    const p = udp(A, 5000, B, 53);
    const v = go(p, { src: true, ipMin: N, protoMin: 3000 });
    expect(seen(p).sport).toBe(3000);
    // Recirculated: the key says tracked and translated in zone 0.
    const again = ct.process(p, 0, { force: false, mark: { value: 7, mask: 0xff } }, { state: v.state, zone: 0 }, { src: true, ipMin: N, protoMin: 3000 });
    expect(again.state).toBe(v.state);
    expect(again.mark).toBe(7);
    expect(seen(p)).toMatchObject({ src: N, sport: 3000 });
    expect(ct.size).toBe(1);
  });
});

describe('parse_nat refusals', () => {
  it('gives the module its messages', () => {
    expect(refusedNat({ src: true, dst: true }, false, true)).toBe('Only one type of NAT may be specified');
    expect(refusedNat({ ipMin: N }, false, true)).toBe('NAT flags may be given only when NAT range (SRC or DST) is also specified.');
    expect(refusedNat({ src: true, ipMin: N }, false, false)).toBe('NAT attributes may be specified only when CT COMMIT flag is also specified.');
    expect(refusedNat({ src: true, ipMin: N6 }, false, true)).toBe('NAT attribute type 3 has unexpected length (16 != 4)');
    expect(refusedNat({ extra: [{ type: 12, data: new Uint8Array(0) }] }, false, true)).toBe('Unknown NAT attribute (type=12, max=9)');
    expect(refusedNat({}, false, false)).toBeUndefined();
    expect(refusedNat({ src: true, ipMin: N6, persistent: true }, true, true)).toBeUndefined();
  });
});

describe('jhash2', () => {
  it('of nothing is its initial value; reciprocalScale is the high word of the product', () => {
    expect(jhash2([], 0)).toBe(0xdeadbeef);
    expect(jhash2([], 5)).toBe(0xdeadbeef + 5);
    expect(reciprocalScale(0xffffffff, 4)).toBe(3);
    expect(reciprocalScale(0x80000000, 10)).toBe(5);
    expect(reciprocalScale(0xffffffff, 0xffffffff)).toBe(0xfffffffe);
  });
});
