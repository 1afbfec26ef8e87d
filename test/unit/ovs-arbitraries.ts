// fast-check arbitraries for the OVS message models (shared by the ovs-*
// unit tests). Values are drawn so that decode(encode(x)) must equal x:
// flags are present-or-absent, strings have no NUL.
import fc from 'fast-check';
import type { Attr } from '../../src/netlink/attr.js';
import type { DatapathAttrs } from '../../src/ovs/datapath.js';
import type { VportAttrs } from '../../src/ovs/vport.js';
import type { FlowAttrs } from '../../src/ovs/flow.js';
import type { PacketAttrs } from '../../src/ovs/packet.js';
import type { MeterAttrs, MeterBandAttrs } from '../../src/ovs/meter.js';
import type { CtLimitAttrs } from '../../src/ovs/ct-limit.js';
import type { FlowStats } from '../../src/ovs/structs.js';

export const u8 = fc.integer({ min: 0, max: 0xff });
export const u16 = fc.integer({ min: 0, max: 0xffff });
export const u32 = fc.integer({ min: 0, max: 0xffffffff });
export const s32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
export const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
export const flag = fc.constant(true);
export const bytes = (maxLength = 48): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength });
export const name = fc.stringMatching(/^[a-zA-Z0-9_.-]{0,15}$/);

/** Attributes of types no schema here knows (>= 64), some with NLA_F_NESTED. */
export const unknownAttrs: fc.Arbitrary<Attr[]> = fc.array(
  fc.record({ type: fc.integer({ min: 64, max: 0x3fff }), flags: fc.constantFrom(0, 0x8000), data: bytes(24) }),
  { minLength: 1, maxLength: 3 },
);

const opt = { requiredKeys: [] as never[] };

export const flowStats: fc.Arbitrary<FlowStats> = fc.record({ packets: u64, bytes: u64 });

export const datapathAttrs: fc.Arbitrary<DatapathAttrs> = fc.record(
  {
    name,
    upcallPid: u32,
    stats: fc.record({ hit: u64, missed: u64, lost: u64, flows: u64 }),
    megaflowStats: fc.record({ maskHit: u64, masks: u32, cacheHit: u64 }),
    userFeatures: u32,
    masksCacheSize: u32,
    perCpuPids: fc.array(u32, { maxLength: 8 }),
    ifindex: u32,
    unknown: unknownAttrs,
  },
  opt,
);

export const vportAttrs: fc.Arbitrary<VportAttrs> = fc.record(
  {
    portNo: u32,
    type: u32,
    name,
    ifindex: u32,
    netnsid: s32,
    stats: fc.record({
      rxPackets: u64,
      txPackets: u64,
      rxBytes: u64,
      txBytes: u64,
      rxErrors: u64,
      txErrors: u64,
      rxDropped: u64,
      txDropped: u64,
    }),
    upcallStats: fc.record({ success: u64, fail: u64 }, opt),
    upcallPids: fc.array(u32, { maxLength: 8 }),
    options: fc.record({ dstPort: u16, extensions: fc.record({ gbp: flag, gpe: flag, unknown: unknownAttrs }, opt), unknown: unknownAttrs }, opt),
    unknown: unknownAttrs,
  },
  opt,
);

export const flowAttrs: fc.Arbitrary<FlowAttrs> = fc.record(
  {
    ufid: fc.uint8Array({ minLength: 1, maxLength: 16 }),
    key: bytes(),
    mask: bytes(),
    used: u64,
    stats: flowStats,
    tcpFlags: u8,
    actions: bytes(),
    clear: flag,
    probe: flag,
    ufidFlags: u32,
    unknown: unknownAttrs,
  },
  opt,
);

export const packetAttrs: fc.Arbitrary<PacketAttrs> = fc.record(
  {
    key: bytes(),
    userdata: bytes(),
    egressTunKey: bytes(),
    actions: bytes(),
    mru: u16,
    len: u32,
    hash: u64,
    packet: bytes(128),
    probe: flag,
    upcallPid: u32,
    unknown: unknownAttrs,
  },
  opt,
);

const band: fc.Arbitrary<MeterBandAttrs> = fc.record({ type: u32, rate: u32, burst: u32, stats: flowStats, unknown: unknownAttrs }, opt);

export const meterAttrs: fc.Arbitrary<MeterAttrs> = fc.record(
  {
    id: u32,
    kbps: flag,
    stats: flowStats,
    used: u64,
    maxMeters: u32,
    maxBands: u32,
    bands: fc.array(band, { maxLength: 4 }),
    clear: flag,
    unknown: unknownAttrs,
  },
  opt,
);

export const ctLimitAttrs: fc.Arbitrary<CtLimitAttrs> = fc.record(
  { zoneLimits: fc.array(fc.record({ zoneId: s32, limit: u32, count: u32 }), { maxLength: 6 }), unknown: unknownAttrs },
  opt,
);

/** Hex of bytes, for readable failures. */
export const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');

/** Bytes from a commented hex listing: `#` to end of line is ignored, as is whitespace. */
export function unhex(text: string): Uint8Array {
  const digits = text.replace(/#[^\n]*/g, '').replace(/\s+/g, '');
  return new Uint8Array(Buffer.from(digits, 'hex'));
}
