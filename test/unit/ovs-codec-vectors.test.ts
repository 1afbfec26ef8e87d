// Hand-assembled byte vectors, one comment per field, for the OVS message
// codecs, and the decoder's treatment of PAD, unknown attributes and sizes.
import { describe, expect, it } from 'vitest';
import { MalformedError } from '../../src/netlink/errors.js';
import { parseMessages } from '../../src/netlink/message.js';
import { decodeDatapathMessage, encodeDatapathMessage, userFeatureNames } from '../../src/ovs/datapath.js';
import { decodeVportMessage, encodeVportMessage, isKernelVportType, vportTypeName, vportTypeNumber } from '../../src/ovs/vport.js';
import { decodeCtLimitMessage, encodeCtLimitMessage } from '../../src/ovs/ct-limit.js';
import { decodeMeterMessage, encodeMeterMessage } from '../../src/ovs/meter.js';
import { decodeFlowMessage } from '../../src/ovs/flow.js';
import { decodeUpcall, encodePacketMessage } from '../../src/ovs/packet.js';
import * as U from '../../src/ovs/uapi.js';
import { hex, unhex } from './ovs-arbitraries.js';

const one = (b: Uint8Array) => parseMessages(b)[0];

describe('datapath', () => {
  const getDp0 = unhex(`
    20000000 1a00 0000 00000000 00000000   # nlmsghdr: len 32, type 0x1a, flags 0, seq 0, pid 0
    03 02 0000                             # genlmsghdr: cmd GET, version 2
    00000000                               # ovs_header: dp_ifindex 0
    0800 0100 64703000                     # OVS_DP_ATTR_NAME "dp0"
  `);

  it('GET by name', () => {
    expect(hex(encodeDatapathMessage(0x1a, { cmd: U.OVS_DP_CMD_GET, dpIfindex: 0, attrs: { name: 'dp0' } }))).toBe(hex(getDp0));
    expect(decodeDatapathMessage(one(getDp0))).toEqual({ cmd: 3, version: 2, dpIfindex: 0, attrs: { name: 'dp0' } });
  });

  it('skips PAD, keeps what it does not know, and re-emits that after the known attributes', () => {
    const reply = unhex(`
      48000000 1a00 0000 01000000 02000000   # nlmsghdr: len 72
      01 02 0000 07000000                    # NEW, version 2, dp_ifindex 7
      0800 0100 64703000                     # NAME "dp0"
      0400 0600                              # PAD (zero length)
      0800 0500 01000000                     # USER_FEATURES 1
      0c00 6300 aabbccdd eeff0000            # type 99, unknown to the schema: 8 bytes
      0800 0700 00010000                     # MASKS_CACHE_SIZE 256
      0500 0a80 01000000                     # type 10 with NLA_F_NESTED, 1 byte
    `);
    const m = decodeDatapathMessage(one(reply));
    expect(m.attrs).toMatchObject({ name: 'dp0', userFeatures: 1, masksCacheSize: 256 });
    expect(m.attrs.unknown!.map((a) => [a.type, a.flags, hex(a.data)])).toEqual([
      [99, 0, 'aabbccddeeff0000'],
      [U.OVS_DP_ATTR_IFINDEX + 1, 0x8000, '01'],
    ]);
    const again = encodeDatapathMessage(0x1a, m, { flags: 0, seq: 1, pid: 2 });
    expect(hex(again)).toBe(
      hex(
        unhex(`
      44000000 1a00 0000 01000000 02000000   # 4 bytes shorter: no PAD
      01 02 0000 07000000
      0800 0100 64703000
      0800 0500 01000000
      0800 0700 00010000
      0c00 6300 aabbccdd eeff0000
      0500 0a80 01000000
    `),
      ),
    );
  });

  it('rejects stats of the wrong size with MalformedError naming the attribute', () => {
    const bad = unhex(`
      20000000 1a00 0000 00000000 00000000
      01 02 0000 07000000
      0800 0300 00000000                     # STATS with 4 bytes instead of 32
    `);
    expect(() => decodeDatapathMessage(one(bad))).toThrow(MalformedError);
    expect(() => decodeDatapathMessage(one(bad))).toThrow(/ovs_dp_attr\.stats.*ovs_dp_stats needs 32 bytes, got 4/);
  });

  it('names user features', () => {
    expect(userFeatureNames(0b1011 | (1 << 31))).toEqual(['unaligned', 'vport-pids', 'per-cpu-dispatch', '0x80000000']);
  });

  it('refuses values that do not fit on encode', () => {
    expect(() => encodeDatapathMessage(0x1a, { cmd: 1, dpIfindex: 0, attrs: { upcallPid: -1 } })).toThrow(RangeError);
    expect(() => encodeDatapathMessage(0x1a, { cmd: 1, dpIfindex: 0, attrs: { masksCacheSize: 2 ** 32 } })).toThrow(RangeError);
  });
});

