// The bulk execute encoder writes exactly what the schema encoder writes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodePacketMessage, executeAttrs, type PacketExecute } from '../../src/ovs/packet.js';
import { packExecutes } from '../../src/ovs/packet-execute-encode.js';
import * as U from '../../src/ovs/uapi.js';

const bytes = (max: number) => fc.uint8Array({ minLength: 0, maxLength: max });
const execute: fc.Arbitrary<PacketExecute> = fc.record(
  {
    packet: bytes(300),
    key: bytes(200),
    actions: bytes(200),
    probe: fc.boolean(),
    mru: fc.nat({ max: 0xffff }),
    hash: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    upcallPid: fc.nat({ max: 0xffffffff }),
  },
  { requiredKeys: ['packet', 'key', 'actions'] },
);

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const want = (dpIfindex: number, x: PacketExecute): string => hex(encodePacketMessage(0x1e, { cmd: U.OVS_PACKET_CMD_EXECUTE, dpIfindex, attrs: executeAttrs(x) }));

describe('packExecutes', () => {
  it('packs what encodePacketMessage writes, request after request, within the size bound', () => {
    fc.assert(
      fc.property(fc.array(execute, { maxLength: 20 }), fc.integer({ min: 0, max: 0x7fffffff }), fc.integer({ min: 64, max: 4096 }), (xs, dpIfindex, maxBytes) => {
        const { packs, refused } = packExecutes(0x1e, dpIfindex, xs, maxBytes);
        expect(refused.size).toBe(0);
        const seen: number[] = [];
        for (const pack of packs) {
          expect(hex(pack.buffer)).toBe(pack.indexes.map((i) => want(dpIfindex, xs[i])).join(''));
          // Only a lone request may exceed the bound.
          if (pack.indexes.length > 1) expect(pack.buffer.length).toBeLessThanOrEqual(maxBytes);
          seen.push(...pack.indexes);
        }
        expect(seen).toEqual(xs.map((_, i) => i));
      }),
    );
  });

  it('leaves out what `take` declines and refuses what netlink cannot carry, keeping the rest', () => {
    const ok: PacketExecute = { packet: new Uint8Array(60), key: new Uint8Array(8), actions: new Uint8Array(0) };
    const huge: PacketExecute = { ...ok, packet: new Uint8Array(70_000) };
    const badMru: PacketExecute = { ...ok, mru: 70_000 };
    const badHash: PacketExecute = { ...ok, hash: -1n };
    const { packs, refused } = packExecutes(0x1e, 3, [ok, huge, badMru, ok, badHash, ok], 1 << 16, (i) => i !== 5);
    expect([...refused.keys()]).toEqual([1, 2, 4]);
    expect(refused.get(1)?.message).toMatch(/ovs_packet_attr\.packet: 70000 bytes exceed/);
    expect(refused.get(2)?.message).toMatch(/mru: 70000 is not a u16/);
    expect(refused.get(4)?.message).toMatch(/hash: -1 is not a u64/);
    expect(packs.flatMap((p) => p.indexes)).toEqual([0, 3]);
    expect(hex(packs[0].buffer)).toBe(want(3, ok) + want(3, ok));
  });
});
