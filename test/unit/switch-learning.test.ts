// The learning switch: learning, aging, flooding, moves, and the megaflow
// masks of its decisions field by field.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isGroupMac, LearningSwitch } from '../../src/switch/learning.js';
import { arpKey, ipv4Key, tagged } from './switch-keys.js';

const A = '00:00:00:00:00:0a';
const B = '00:00:00:00:00:0b';
const C = '00:00:00:00:00:0c';
const BCAST = 'ff:ff:ff:ff:ff:ff';

function sw(ports: number[] = [1, 2, 3], opts: { agingSeconds?: number; maxEntries?: number } = {}) {
  const state = { ports };
  const s = new LearningSwitch({ ports: () => state.ports, ...opts });
  return { s, state };
}

const outputs = (d: { actions: { type: string; port?: number }[] }): number[] => d.actions.map((a) => (a.type === 'output' ? a.port! : -1));

describe('LearningSwitch', () => {
  it('floods an unknown destination to every port but the input one', () => {
    const { s } = sw([1, 2, 3, 4]);
    const d = s.decide(ipv4Key({ inPort: 2, src: A, dst: B }));
    expect(outputs(d)).toEqual([1, 3, 4]);
    expect(d.reason).toBe('flood');
  });

  it('floods broadcast and multicast even when the address was seen as a source', () => {
    const { s } = sw();
    // A group address is never learned, so it can never become unicast.
    expect(s.observe(ipv4Key({ inPort: 3, src: '01:00:5e:00:00:01', dst: A }), 0)).toBe(false);
    expect(outputs(s.decide(arpKey({ inPort: 1, src: A, dst: BCAST })))).toEqual([2, 3]);
    expect(outputs(s.decide(ipv4Key({ inPort: 1, src: A, dst: '01:00:5e:00:00:01' })))).toEqual([2, 3]);
  });

  it('learns a source and sends unicast to its port only', () => {
    const { s } = sw();
    const g0 = s.generation;
    expect(s.observe(ipv4Key({ inPort: 3, src: B, dst: A }), 1000)).toBe(true);
    expect(s.generation).toBeGreaterThan(g0);
    expect(s.lookup(0, B)).toBe(3);
    const d = s.decide(ipv4Key({ inPort: 1, src: A, dst: B }));
    expect(outputs(d)).toEqual([3]);
    expect(d.reason).toBe('learned');
  });

  it('seeing a known source on its port again changes nothing but its age', () => {
    const { s } = sw([1, 2, 3], { agingSeconds: 10 });
    s.observe(ipv4Key({ inPort: 3, src: B }), 0);
    const g = s.generation;
    expect(s.observe(ipv4Key({ inPort: 3, src: B }), 8000)).toBe(false);
    expect(s.generation).toBe(g);
    // Refreshed at 8 s: still there at 15 s, gone at 18 s.
    expect(s.expire(15000)).toBe(false);
    expect(s.lookup(0, B)).toBe(3);
    expect(s.expire(18000)).toBe(true);
    expect(s.lookup(0, B)).toBeUndefined();
    expect(s.generation).toBeGreaterThan(g);
    expect(s.stats.expired).toBe(1);
  });

  it('ages entries out after 300 s by default', () => {
    const { s } = sw();
    s.observe(ipv4Key({ inPort: 2, src: C }), 0);
    expect(s.expire(299_999)).toBe(false);
    expect(s.expire(300_000)).toBe(true);
    expect(outputs(s.decide(ipv4Key({ inPort: 1, dst: C })))).toEqual([2, 3]);
  });

  it('reports a move and forwards to the new port', () => {
    const { s } = sw();
    s.observe(ipv4Key({ inPort: 2, src: B }), 0);
    const g = s.generation;
    expect(s.observe(ipv4Key({ inPort: 3, src: B }), 1)).toBe(true);
    expect(s.stats.moves).toBe(1);
    expect(s.generation).toBeGreaterThan(g);
    expect(outputs(s.decide(ipv4Key({ inPort: 1, dst: B })))).toEqual([3]);
  });

  it('drops what would go back out its input port', () => {
    const { s } = sw();
    s.observe(ipv4Key({ inPort: 2, src: B }), 0);
    const d = s.decide(ipv4Key({ inPort: 2, src: A, dst: B }));
    expect(d.actions).toEqual([]);
    expect(d.reason).toBe('drop');
  });

  it('learns per VLAN', () => {
    const { s } = sw();
    s.observe(tagged(ipv4Key({ inPort: 2, src: B }), 10), 0);
    expect(s.lookup(10, B)).toBe(2);
    expect(s.lookup(0, B)).toBeUndefined();
    expect(outputs(s.decide(tagged(ipv4Key({ inPort: 1, dst: B }), 10)))).toEqual([2]);
    expect(outputs(s.decide(tagged(ipv4Key({ inPort: 1, dst: B }), 20)))).toEqual([2, 3]);
    expect(outputs(s.decide(ipv4Key({ inPort: 1, dst: B })))).toEqual([1, 2, 3].filter((p) => p !== 1));
  });

  it('bumps the generation when the port set changes, and floods to the new set', () => {
    const { s, state } = sw([1, 2]);
    const g = s.generation;
    state.ports = [1, 2, 5];
    expect(s.generation).toBe(g + 1);
    expect(s.generation).toBe(g + 1);
    expect(outputs(s.decide(ipv4Key({ inPort: 1, dst: C })))).toEqual([2, 5]);
  });

  it('evicts the least recently seen entry beyond maxEntries', () => {
    const { s } = sw([1, 2, 3], { maxEntries: 2 });
    s.observe(ipv4Key({ inPort: 1, src: A }), 0);
    s.observe(ipv4Key({ inPort: 2, src: B }), 1);
    s.observe(ipv4Key({ inPort: 1, src: A }), 2); // refresh A: B is now the oldest
    s.observe(ipv4Key({ inPort: 3, src: C }), 3);
    expect(s.size).toBe(2);
    expect(s.lookup(0, B)).toBeUndefined();
    expect(s.lookup(0, A)).toBe(1);
    expect(s.lookup(0, C)).toBe(3);
    expect(s.stats.evicted).toBe(1);
  });

  describe('masks', () => {
    it('an untagged IPv4 packet: in_port, both MACs, recirc_id; no EtherType, no L3/L4', () => {
      const { s } = sw();
      const m = s.decide(ipv4Key({ inPort: 1, src: A, dst: B })).mask;
      expect(m).toEqual({
        inPort: 0xffffffff,
        recircId: 0xffffffff,
        ethernet: { src: BCAST, dst: BCAST },
      });
    });

    it('the same mask whatever the decision (flood, learned, drop)', () => {
      const { s } = sw();
      const key = ipv4Key({ inPort: 1, src: A, dst: B });
      const flood = s.decide(key).mask;
      s.observe(ipv4Key({ inPort: 2, src: B }), 0);
      expect(s.decide(key).mask).toEqual(flood);
      s.observe(ipv4Key({ inPort: 1, src: B }), 0);
      expect(s.decide(key).reason).toBe('drop');
      expect(s.decide(key).mask).toEqual(flood);
    });

    it('ARP: no ARP fields', () => {
      const { s } = sw();
      const m = s.decide(arpKey({ inPort: 1, src: A })).mask;
      expect(m.arp).toBeUndefined();
      expect(m.ethertype).toBeUndefined();
    });

    it('a tagged packet: the VID and the tag, not the PCP', () => {
      const { s } = sw();
      const m = s.decide(tagged(ipv4Key({ inPort: 1, src: A, dst: B }), 10, 5)).mask;
      expect(m).toEqual({
        inPort: 0xffffffff,
        recircId: 0xffffffff,
        ethernet: { src: BCAST, dst: BCAST },
        ethertype: 0xffff,
        vlan: { vid: 0xfff, pcp: 0, cfi: 1 },
        encap: { ethertype: 0xffff },
      });
    });
  });

  describe('affectedSince', () => {
    const towards = (dst: string, inPort = 1) => ipv4Key({ inPort, src: '00:00:00:00:00:99', dst });
    const from = (src: string, inPort: number) => ipv4Key({ inPort, src, dst: '00:00:00:00:00:99' });

    it('names the flows towards a learned or moved MAC, and leaves the others their decisions', () => {
      const { s } = sw();
      s.observe(from(C, 3), 0);
      s.observe(from(A, 3), 0);
      const g = s.generation;
      const keys = [towards(A), towards(B), towards(C), towards(BCAST)];
      const before = keys.map((k) => outputs(s.decide(k)));
      expect(s.affectedSince(g)!(towards(A))).toBe(false);
      s.observe(ipv4Key({ inPort: 2, src: B, dst: A }), 0); // new
      s.observe(ipv4Key({ inPort: 2, src: A, dst: B }), 0); // moved from 3
      expect(s.generation).toBeGreaterThan(g);
      const hit = s.affectedSince(g)!;
      expect(keys.map((k) => hit(k))).toEqual([true, true, false, false]);
      // What the predicate says no to decides as before; what it names changed.
      const after = keys.map((k) => outputs(s.decide(k)));
      expect(after[2]).toEqual(before[2]);
      expect(after[3]).toEqual(before[3]);
      expect(after[0]).not.toEqual(before[0]);
      expect(after[1]).not.toEqual(before[1]);
      // Nothing since now.
      expect(s.affectedSince(s.generation)!(towards(A))).toBe(false);
    });

    it('names the flows towards expired and flushed MACs', () => {
      const { s } = sw([1, 2, 3], { agingSeconds: 1 });
      s.observe(from(A, 2), 0);
      s.observe(from(B, 3), 500);
      let g = s.generation;
      expect(s.expire(1200)).toBe(true);
      let hit = s.affectedSince(g)!;
      expect([hit(towards(A)), hit(towards(B))]).toEqual([true, false]);
      g = s.generation;
      expect(s.flushPort(3)).toBe(true);
      hit = s.affectedSince(g)!;
      expect([hit(towards(A)), hit(towards(B))]).toEqual([false, true]);
    });

    it('cannot tell after a port change, nor back past the changes it keeps', () => {
      const { s, state } = sw();
      const g0 = s.generation;
      s.observe(from(A, 2), 0);
      const g1 = s.generation;
      state.ports = [1, 2, 3, 4];
      const g2 = s.generation;
      expect(g2).toBeGreaterThan(g1);
      expect(s.affectedSince(g1)).toBeUndefined();
      expect(s.affectedSince(g2)!(towards(B))).toBe(false);
      for (let i = 0; i < 9000; i++) s.observe(from(A, 1 + (i % 3)), i);
      expect(s.affectedSince(g2)).toBeUndefined();
      expect(s.affectedSince(s.generation - 10)!(towards(A))).toBe(true);
      expect(g0).toBeLessThan(g1);
    });
  });
});

describe('isGroupMac', () => {
  it('reads the group bit of the first octet, in every way a MAC is written', () => {
    expect(isGroupMac(BCAST)).toBe(true);
    expect(isGroupMac('01:00:5e:00:00:01')).toBe(true);
    expect(isGroupMac('33:33:00:00:00:01')).toBe(true);
    expect(isGroupMac(A)).toBe(false);
    expect(isGroupMac('0F:00:00:00:00:00')).toBe(true);
    expect(isGroupMac('1:2:3:4:5:6')).toBe(true);
    expect(isGroupMac('2:2:3:4:5:6')).toBe(false);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.boolean(), fc.boolean(), (first, upper, short) => {
        let octet = first.toString(16);
        if (!short) octet = octet.padStart(2, '0');
        if (upper) octet = octet.toUpperCase();
        expect(isGroupMac(`${octet}:00:00:00:00:01`)).toBe((first & 1) === 1);
      }),
    );
  });
});
