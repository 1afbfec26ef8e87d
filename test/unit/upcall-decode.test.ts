// The hot-path upcall decoder against the schema decoder it replaces: the
// same Upcall for every valid message (the kernel's own, recorded, and
// generated ones), MalformedError and nothing else for any other bytes.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MalformedError } from '../../src/netlink/errors.js';
import { parseMessages } from '../../src/netlink/message.js';
import { decodeUpcall, encodePacketMessage, type Upcall } from '../../src/ovs/packet.js';
import * as U from '../../src/ovs/uapi.js';
import { copyUpcall, decodeUpcallPayload, walkUpcallDatagram, type DatagramTally } from '../../src/dpif/upcall-decode.js';
import { packetAttrs, s32 } from './ovs-arbitraries.js';

const FAMILY = 0x1d;
const root = join(__dirname, '..', 'fixtures');

function fixtures(): [string, Uint8Array][] {
  const out: [string, Uint8Array][] = [];
  for (const dir of readdirSync(root).filter((d) => d.startsWith('kernel-'))) {
    for (const file of readdirSync(join(root, dir)).filter((f) => f.startsWith('upcall-'))) {
      const lines = readFileSync(join(root, dir, file), 'utf8').split('\n');
      for (const l of lines.filter((x) => x.trim() && !x.startsWith('#'))) out.push([`${dir}/${file}`, new Uint8Array(Buffer.from(l.trim(), 'hex'))]);
    }
  }
  return out;
}

/** Both decoders on one message's payload: the same result, or both MalformedError. */
function agree(bytes: Uint8Array): Upcall | undefined {
  let messages;
  try {
    messages = parseMessages(bytes);
  } catch {
    return undefined; // a broken nlmsghdr is walkUpcallDatagram's business
  }
  if (messages.length === 0) return undefined;
  const m = messages[0];
  let want: Upcall | Error;
  try {
    want = decodeUpcall(m);
  } catch (e) {
    want = e as Error;
  }
  let got: Upcall | Error;
  try {
    got = decodeUpcallPayload(m.payload, 0, m.payload.length);
  } catch (e) {
    got = e as Error;
  }
  if (want instanceof Error) {
    expect(want).toBeInstanceOf(MalformedError);
    expect(got).toBeInstanceOf(MalformedError);
    return undefined;
  }
  expect(got).toEqual(want);
  return got as Upcall;
}

describe('decodeUpcallPayload', () => {
  it.each(fixtures())('decodes the kernel upcall in %s as decodeUpcall does', (_name, bytes) => {
    const u = agree(bytes)!;
    expect(u.kind).toBe('miss');
    expect(u.packet.buffer).toBe(bytes.buffer);
  });

  it('agrees with decodeUpcall on generated MISS and ACTION messages', () => {
    fc.assert(
      fc.property(fc.constantFrom(U.OVS_PACKET_CMD_MISS, U.OVS_PACKET_CMD_ACTION, U.OVS_PACKET_CMD_EXECUTE), s32, packetAttrs, (cmd, dpIfindex, attrs) => {
        agree(encodePacketMessage(FAMILY, { cmd, dpIfindex, attrs }));
      }),
      { numRuns: 500 },
    );
  });

  it('throws MalformedError and nothing else on damaged messages', () => {
    fc.assert(
      fc.property(packetAttrs, fc.integer({ min: 0, max: 400 }), fc.integer({ min: 0, max: 255 }), (attrs, at, value) => {
        const bytes = encodePacketMessage(FAMILY, { cmd: 1, dpIfindex: 1, attrs }).slice();
        if (at < bytes.length) bytes[at] = value;
        const cut = bytes.subarray(0, Math.max(16, Math.min(bytes.length, at + 16)));
        // Shorten the message too, so the cut lands inside its attributes.
        if (at >= 4) new DataView(cut.buffer, cut.byteOffset).setUint32(0, cut.length, true);
        agree(cut);
      }),
      { numRuns: 500 },
    );
  });

  it('names what is missing', () => {
    const bytes = encodePacketMessage(FAMILY, { cmd: 1, dpIfindex: 1, attrs: { packet: new Uint8Array(14) } });
    expect(() => decodeUpcallPayload(bytes, 16, bytes.length)).toThrow(/without OVS_PACKET_ATTR_KEY/);
    const exec = encodePacketMessage(FAMILY, { cmd: 3, dpIfindex: 1, attrs: { packet: new Uint8Array(14), key: new Uint8Array(0) } });
    expect(() => decodeUpcallPayload(exec, 16, exec.length)).toThrow(/command 3 is not an upcall/);
  });
});

