// The fallback meter's token buckets, against numbers worked out by hand
// from the kernel's ovs_meter_execute().
import { describe, expect, it } from 'vitest';
import { Meter } from '../../src/userspace/meter.js';

describe('fallback meter (the kernel token-bucket model)', () => {
  it('packets/s: passes the burst at once, then the rate as time goes by', () => {
    const m = new Meter({ id: 1, bands: [{ rate: 10, burst: 3 }] }, 0);
    // Bucket 3000 milli-packets: three pass, the fourth is dropped.
    expect([1, 2, 3, 4].map(() => m.execute(60, 0))).toEqual([false, false, false, true]);
    // 100 ms at 10 packets/s refills exactly one packet.
    expect(m.execute(60, 100)).toBe(false);
    expect(m.execute(60, 100)).toBe(true);
    // A long pause refills to the burst, no more.
    expect([1, 2, 3, 4].map(() => m.execute(60, 60_000))).toEqual([false, false, false, true]);
    expect(m.packets).toBe(10);
    expect(m.bands[0].packets).toBe(3);
    expect(m.bands[0].bytes).toBe(180);
  });

  it('kbps: a packet costs its bits', () => {
    // 8 kbit/s, burst 1 kbit = 1000 bits: one 100-byte packet (800 bits) passes, a second does not.
    const m = new Meter({ id: 2, kbps: true, bands: [{ rate: 8, burst: 1 }] }, 0);
    expect(m.execute(100, 0)).toBe(false);
    expect(m.execute(100, 0)).toBe(true);
    // 75 ms at 8 bits/ms: 200 + 600 = 800 bits, enough for one more.
    expect(m.execute(100, 75)).toBe(false);
  });

  it('of several exceeded bands, the one with the highest rate acts', () => {
    const m = new Meter({ id: 3, bands: [{ rate: 5, burst: 1, type: 2 }, { rate: 50, burst: 1 }] }, 0);
    expect(m.execute(60, 0)).toBe(false);
    // Both buckets are empty: the 50/s drop band wins over the 5/s band of an unknown type.
    expect(m.execute(60, 0)).toBe(true);
    expect(m.bands.map((b) => b.packets)).toEqual([0, 1]);
  });
});
