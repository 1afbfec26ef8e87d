// dump-flows' flow reply walker against the schema decoder it stands in
// for: the same Flow for every reply, including those it hands over
// (unknown or repeated attributes), and the same failure for bad bytes.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { walkFlow } from '../../src/cli/flow-walk.js';
import { toFlow } from '../../src/dpif/convert.js';
import { decodeFlowMessage, encodeFlowMessage } from '../../src/ovs/flow.js';
import { parseMessages, type NlMessage } from '../../src/netlink/message.js';
import { parsePut } from '../../src/cli/flow-text.js';

const FAMILY = 30;

function reply(attrs: Parameters<typeof encodeFlowMessage>[1]['attrs']): NlMessage {
  return parseMessages(encodeFlowMessage(FAMILY, { cmd: 1, dpIfindex: 7, attrs }))[0];
}

function schema(m: NlMessage): unknown {
  try {
    return toFlow(decodeFlowMessage(m));
  } catch (err) {
    return { threw: (err as Error).constructor.name };
  }
}

function walked(m: NlMessage): unknown {
  try {
    return walkFlow(m);
  } catch (err) {
    return { threw: (err as Error).constructor.name };
  }
}

const put = parsePut('in_port(1),eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,frag=no),tcp(dst=80)', '2', new Map());
if ('error' in put) throw new Error(put.error);

describe('flow reply walker', () => {
  it('reads what the schema decoder reads, attribute for attribute', () => {
    const cases = [
      reply({ key: put.key, mask: put.mask, actions: put.actions }),
      reply({ key: put.key, mask: put.mask, actions: new Uint8Array(0), stats: { packets: 3n, bytes: 294n }, used: 123456789n, tcpFlags: 0x12 }),
      reply({ ufid: Uint8Array.from({ length: 16 }, (_, i) => i + 1), key: put.key, mask: put.mask, actions: put.actions, stats: { packets: 2n ** 60n, bytes: 2n ** 63n } }),
      reply({ ufid: Uint8Array.from([1, 2, 3, 4]) }),
      reply({}),
    ];
    for (const m of cases) {
      const w = walkFlow(m);
      expect(w).toEqual(schema(m));
      // Views of the reply, not copies: nothing allocated per attribute.
      if (w.key) expect(w.key.buffer).toBe(m.payload.buffer);
    }
  });

  it('hands replies it does not expect to the schema decoder', () => {
    const m = reply({ key: put.key, actions: put.actions });
    // An attribute type the walker does not know (40), appended: the decoder keeps it as unknown.
    const extra = Uint8Array.from([8, 0, 40, 0, 1, 2, 3, 4]);
    const payload = new Uint8Array(m.payload.length + extra.length);
    payload.set(m.payload);
    payload.set(extra, m.payload.length);
    const withUnknown: NlMessage = { ...m, payload };
    expect(walkFlow(withUnknown)).toEqual(schema(withUnknown));
    expect((walkFlow(withUnknown) as { unknown?: unknown }).unknown).toBeDefined();
    // A stats attribute of the wrong size: the decoder's typed error.
    const bad = reply({ stats: { packets: 1n, bytes: 1n } });
    const cut: NlMessage = { ...bad, payload: bad.payload.slice() };
    new DataView(cut.payload.buffer).setUint16(8, 4 + 8, true);
    expect(walked(cut)).toEqual(schema(cut));
  });

  it('never disagrees with the decoder on random attribute bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 96 }), (attrs) => {
        const payload = new Uint8Array(8 + attrs.length);
        payload.set([1, 1, 0, 0, 7, 0, 0, 0]);
        payload.set(attrs, 8);
        const m: NlMessage = { type: FAMILY, flags: 0, seq: 1, pid: 0, payload };
        expect(walked(m)).toEqual(schema(m));
      }),
      { numRuns: 2000 },
    );
  });
});
