// IPv6 reassembly before ct() and the cut on output, as the module does them
// (nf_ct_frag6_gather, nf_ct_frag6_reasm, ip6_fragment's slow path).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { feedShuffled } from './frag-feed.js';
import { be16 } from '../../src/packet/bytes.js';
import { buildFrame } from '../../src/packet/build.js';
import { l4ChecksumOk } from '../../src/packet/checksum.js';
import { fragmentIpv6, IPV6_FRAG_TIME_MS, Ipv6Defrag } from '../../src/packet/ipv6-frag.js';

const datagram = (payload: number, src = 'fd00::1') =>
  buildFrame({ src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02', l3: { kind: 'ipv6', src, dst: 'fd00::2' }, l4: { kind: 'udp', src: 1, dst: 2 }, payload });

describe('Ipv6Defrag and fragmentIpv6', () => {
  it('gives back the datagram without its fragment header, from its fragments in any order, with the largest fragment as mru', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1300, max: 6000 }), fc.integer({ min: 1280, max: 1500 }), fc.integer({ min: 0, max: 1e9 }), fc.integer({ min: 1, max: 0xffffffff }), (size, mru, seed, id) => {
        const whole = datagram(size);
        const frags = fragmentIpv6(whole, 14, mru, id);
        fc.pre(frags.length > 1);
        for (const f of frags) {
          expect(f.length - 14).toBeLessThanOrEqual(mru);
          expect(f[14 + 6]).toBe(44);
          expect(be16(f, 14 + 4)).toBe(f.length - 14 - 40);
        }
        const d = new Ipv6Defrag();
        const last = feedShuffled(d, frags, seed);
        expect(last).toEqual({ frame: whole, mru: Math.max(...frags.map((f) => f.length - 14)) });
        expect(l4ChecksumOk(whole, 14, 54, whole.length - 54, 17)).toBe(true);
        // Cut again to that size with the same id, the same fragments come out.
        expect(fragmentIpv6(whole, 14, (last as { mru: number }).mru, id)).toEqual(frags);
        expect(d.size).toBe(0);
      }),
      { numRuns: 100 },
    );
  });

  it('never cuts below the IPv6 minimum MTU, whatever the fragments were', () => {
    const frags = fragmentIpv6(datagram(3000), 14, 600, 9);
    expect(frags.map((f) => f.length - 14)).toEqual([1280, 1280, 48 + 3008 - 2 * 1232]);
  });

  it('keeps zones and datagrams apart; a duplicate is dropped alone, an overlap drops the datagram; queues expire', () => {
    const [a1, a2] = fragmentIpv6(datagram(2000), 14, 1500, 77);
    const d = new Ipv6Defrag();
    expect(d.add(a1, 14, 1, 0)).toBe('queued');
    expect(d.add(a2, 14, 2, 0)).toBe('queued');
    // Contained in what is held: held as if queued, nothing changes.
    expect(d.add(a1, 14, 1, 0)).toBe('queued');
    expect(d.size).toBe(2);
    const overlapping = a2.slice();
    const fo = be16(overlapping, 14 + 40 + 2);
    overlapping[14 + 40 + 2] = ((fo - 8) >> 8) & 0xff;
    overlapping[14 + 40 + 3] = (fo - 8) & 0xff;
    expect(d.add(overlapping, 14, 1, 0)).toBe('dropped');
    expect(d.size).toBe(1);
    expect(d.add(a2, 14, 1, 0)).toBe('queued');
    expect(d.add(a1, 14, 2, IPV6_FRAG_TIME_MS + 1)).toBe('queued');
    expect(d.size).toBe(1);
  });

  it('lets through what it cannot queue: no fragment header, or a middle fragment not a multiple of 8 (which kills its queue)', () => {
    const d = new Ipv6Defrag();
    const plain = datagram(100);
    expect(d.add(plain, 14, 0, 0)).toBe('as-is');
    const [a1, a2] = fragmentIpv6(datagram(2000), 14, 1500, 5);
    expect(d.add(a2, 14, 0, 0)).toBe('queued');
    const odd = a1.slice(0, a1.length - 3);
    odd[14 + 5] -= 3;
    expect(d.add(odd, 14, 0, 0)).toBe('as-is');
    expect(d.size).toBe(0);
  });
});
