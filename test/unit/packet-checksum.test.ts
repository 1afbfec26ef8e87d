import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  adjustChecksum16,
  adjustChecksum32,
  adjustChecksumBytes,
  be16,
  buildFrame,
  crc32c,
  csumReplace16,
  csumReplace32,
  internetChecksum,
  ipv4HeaderChecksum,
  ipv4HeaderChecksumOk,
  l4Checksum,
  l4ChecksumOk,
  parsePacket,
  putBe16,
  putBe32,
  readSctpChecksum,
  sctpChecksum,
  setIpv4HeaderChecksum,
  setL4Checksum,
  udpCsumFixup,
  type L4Spec,
} from '../../src/packet/index.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** RFC 1071 as written: add 16-bit words, fold carries at every step, complement. */
function refChecksum(b: Uint8Array, off: number, len: number): number {
  let sum = 0;
  for (let i = 0; i < len; i += 2) {
    sum += (b[off + i] << 8) | (i + 1 < len ? b[off + i + 1] : 0);
    if (sum > 0xffff) sum = (sum & 0xffff) + 1;
  }
  return ~sum & 0xffff;
}

/** Bit-at-a-time CRC32c, independent of the table-driven one. */
function refCrc32c(b: Uint8Array): number {
  let crc = 0xffffffff;
  for (const x of b) {
    crc ^= x;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

describe('Internet checksum', () => {
  it('matches the RFC 1071 section 3 example', () => {
    // 0001 + f203 + f4f5 + f6f7 = 2ddf0, folded ddf2, complemented 220d.
    expect(internetChecksum(hex('0001f203f4f5f6f7'), 0, 8)).toBe(0x220d);
  });

  it('gives the well-known IPv4 header checksum b861', () => {
    const h = hex('4500 0073 0000 4000 4011 0000 c0a8 0001 c0a8 00c7');
    expect(ipv4HeaderChecksum(h, 0)).toBe(0xb861);
    setIpv4HeaderChecksum(h, 0);
    expect(toHex(h)).toBe('45000073000040004011b861c0a80001c0a800c7');
    expect(ipv4HeaderChecksumOk(h, 0)).toBe(true);
    h[8] = 0x3f;
    expect(ipv4HeaderChecksumOk(h, 0)).toBe(false);
  });

  it('equals a step-by-step RFC 1071 sum at any offset and length, odd ones included', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(7), (data, skip) => {
        const off = Math.min(skip, data.length);
        expect(internetChecksum(data, off, data.length - off)).toBe(refChecksum(data, off, data.length - off));
      }),
      { numRuns: 500 },
    );
  });

  it('is 0 over data that includes its own checksum', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 2, maxLength: 200 }), (d) => {
        const b = new Uint8Array(d.length + (d.length & 1) + 2);
        b.set(d);
        putBe16(b, b.length - 2, internetChecksum(b, 0, b.length - 2));
        expect(internetChecksum(b, 0, b.length)).toBe(0);
      }),
    );
  });
});

describe('CRC32c', () => {
  it('matches the standard check value and the RFC 3720 B.4 vectors', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
  });

  it('equals a bit-at-a-time CRC over any input', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (d) => {
        expect(crc32c(d)).toBe(refCrc32c(d));
      }), { numRuns: 300 });
  });

  it('computes the SCTP checksum with the field counted as zero, stored least significant byte first', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 12, maxLength: 100 }), (d) => {
        const b = d.slice();
        const expected = refCrc32c(Uint8Array.from([...b.subarray(0, 8), 0, 0, 0, 0, ...b.subarray(12)]));
        expect(sctpChecksum(b, 0, b.length)).toBe(expected);
        setL4Checksum(b, 0, 0, b.length, 132);
        expect(readSctpChecksum(b, 0)).toBe(expected);
        expect(b[8]).toBe(expected & 0xff);
      }),
    );
  });
});

