import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatUfid, parseUfid, randomUfid, ufidEquals, ufidFromWords, ufidMapKey, ufidWords } from '../../src/ovs/ufid.js';
import { hex } from './ovs-arbitraries.js';

describe('UFID', () => {
  it('reads the 16 bytes as four host-order u32, as OVS prints them', () => {
    // ovs-dpctl add-flow 'ufid:11111111-2222-3333-4444-555555555555,...' sends these words.
    const u = parseUfid('ufid:11111111-2222-3333-4444-555555555555');
    expect(ufidWords(u)).toEqual([0x11111111, 0x22223333, 0x44445555, 0x55555555]);
    expect(hex(u)).toBe('11111111' + '33332222' + '55554444' + '55555555');
    expect(formatUfid(u)).toBe('ufid:11111111-2222-3333-4444-555555555555');
  });

  it('formats and parses every 16-byte value back', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
        const text = formatUfid(b);
        expect(text).toMatch(/^ufid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
        expect(ufidEquals(parseUfid(text), b)).toBe(true);
        expect(ufidEquals(parseUfid(text.toUpperCase().replace('UFID', 'ufid')), b)).toBe(true);
      }),
    );
  });

  it('keeps shorter UFIDs (legal for the kernel) as hex', () => {
    const u = new Uint8Array([1, 2, 3, 4]);
    expect(formatUfid(u)).toBe('ufid:01020304');
    expect(ufidEquals(parseUfid('ufid:01020304'), u)).toBe(true);
  });

  it('rejects what is not a UFID', () => {
    for (const bad of ['', 'ufid:', '11111111-2222-3333-4444-555555555555', 'ufid:1111111-2222-3333-4444-555555555555', 'ufid:zz']) {
      expect(() => parseUfid(bad)).toThrow(SyntaxError);
    }
  });

  it('round-trips words and makes random 16-byte UFIDs', () => {
    expect(ufidWords(ufidFromWords([1, 0xffffffff, 0x80000000, 7]))).toEqual([1, 0xffffffff, 0x80000000, 7]);
    const r = randomUfid();
    expect(r).toHaveLength(16);
    expect(ufidEquals(r, randomUfid())).toBe(false);
  });

  it('gives equal map keys to equal UFIDs only, whatever their lengths', () => {
    const ufid = fc.uint8Array({ minLength: 0, maxLength: 16 });
    fc.assert(
      fc.property(ufid, ufid, (a, b) => {
        expect(ufidMapKey(a) === ufidMapKey(b)).toBe(hex(a) === hex(b));
        expect(ufidMapKey(a)).toBe(ufidMapKey(a.slice()));
      }),
      { numRuns: 2000 },
    );
    // A 15-byte UFID against the 16-byte one with a zero before its last byte.
    const short = new Uint8Array(15).fill(7);
    const long = new Uint8Array(16).fill(7);
    long[14] = 0;
    expect(ufidMapKey(short)).not.toBe(ufidMapKey(long));
  });
});