describe('walkUpcallDatagram', () => {
  const miss = (n: number): Uint8Array => encodePacketMessage(FAMILY, { cmd: 1, dpIfindex: 7, attrs: { key: new Uint8Array([n, 0, 0, 0]), packet: new Uint8Array(14 + n) } });
  const concat = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));

  it('delivers every upcall of a datagram and counts what is not one', () => {
    const tally: DatagramTally = { foreign: 0, malformed: 0 };
    const seen: number[] = [];
    const other = encodePacketMessage(FAMILY + 1, { cmd: 1, dpIfindex: 7, attrs: { key: new Uint8Array(4), packet: new Uint8Array(14) } });
    walkUpcallDatagram(concat(miss(1), other, miss(2)), FAMILY, (u) => seen.push(u.packet.length), tally);
    expect(seen).toEqual([15, 16]);
    expect(tally).toEqual({ foreign: 1, malformed: 0 });
  });

  it('skips the rest of a datagram after a broken message', () => {
    const tally: DatagramTally = { foreign: 0, malformed: 0 };
    const broken = miss(3).slice();
    broken[0] = 0xff; // nlmsg_len past the end
    const seen: Upcall[] = [];
    walkUpcallDatagram(concat(miss(1), broken), FAMILY, (u) => seen.push(u), tally);
    expect(seen).toHaveLength(1);
    expect(tally.malformed).toBe(1);
    walkUpcallDatagram(new Uint8Array(10), undefined, (u) => seen.push(u), tally);
    expect(tally.malformed).toBe(2);
  });

  it('accepts an unpadded last message (OVS_DP_F_UNALIGNED datapaths)', () => {
    const tally: DatagramTally = { foreign: 0, malformed: 0 };
    const m = miss(1); // packet of 15 bytes: the message ends 1 byte short of alignment
    const trimmed = m.slice(0, m.length - 1);
    new DataView(trimmed.buffer).setUint32(0, trimmed.length, true);
    new DataView(trimmed.buffer).setUint16(trimmed.length - 4 - 15, 4 + 15, true);
    const seen: Upcall[] = [];
    walkUpcallDatagram(trimmed, FAMILY, (u) => seen.push(u), tally);
    expect(tally).toEqual({ foreign: 0, malformed: 0 });
    expect(seen[0].packet).toHaveLength(15);
  });
});

describe('copyUpcall', () => {
  it('copies every byte field out of the receive buffer', () => {
    fc.assert(
      fc.property(packetAttrs, (attrs) => {
        const bytes = encodePacketMessage(FAMILY, { cmd: 2, dpIfindex: 3, attrs: { key: new Uint8Array(8), packet: new Uint8Array(20), ...attrs } });
        const u = decodeUpcallPayload(bytes, 16, bytes.length);
        const c = copyUpcall(u);
        expect(c).toEqual(u);
        bytes.fill(0xaa);
        for (const f of [c.packet, c.key, c.userdata, c.actions, c.egressTunKey, ...(c.unknown ?? []).map((a) => a.data)]) {
          if (f) expect(f.buffer).not.toBe(bytes.buffer);
        }
      }),
      { numRuns: 200 },
    );
  });
});
