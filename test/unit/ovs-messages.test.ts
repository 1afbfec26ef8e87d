// Property tests over the six OVS message codecs: decode(encode(x)) = x,
// encode(decode(bytes)) = bytes for encoder output, and random bytes decode
// or fail with MalformedError, never anything else.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MalformedError } from '../../src/netlink/errors.js';
import { parseMessages, type NlMessage } from '../../src/netlink/message.js';
import { decodeDatapathMessage, encodeDatapathMessage } from '../../src/ovs/datapath.js';
import { decodeVportMessage, encodeVportMessage } from '../../src/ovs/vport.js';
import { decodeFlowMessage, encodeFlowMessage } from '../../src/ovs/flow.js';
import { decodePacketMessage, decodeUpcall, encodePacketMessage } from '../../src/ovs/packet.js';
import { decodeMeterMessage, encodeMeterMessage } from '../../src/ovs/meter.js';
import { decodeCtLimitMessage, encodeCtLimitMessage } from '../../src/ovs/ct-limit.js';
import type { MessageHeader, OvsMessage } from '../../src/ovs/header.js';
import { ctLimitAttrs, datapathAttrs, flowAttrs, hex, meterAttrs, packetAttrs, s32, u32, u8, vportAttrs } from './ovs-arbitraries.js';

interface Codec {
  name: string;
  version: number;
  encode(familyId: number, msg: OvsMessage<never>, hdr?: MessageHeader): Uint8Array;
  decode(m: NlMessage): OvsMessage<unknown>;
  attrs: fc.Arbitrary<unknown>;
}

const codecs: Codec[] = [
  { name: 'datapath', version: 2, encode: encodeDatapathMessage, decode: decodeDatapathMessage, attrs: datapathAttrs },
  { name: 'vport', version: 1, encode: encodeVportMessage, decode: decodeVportMessage, attrs: vportAttrs },
  { name: 'flow', version: 1, encode: encodeFlowMessage, decode: decodeFlowMessage, attrs: flowAttrs },
  { name: 'packet', version: 1, encode: encodePacketMessage, decode: decodePacketMessage, attrs: packetAttrs },
  { name: 'meter', version: 1, encode: encodeMeterMessage, decode: decodeMeterMessage, attrs: meterAttrs },
  { name: 'ct_limit', version: 1, encode: encodeCtLimitMessage, decode: decodeCtLimitMessage, attrs: ctLimitAttrs },
] as unknown as Codec[];

const one = (bytes: Uint8Array): NlMessage => {
  const msgs = parseMessages(bytes);
  expect(msgs).toHaveLength(1);
  return msgs[0];
};

describe.each(codecs)('ovs_$name message codec', (c) => {
  it('decode(encode(x)) = x', () => {
    fc.assert(
      fc.property(u8, s32, c.attrs, (cmd, dpIfindex, attrs) => {
        const msg = { cmd, dpIfindex, attrs } as OvsMessage<never>;
        const bytes = c.encode(0x1f, msg, { flags: 0x5, seq: 7, pid: 9 });
        const m = one(bytes);
        expect(m).toMatchObject({ type: 0x1f, flags: 0x5, seq: 7, pid: 9 });
        expect(c.decode(m)).toEqual({ cmd, version: c.version, dpIfindex, attrs });
      }),
    );
  });

  it('re-encodes what it decoded byte for byte', () => {
    fc.assert(
      fc.property(u8, u32, c.attrs, (cmd, seq, attrs) => {
        const bytes = c.encode(0x20, { cmd, dpIfindex: 3, attrs } as OvsMessage<never>, { seq });
        const m = one(bytes);
        const again = c.encode(m.type, c.decode(m) as OvsMessage<never>, { flags: m.flags, seq: m.seq, pid: m.pid });
        expect(hex(again)).toBe(hex(bytes));
      }),
    );
  });

  it('random payloads decode or fail with MalformedError, and what decodes is stable', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 160 }), (payload) => {
        const m: NlMessage = { type: 0x20, flags: 0, seq: 1, pid: 0, payload };
        let first: OvsMessage<unknown>;
        try {
          first = c.decode(m);
        } catch (err) {
          expect(err).toBeInstanceOf(MalformedError);
          return;
        }
        const again = c.decode(one(c.encode(0x20, first as OvsMessage<never>)));
        expect(again).toEqual(first);
      }),
      { numRuns: 2000 },
    );
  });

  it('random attribute streams behind a valid header decode or fail with MalformedError', () => {
    // Well-formed TLV framing with random types and payloads reaches the field decoders.
    const tlv = fc.record({ type: fc.integer({ min: 0, max: 14 }), data: fc.uint8Array({ maxLength: 40 }) });
    fc.assert(
      fc.property(fc.array(tlv, { maxLength: 8 }), (list) => {
        const parts: number[] = [c.version === 2 ? 3 : 1, c.version, 0, 0, 0, 0, 0, 0];
        for (const a of list) {
          const len = 4 + a.data.length;
          parts.push(len & 0xff, len >> 8, a.type, 0, ...a.data);
          while (parts.length % 4) parts.push(0);
        }
        const m: NlMessage = { type: 0x20, flags: 0, seq: 1, pid: 0, payload: new Uint8Array(parts) };
        try {
          c.decode(m);
        } catch (err) {
          expect(err).toBeInstanceOf(MalformedError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('decodeUpcall', () => {
  it('never throws anything but MalformedError on random payloads', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (payload) => {
        try {
          decodeUpcall({ type: 0x20, flags: 0, seq: 0, pid: 0, payload });
        } catch (err) {
          expect(err).toBeInstanceOf(MalformedError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
