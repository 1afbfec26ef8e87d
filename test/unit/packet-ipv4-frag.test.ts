// IPv4 reassembly before ct() and the cut on output, as the module does them
// (ip_defrag, ip_frag_reasm, ip_do_fragment's slow path).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { feedShuffled } from './frag-feed.js';
import { ipv4HeaderChecksumOk } from '../../src/packet/checksum.js';
import { buildFrame } from '../../src/packet/build.js';
import { fragmentIpv4, IPFRAG_TIME_MS, Ipv4Defrag } from '../../src/packet/ipv4-frag.js';

const datagram = (payload: number, id = 0x4242) =>
  buildFrame({ src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02', l3: { kind: 'ipv4', src: '10.0.0.1', dst: '10.0.0.2', id }, l4: { kind: 'udp', src: 1, dst: 2 }, payload });

describe('Ipv4Defrag and fragmentIpv4', () => {
  it('gives back the datagram from its fragments in any order, with the largest fragment as mru', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 6000 }), fc.integer({ min: 68, max: 1500 }), fc.integer({ min: 0, max: 1e9 }), (size, mru, seed) => {
        const whole = datagram(size);
        const frags = fragmentIpv4(whole, 14, mru);
        fc.pre(frags.length > 1);
        for (const f of frags) expect(ipv4HeaderChecksumOk(f, 14)).toBe(true);
        const d = new Ipv4Defrag();
        const last = feedShuffled(d, frags, seed);
        expect(last).toEqual({ frame: whole, mru: Math.max(...frags.map((f) => f.length - 14)) });
        // Cut again to that size, the same fragments come out.
        expect(fragmentIpv4(whole, 14, (last as { mru: number }).mru)).toEqual(frags);
        expect(d.size).toBe(0);
      }),
      { numRuns: 200 },
    );
  });

  it('keeps zones and datagrams apart, drops duplicates alone and overlapping datagrams whole, forgets after ipfrag_time', () => {
    const [a1, a2] = fragmentIpv4(datagram(2000), 14, 1500);
    const d = new Ipv4Defrag();
    expect(d.add(a1, 14, 1, 0)).toBe('queued');
    expect(d.add(a2, 14, 2, 0)).toBe('queued');
    expect(d.add(a1, 14, 1, 0)).toBe('dropped');
    expect(d.size).toBe(2);
    const overlapping = a2.slice();
    overlapping[14 + 7] -= 1; // offset 8 bytes earlier: overlaps the first fragment
    overlapping[14 + 10] = 0;
    overlapping[14 + 11] = 0;
    expect(d.add(overlapping, 14, 1, 0)).toBe('dropped');
    expect(d.add(a2, 14, 1, 0)).toBe('queued');
    expect(d.add(a1, 14, 2, IPFRAG_TIME_MS + 1)).toBe('queued');
    expect(d.size).toBe(1);
  });
});
