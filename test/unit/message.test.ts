import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AttrWriter } from '../../src/netlink/attr.js';
import { CTRL_ATTR_FAMILY_NAME, CTRL_CMD_GETFAMILY, CTRL_VERSION, GENL_ID_CTRL, NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS, NLMSG_ERROR, NLM_F_ACK_TLVS, NLM_F_CAPPED } from '../../src/netlink/constants.js';
import { describeMessage } from '../../src/netlink/debug.js';
import { MalformedError } from '../../src/netlink/errors.js';
import { decodeFamily, genlRequest } from '../../src/netlink/genl.js';
import { beginMessage, endMessage, parseError, parseGenlHeader, parseMessages, writeGenlHeader } from '../../src/netlink/message.js';

describe('parseMessages', () => {
  it('splits a datagram holding several aligned messages', () => {
    const w = new AttrWriter();
    for (const seq of [1, 2, 3]) {
      const s = beginMessage(w, 0x20, 0, seq, 9);
      w.u8(1, seq);
      endMessage(w, s);
    }
    expect(parseMessages(w.finish()).map((m) => [m.type, m.seq, m.pid, m.payload.length])).toEqual([
      [0x20, 1, 9, 8],
      [0x20, 2, 9, 8],
      [0x20, 3, 9, 8],
    ]);
  });
  it('rejects a header cut short and a length below the header', () => {
    expect(() => parseMessages(new Uint8Array(10))).toThrow(/too short for a netlink header/);
    const b = new Uint8Array(16);
    new DataView(b.buffer).setUint32(0, 8, true);
    expect(() => parseMessages(b)).toThrow(/below the header size/);
  });
  it('never throws anything but MalformedError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 128 }), (bytes) => {
        try {
          for (const m of parseMessages(bytes)) if (m.type === NLMSG_ERROR) parseError(m);
        } catch (e) {
          expect(e).toBeInstanceOf(MalformedError);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('genlmsghdr', () => {
  it('parseGenlHeader reads back what writeGenlHeader wrote, reserved bytes zero', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), (cmd, version) => {
        const w = new AttrWriter(8);
        const s = beginMessage(w, 0x20, 0);
        writeGenlHeader(w, cmd, version);
        w.u32(1, 0xdeadbeef);
        endMessage(w, s);
        const [m] = parseMessages(w.finish());
        expect(parseGenlHeader(m.payload)).toEqual({ cmd, version });
        expect([...m.payload.subarray(2, 4)]).toEqual([0, 0]);
      }),
    );
  });
  it('rejects a payload shorter than genlmsghdr with MalformedError', () => {
    for (const n of [0, 1, 2, 3]) {
      expect(() => parseGenlHeader(new Uint8Array(n))).toThrow(MalformedError);
      expect(() => parseGenlHeader(new Uint8Array(n))).toThrow(`generic netlink payload of ${n} bytes has no genlmsghdr`);
    }
    expect(parseGenlHeader(Uint8Array.of(7, 1, 0, 0))).toEqual({ cmd: 7, version: 1 });
  });
  it('is what decodeFamily and the debug printer go by', () => {
    const short = { type: GENL_ID_CTRL, flags: 0, seq: 1, pid: 0, payload: Uint8Array.of(1, 2) };
    expect(() => decodeFamily(short)).toThrow(/payload of 2 bytes has no genlmsghdr/);
    const { w, end } = genlRequest(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, CTRL_VERSION);
    w.string(CTRL_ATTR_FAMILY_NAME, 'ovs_flow');
    expect(describeMessage(end())).toMatch(/ cmd=3 version=2 attrs=\[2:9\]$/);
    // Too short for genlmsghdr: header fields only, no made-up cmd.
    expect(describeMessage(short)).toMatch(/type=nlctrl\(0x10\) flags=0 seq=1 pid=0$/);
  });
});

describe('parseError', () => {
  // Layout of a capped error with TLVs as net/netlink/af_netlink.c builds it.
  function errorMessage(flags: number, tlvs: (w: AttrWriter) => void): Uint8Array {
    const w = new AttrWriter();
    const s = beginMessage(w, NLMSG_ERROR, flags, 5, 77);
    w.rawS32(-22);
    w.rawU32(40);
    w.rawU16(0x1c);
    w.rawU16(5);
    w.rawU32(5);
    w.rawU32(77);
    tlvs(w);
    endMessage(w, s);
    return w.finish();
  }
  it('decodes the errno, the echoed header and the extended-ack TLVs', () => {
    const bytes = errorMessage(NLM_F_CAPPED | NLM_F_ACK_TLVS, (w) => {
      w.string(NLMSGERR_ATTR_MSG, 'Attribute failed policy validation');
      w.u32(NLMSGERR_ATTR_OFFS, 24);
    });
    const e = parseError(parseMessages(bytes)[0]);
    expect(e.error).toBe(-22);
    expect(e.request).toEqual({ len: 40, type: 0x1c, flags: 5, seq: 5, pid: 77 });
    expect(e.extAck).toEqual({ message: 'Attribute failed policy validation', offset: 24 });
  });
  it('ignores TLV bytes unless NLM_F_ACK_TLVS says they are there', () => {
    const bytes = errorMessage(NLM_F_CAPPED, () => {});
    expect(parseError(parseMessages(bytes)[0]).extAck).toEqual({});
  });
  it('rejects an uncapped error whose echoed request runs past the message', () => {
    const bytes = errorMessage(NLM_F_ACK_TLVS, () => {});
    expect(() => parseError(parseMessages(bytes)[0])).toThrow(MalformedError);
  });
});

describe('errno names', () => {
  it('use the names Linux and ovs-dpctl use where several share a number', async () => {
    const { errnoName } = await import('../../src/netlink/errno.js');
    expect(errnoName(95)).toBe('EOPNOTSUPP');
    expect(errnoName(11)).toBe('EAGAIN');
    expect(errnoName(2)).toBe('ENOENT');
    expect(errnoName(4242)).toBe('E4242');
  });
});