describe('vport', () => {
  it('NEW of a VXLAN port: dst_port is a host-order u16 inside OPTIONS', () => {
    const bytes = encodeVportMessage(0x1b, {
      cmd: U.OVS_VPORT_CMD_NEW,
      dpIfindex: 7,
      attrs: { type: U.OVS_VPORT_TYPE_VXLAN, name: 'vx0', upcallPids: [0], options: { dstPort: 4789, extensions: { gbp: true } } },
    });
    expect(hex(bytes)).toBe(
      hex(
        unhex(`
      44000000 1b00 0000 00000000 00000000   # nlmsghdr: len 68
      01 01 0000 07000000                    # NEW, version 1, dp_ifindex 7
      0800 0200 04000000                     # TYPE vxlan
      0800 0300 76783000                     # NAME "vx0"
      0800 0500 00000000                     # UPCALL_PID [0]
      1400 0400                              # OPTIONS (20 bytes)
        0600 0100 b512 0000                  #   DST_PORT 4789 (0x12b5, little-endian) + pad
        0800 0200                            #   EXTENSION
          0400 0100                          #     GBP
    `),
      ),
    );
    expect(decodeVportMessage(one(bytes)).attrs.options).toEqual({ dstPort: 4789, extensions: { gbp: true } });
  });

  it('knows which types the kernel has', () => {
    expect(vportTypeNumber('geneve')).toBe(5);
    expect(vportTypeName(107)).toBe('erspan');
    expect(vportTypeName(42)).toBe('type42');
    expect(vportTypeNumber('toString')).toBeUndefined();
    expect([1, 2, 3, 4, 5].every(isKernelVportType)).toBe(true);
    expect([0, 6, 105, 107, 112].some(isKernelVportType)).toBe(false);
  });
});

describe('ct_limit', () => {
  it('zone limits are packed 12-byte structs inside one attribute, not attributes', () => {
    const bytes = encodeCtLimitMessage(0x1c, {
      cmd: U.OVS_CT_LIMIT_CMD_SET,
      dpIfindex: 0,
      attrs: { zoneLimits: [{ zoneId: U.OVS_ZONE_LIMIT_DEFAULT_ZONE, limit: 100, count: 0 }, { zoneId: 5, limit: 3, count: 0 }] },
    });
    expect(hex(bytes)).toBe(
      hex(
        unhex(`
      34000000 1c00 0000 00000000 00000000   # nlmsghdr: len 52
      01 01 0000 00000000                    # SET, version 1, dp_ifindex 0
      1c00 0100                              # ZONE_LIMIT (24 bytes of structs)
        ffffffff 64000000 00000000           #   zone -1 (default), limit 100, count 0
        05000000 03000000 00000000           #   zone 5, limit 3, count 0
    `),
      ),
    );
  });

  it('rejects a struct array that is not a multiple of 12 bytes', () => {
    const bad = unhex(`1c000000 1c00 0000 00000000 00000000  03 01 0000 00000000  0800 0100 ffffffff`);
    expect(() => decodeCtLimitMessage(one(bad))).toThrow(MalformedError);
  });
});

describe('meter', () => {
  it('SET with one drop band: bands are nests of type 0 inside BANDS', () => {
    const bytes = encodeMeterMessage(0x1d, {
      cmd: U.OVS_METER_CMD_SET,
      dpIfindex: 7,
      attrs: { id: 1, kbps: true, bands: [{ type: U.OVS_METER_BAND_TYPE_DROP, rate: 1000, burst: 100 }] },
    });
    expect(hex(bytes)).toBe(
      hex(
        unhex(`
      44000000 1d00 0000 00000000 00000000   # nlmsghdr: len 68
      02 01 0000 07000000                    # SET, version 1, dp_ifindex 7
      0800 0100 01000000                     # ID 1
      0400 0200                              # KBPS
      2000 0400                              # BANDS
        1c00 0000                            #   band (nest type 0)
          0800 0100 01000000                 #     TYPE drop
          0800 0200 e8030000                 #     RATE 1000
          0800 0300 64000000                 #     BURST 100
    `),
      ),
    );
    expect(decodeMeterMessage(one(bytes)).attrs.bands).toEqual([{ type: 1, rate: 1000, burst: 100 }]);
  });
});

describe('flow', () => {
  it('keeps key, mask and actions as views of the message', () => {
    const bytes = unhex(`
      34000000 1e00 0000 00000000 00000000
      03 01 0000 07000000
      0800 0100 08000300                     # KEY: 4 payload bytes (an attribute stream, not decoded here)
      0500 0400 12000000                     # TCP_FLAGS 0x12
      0c00 0200 08000100 02000000            # ACTIONS: output(2)
    `);
    const m = decodeFlowMessage(one(bytes));
    expect(m.attrs.tcpFlags).toBe(0x12);
    expect(hex(m.attrs.key!)).toBe('08000300');
    expect(m.attrs.actions!.buffer).toBe(bytes.buffer);
  });
});

describe('upcall', () => {
  it('decodes a MISS and insists on packet and key', () => {
    const pkt = new Uint8Array(60).fill(0xab);
    const key = new Uint8Array([8, 0, 3, 0, 1, 0, 0, 0]);
    const miss = encodePacketMessage(0x1f, { cmd: U.OVS_PACKET_CMD_MISS, dpIfindex: 9, attrs: { key, hash: 0x1_0000_1234n, packet: pkt } });
    const u = decodeUpcall(one(miss));
    expect(u).toMatchObject({ kind: 'miss', dpIfindex: 9, hash: 0x1_0000_1234n });
    expect(hex(u.packet)).toBe(hex(pkt));
    const noKey = encodePacketMessage(0x1f, { cmd: U.OVS_PACKET_CMD_ACTION, dpIfindex: 9, attrs: { packet: pkt } });
    expect(() => decodeUpcall(one(noKey))).toThrow(/without OVS_PACKET_ATTR_KEY/);
    const exec = encodePacketMessage(0x1f, { cmd: U.OVS_PACKET_CMD_EXECUTE, dpIfindex: 9, attrs: { packet: pkt, key } });
    expect(() => decodeUpcall(one(exec))).toThrow(MalformedError);
  });
});