// Frames whose checksums tshark 4.0 reported as correct (ip/tcp/udp.check_checksum
// on, sctp.checksum "CRC 32c"); see also the pcap cross-check in packet-properties.
describe('golden frames checked by tshark', () => {
  const golden: [string, () => Uint8Array, string][] = [
    [
      'UDP over IPv4',
      () => buildFrame({ l3: { kind: 'ipv4', src: '10.0.0.1', dst: '10.0.0.2', id: 0x1c46, df: true }, l4: { kind: 'udp', src: 1234, dst: 5555 }, payload: 10 }),
      '020000000002020000000001 0800 4500 0026 1c46 4000 4011 0a7f 0a000001 0a000002 04d2 15b3 0012 bd29 00010203040506070809',
    ],
    [
      'TCP SYN over IPv6',
      () => buildFrame({ l3: { kind: 'ipv6', src: '2001:db8::1', dst: '2001:db8::2', flowLabel: 0x12345 }, l4: { kind: 'tcp', src: 40000, dst: 80, seq: 1, flags: 0x002 }, payload: 4 }),
      '020000000002020000000001 86dd 60012345 0018 06 40 20010db8000000000000000000000001 20010db8000000000000000000000002 9c40 0050 00000001 00000000 5002 ffff b5d4 0000 00010203',
    ],
    [
      'ICMP echo over IPv4',
      () => buildFrame({ l3: { kind: 'ipv4', src: '192.168.1.1', dst: '192.168.1.2' }, l4: { kind: 'icmp', type: 8, rest: 0x00010001 }, payload: 8 }),
      '020000000002020000000001 0800 4500 0024 0000 0000 4001 f785 c0a80101 c0a80102 0800 ebed 00010001 0001020304050607',
    ],
    [
      'neighbour solicitation with a source link-layer address',
      () => buildFrame({ l3: { kind: 'ipv6', src: 'fe80::1', dst: 'ff02::1:ff00:2', hopLimit: 255 }, l4: { kind: 'nd', type: 'ns', target: 'fe80::2', sll: '02:00:00:00:00:01' } }),
      '020000000002020000000001 86dd 60000000 0020 3a ff fe800000000000000000000000000001 ff0200000000000000000001ff000002 8700 7a97 00000000 fe800000000000000000000000000002 0101 020000000001',
    ],
    [
      'SCTP over IPv4',
      () => buildFrame({ l3: { kind: 'ipv4', src: '10.0.0.1', dst: '10.0.0.2' }, l4: { kind: 'sctp', src: 1, dst: 2, vtag: 5 }, payload: new Uint8Array([0, 0, 0, 4]) }),
      '020000000002020000000001 0800 4500 0024 0000 0000 4084 6654 0a000001 0a000002 0001 0002 00000005 459431a9 00000004',
    ],
  ];
  for (const [name, make, bytes] of golden) {
    it(name, () => {
      const f = make();
      expect(toHex(f)).toBe(bytes.replace(/\s+/g, ''));
      const p = parsePacket(f);
      const l4Len = p.ipTotalLen - (p.l4 - p.l3);
      expect(l4ChecksumOk(f, p.l3, p.l4, l4Len, p.ipProto)).toBe(true);
    });
  }
});

