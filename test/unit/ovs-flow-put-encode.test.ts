// The bulk flow-put encoder writes exactly what the schema encoder writes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NLM_F_CREATE, NLM_F_ECHO } from '../../src/netlink/constants.js';
import { encodeFlowMessage } from '../../src/ovs/flow.js';
import { encodeFlowPut, encodeFlowPuts, packFlowPuts, type FlowPutAttrs } from '../../src/ovs/flow-put-encode.js';
import * as U from '../../src/ovs/uapi.js';

const bytes = (max: number) => fc.uint8Array({ minLength: 0, maxLength: max });
const attrs: fc.Arbitrary<FlowPutAttrs> = fc.record(
  {
    ufid: fc.uint8Array({ minLength: 1, maxLength: 16 }),
    key: bytes(200),
    mask: bytes(200),
    actions: bytes(300),
    clear: fc.boolean(),
    probe: fc.boolean(),
    ufidFlags: fc.nat({ max: 0xffffffff }),
  },
  { requiredKeys: [] },
);
const request = fc.record({
  cmd: fc.constantFrom(U.OVS_FLOW_CMD_NEW, U.OVS_FLOW_CMD_SET),
  flags: fc.constantFrom(0, NLM_F_CREATE, NLM_F_ECHO, NLM_F_CREATE | NLM_F_ECHO),
  attrs,
});

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('encodeFlowPuts', () => {
  it('matches encodeFlowMessage byte for byte, request by request', () => {
    fc.assert(
      fc.property(fc.array(request, { maxLength: 20 }), fc.integer({ min: 0, max: 0x7fffffff }), (reqs, dpIfindex) => {
        const batch = encodeFlowPuts(0x1d, dpIfindex, reqs);
        reqs.forEach((r, i) => {
          const want = encodeFlowMessage(0x1d, { cmd: r.cmd, dpIfindex, attrs: r.attrs }, { flags: r.flags });
          expect(hex(batch[i] as Uint8Array)).toBe(hex(want));
        });
      }),
    );
  });

  it('reports a request it cannot encode in its place, and encodes the rest', () => {
    const ok = { cmd: U.OVS_FLOW_CMD_NEW, flags: 0, attrs: { key: new Uint8Array(8) } };
    const huge = { cmd: U.OVS_FLOW_CMD_NEW, flags: 0, attrs: { actions: new Uint8Array(70000) } };
    const [a, b, c] = encodeFlowPuts(1, 2, [ok, huge, { ...ok, attrs: { ufidFlags: -1 } }]);
    expect(a).toBeInstanceOf(Uint8Array);
    expect(b).toBeInstanceOf(RangeError);
    expect(c).toBeInstanceOf(RangeError);
    expect(() => encodeFlowPut(1, 2, huge)).toThrow(/65535-byte/);
  });

  it('packs requests back to back, as encodeFlowPuts encodes each, in buffers of at most maxBytes', () => {
    fc.assert(
      fc.property(fc.array(request, { maxLength: 30 }), fc.integer({ min: 1, max: 3000 }), (reqs, maxBytes) => {
        const { packs, refused } = packFlowPuts(0x1d, 7, reqs, maxBytes);
        expect(refused.size).toBe(0);
        const each = encodeFlowPuts(0x1d, 7, reqs) as Uint8Array[];
        // Every request once, in order; each buffer is its requests' bytes, and fits unless it holds one alone.
        expect(packs.flatMap((p) => p.indexes)).toEqual(reqs.map((_, i) => i));
        for (const p of packs) {
          expect(hex(p.buffer)).toBe(p.indexes.map((i) => hex(each[i])).join(''));
          if (p.indexes.length > 1) expect(p.buffer.length).toBeLessThanOrEqual(maxBytes);
        }
      }),
    );
    const ok = { cmd: U.OVS_FLOW_CMD_NEW, flags: 0, attrs: { key: new Uint8Array(8) } };
    const huge = { cmd: U.OVS_FLOW_CMD_NEW, flags: 0, attrs: { actions: new Uint8Array(70000) } };
    const { packs, refused } = packFlowPuts(1, 2, [ok, huge, ok], 1 << 16);
    expect([...refused.keys()]).toEqual([1]);
    expect(refused.get(1)).toBeInstanceOf(RangeError);
    expect(packs.map((p) => p.indexes)).toEqual([[0, 2]]);
  });
});
