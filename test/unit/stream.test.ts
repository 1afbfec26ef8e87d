import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AttrWriter } from '../../src/netlink/attr.js';
import { MalformedError } from '../../src/netlink/errors.js';
import { beginMessage, endMessage } from '../../src/netlink/message.js';
import { MessageStream } from '../../src/netlink/stream.js';

const message = (payload: Uint8Array): Uint8Array => {
  const w = new AttrWriter();
  const s = beginMessage(w, 0x20, 0, 1, 2);
  w.rawBytes(payload);
  endMessage(w, s);
  return w.finish().slice();
};

describe('MessageStream', () => {
  it('yields the same messages however the stream is cut', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1 }), (payloads, cuts) => {
        const msgs = payloads.map(message);
        const all = Buffer.concat(msgs);
        const s = new MessageStream();
        const got: Uint8Array[] = [];
        let off = 0;
        for (let i = 0; off < all.length; i++) {
          const n = cuts[i % cuts.length];
          got.push(...s.push(all.subarray(off, off + n)));
          off += n;
        }
        expect(got.map((m) => Buffer.from(m).toString('hex'))).toEqual(msgs.map((m) => Buffer.from(m).toString('hex')));
        expect(s.buffered).toBe(0);
      }),
    );
  });
  it('rejects a length below the header size', () => {
    expect(() => new MessageStream().push(new Uint8Array(16).fill(1, 0, 1))).toThrow(MalformedError);
  });
});