describe('transport checksum rules', () => {
  it('sends a UDP checksum that computes to 0 as 0xffff, and accepts 0 as none over IPv4 only', () => {
    // Find a UDP/IPv4 payload word that makes the checksum compute to 0.
    const f = buildFrame({ l3: { kind: 'ipv4', src: '10.0.0.1', dst: '10.0.0.2' }, l4: { kind: 'udp', src: 1, dst: 2, checksum: 'none' }, payload: 2 });
    const p = parsePacket(f);
    putBe16(f, p.payload, 0);
    const c = l4Checksum(f, p.l3, p.l4, 10, 17);
    putBe16(f, p.payload, (~c & 0xffff) === 0 ? 0xffff : c); // adding the checksum value to the data drives the sum to -0
    expect(l4Checksum(f, p.l3, p.l4, 10, 17)).toBe(0xffff);
    expect(l4ChecksumOk(f, p.l3, p.l4, 10, 17)).toBe(true); // checksum field still 0: none sent
    setL4Checksum(f, p.l3, p.l4, 10, 17);
    expect(be16(f, p.l4 + 6)).toBe(0xffff);
    expect(l4ChecksumOk(f, p.l3, p.l4, 10, 17)).toBe(true);

    const g = buildFrame({ l3: { kind: 'ipv6', src: '::1', dst: '::2' }, l4: { kind: 'udp', src: 1, dst: 2, checksum: 'none' } });
    expect(l4ChecksumOk(g, 14, 54, 8, 17)).toBe(false);
  });

  it('declines protocols without a 16-bit checksum and messages too short for one', () => {
    const f = buildFrame({ l3: { kind: 'ipv4', src: 1, dst: 2 }, l4: { kind: 'tcp', src: 1, dst: 2 } });
    expect(l4Checksum(f, 14, 34, 20, 47)).toBe(-1);
    expect(l4Checksum(f, 14, 34, 20, 132)).toBe(-1);
    expect(l4Checksum(f, 14, 34, 17, 6)).toBe(-1);
    expect(l4ChecksumOk(f, 14, 34, 17, 6)).toBe(false);
    expect(setL4Checksum(f, 14, 34, 20, 47)).toBe(false);
  });

  it('uses the final destination for the IPv6 pseudo-header when told', () => {
    const f = buildFrame({ l3: { kind: 'ipv6', src: '::1', dst: '::2' }, l4: { kind: 'udp', src: 1, dst: 2 } });
    const final = new Uint8Array(16).fill(0xab);
    const g = new Uint8Array(f.length + 16);
    g.set(f);
    g.set(final, f.length);
    setL4Checksum(g, 14, 54, 8, 17, f.length);
    expect(l4ChecksumOk(g, 14, 54, 8, 17, f.length)).toBe(true);
    expect(l4ChecksumOk(g, 14, 54, 8, 17)).toBe(false);
  });
});

