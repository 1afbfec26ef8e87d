// Software TCP segmentation of oversized frames (what a TSO sender behind a
// veth hands AF_PACKET): every segment a valid packet within the MTU, the
// payload and sequence space covered exactly once, FIN/PSH last, CWR first.
import { describe, expect, it } from 'vitest';
import { buildFrame, ipv4HeaderChecksumOk, l4ChecksumOk, parsePacket, TCP_ACK, TCP_CWR, TCP_FIN, TCP_PSH } from '../../src/packet/index.js';
import { segmentTcp } from '../../src/packet/segment.js';

const payload = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7) & 0xff);

describe('segmentTcp', () => {
  for (const v6 of [false, true]) {
    it(`cuts an IPv${v6 ? 6 : 4} super-segment into MTU-sized valid segments`, () => {
      const data = payload(5000);
      const l3 = v6 ? ({ kind: 'ipv6', src: 'fd00::1', dst: 'fd00::2' } as const) : ({ kind: 'ipv4', src: '10.0.0.1', dst: '10.0.0.2', id: 0xfffe } as const);
      const options = new Uint8Array([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]);
      const f = buildFrame({ l3, l4: { kind: 'tcp', src: 1000, dst: 80, seq: 0xfffff000, flags: TCP_ACK | TCP_PSH | TCP_FIN | TCP_CWR, options }, payload: data });
      const segs = segmentTcp(f, 1500)!;
      const hdr = 14 + (v6 ? 40 : 20) + 32;
      expect(segs.map((s) => s.length)).toEqual([1514, 1514, 1514, hdr + 5000 - 3 * (1500 - hdr + 14)]);
      const got: number[] = [];
      segs.forEach((s, i) => {
        const p = parsePacket(s);
        expect(p.ipTotalLen).toBe(s.length - 14);
        if (!v6) {
          expect(ipv4HeaderChecksumOk(s, 14)).toBe(true);
          expect((s[18] << 8) | s[19]).toBe((0xfffe + i) & 0xffff);
        }
        expect(l4ChecksumOk(s, 14, p.l4, s.length - p.l4, 6)).toBe(true);
        const seq = ((s[p.l4 + 4] << 24) | (s[p.l4 + 5] << 16) | (s[p.l4 + 6] << 8) | s[p.l4 + 7]) >>> 0;
        expect(seq).toBe((0xfffff000 + got.length) >>> 0);
        const last = i === segs.length - 1;
        expect(p.tcpFlags).toBe(TCP_ACK | (last ? TCP_PSH | TCP_FIN : 0) | (i === 0 ? TCP_CWR : 0));
        got.push(...s.subarray(hdr));
      });
      expect(Uint8Array.from(got)).toEqual(data);
    });
  }

  it('leaves frames that fit, and what is not TCP, alone', () => {
    expect(segmentTcp(buildFrame({ l3: { kind: 'ipv4', src: '10.0.0.1', dst: '10.0.0.2' }, l4: { kind: 'tcp', src: 1, dst: 2 }, payload: 1460 }), 1500)).toBeUndefined();
    expect(segmentTcp(buildFrame({ l3: { kind: 'ipv4', src: '10.0.0.1', dst: '10.0.0.2' }, l4: { kind: 'udp', src: 1, dst: 2 }, payload: 3000 }), 1500)).toBeUndefined();
  });
});