describe('incremental update (RFC 1624) equals recomputation', () => {
  it('for any word of any data', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 2, maxLength: 64 }), fc.nat(), fc.integer({ min: 0, max: 0xffff }), (d, at, to) => {
        const b = new Uint8Array(d.length + (d.length & 1));
        b.set(d);
        // The pseudo-header makes real covered data nonzero; so must this.
        b[0] |= 1;
        const i = (at % (b.length / 2)) * 2;
        const old = internetChecksum(b, 0, b.length);
        const from = be16(b, i);
        putBe16(b, i, i === 0 ? to | 0x100 : to);
        expect(csumReplace16(old, from, be16(b, i))).toBe(internetChecksum(b, 0, b.length));
      }),
      { numRuns: 2000 },
    );
  });

  it('for 32-bit fields', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 64 }), fc.nat(), fc.integer({ min: 0, max: 0xffffffff }), (d, at, to) => {
        const b = new Uint8Array(d.length & ~3);
        b.set(d.subarray(0, b.length));
        b[b.length - 1] |= 1;
        const i = (at % (b.length / 4 - 1)) * 4;
        const old = internetChecksum(b, 0, b.length);
        const from = ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
        putBe32(b, i, to);
        expect(csumReplace32(old, from, to)).toBe(internetChecksum(b, 0, b.length));
      }),
      { numRuns: 2000 },
    );
  });

  const ipv4Udp = fc.record({
    src: fc.integer({ min: 0, max: 0xffffffff }),
    dst: fc.integer({ min: 0, max: 0xffffffff }),
    ttl: fc.integer({ min: 1, max: 255 }),
    sport: fc.integer({ min: 0, max: 0xffff }),
    dport: fc.integer({ min: 0, max: 0xffff }),
    udp: fc.boolean(),
    payload: fc.uint8Array({ maxLength: 40 }),
  });

  it('for set actions on IPv4 addresses, TTL and ports (IP header and TCP/UDP checksums)', () => {
    fc.assert(
      fc.property(ipv4Udp, fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 1, max: 255 }), fc.integer({ min: 0, max: 0xffff }), (s, newSrc, newTtl, newPort) => {
        const l4: { kind: 'udp'; src: number; dst: number } | { kind: 'tcp'; src: number; dst: number } = { kind: s.udp ? 'udp' : 'tcp', src: s.sport, dst: s.dport };
        const f = buildFrame({ l3: { kind: 'ipv4', src: s.src, dst: s.dst, ttl: s.ttl }, l4, payload: s.payload });
        const p = parsePacket(f);
        const csOff = p.l4 + (s.udp ? 6 : 16);
        const l4Len = f.length - p.l4;

        // set(ipv4(src=..., ttl=...)): the IP header checksum, and the
        // transport checksum through the pseudo-header (the address only).
        const oldSrc = p.ipv4Src();
        adjustChecksum32(f, p.l3 + 10, oldSrc, newSrc);
        adjustChecksum32(f, csOff, oldSrc, newSrc, s.udp);
        putBe32(f, p.l3 + 12, newSrc);
        const oldWord = be16(f, p.l3 + 8);
        const newWord = (newTtl << 8) | f[p.l3 + 9];
        adjustChecksum16(f, p.l3 + 10, oldWord, newWord);
        putBe16(f, p.l3 + 8, newWord);
        // set(udp(src=...)) / set(tcp(src=...))
        adjustChecksum16(f, csOff, s.sport, newPort, s.udp);
        putBe16(f, p.l4, newPort);

        expect(be16(f, p.l3 + 10)).toBe(ipv4HeaderChecksum(f, p.l3));
        expect(be16(f, csOff)).toBe(l4Checksum(f, p.l3, p.l4, l4Len, p.ipProto));
      }),
      { numRuns: 1000 },
    );
  });

  it('for set actions on IPv6 addresses (TCP, UDP and ICMPv6 checksums)', () => {
    const proto = fc.constantFrom<'tcp' | 'udp' | 'icmpv6'>('tcp', 'udp', 'icmpv6');
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ minLength: 16, maxLength: 16 }), proto, fc.uint8Array({ maxLength: 30 }), (src, dst, newDst, kind, payload) => {
        const l4: L4Spec = kind === 'icmpv6' ? { kind, type: 128 } : kind === 'tcp' ? { kind, src: 7, dst: 9 } : { kind, src: 7, dst: 9 };
        const f = buildFrame({ l3: { kind: 'ipv6', src, dst }, l4, payload });
        const p = parsePacket(f);
        const csOff = p.l4 + (kind === 'tcp' ? 16 : kind === 'udp' ? 6 : 2);
        adjustChecksumBytes(f, csOff, f, p.l3 + 24, newDst, 0, 16, kind === 'udp');
        f.set(newDst, p.l3 + 24);
        expect(be16(f, csOff)).toBe(l4Checksum(f, p.l3, p.l4, f.length - p.l4, p.ipProto));
      }),
      { numRuns: 1000 },
    );
  });

  it('keeps a zero UDP checksum zero (none sent) and never lands on 0', () => {
    expect(udpCsumFixup(0, 0x1234)).toBe(0);
    expect(udpCsumFixup(0x1234, 0)).toBe(0xffff);
    expect(udpCsumFixup(0x1234, 0x4321)).toBe(0x4321);
    const f = buildFrame({ l3: { kind: 'ipv4', src: '10.0.0.1', dst: '10.0.0.2' }, l4: { kind: 'udp', src: 1, dst: 2, checksum: 'none' } });
    adjustChecksum32(f, 14 + 20 + 6, 0x0a000001, 0x0b000001, true);
    expect(be16(f, 40)).toBe(0);
  });
});
