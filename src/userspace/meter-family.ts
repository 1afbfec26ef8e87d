// ovs_meter as the daemon serves it, with the kernel's rules (meter.c):
// FEATURES (one drop band per meter), SET (replaces; the reply carries the
// replaced meter's stats unless the request said CLEAR), GET (ENOENT for a
// missing meter), DEL (succeeds with an empty reply for a missing meter).
import { OVS_HEADER_SIZE, OVS_METER_FAMILY } from '../ovs/families.js';
import { decodeMeterMessage, encodeMeterMessage, type MeterAttrs } from '../ovs/meter.js';
import * as U from '../ovs/uapi.js';
import type { Datapath } from './datapath.js';
import { DaemonError, replyOf, type GenlCall, type GenlReply, type ServedFamily } from './genl-service.js';
import type { Meter } from './meter.js';

const ENOENT = 2;
const ENODEV = 19;
const EINVAL = 22;

/** Meters a datapath takes (the kernel sizes its table from memory; this is a fixed cap). */
export const MAX_METERS = 65536;
/** DP_MAX_BANDS. */
const MAX_BANDS = 1;

export interface MeterFamilyEnv {
  /** The kernel's get_dp(): by dp_ifindex. */
  lookupDp(dpIfindex: number): Datapath;
  asMessage(call: GenlCall): Parameters<typeof decodeMeterMessage>[0];
}

function statsAttrs(id: number, m: Meter): MeterAttrs {
  return {
    id,
    stats: { packets: BigInt(m.packets), bytes: BigInt(m.bytes) },
    used: BigInt(m.used),
    bands: m.bands.map((b) => ({ stats: { packets: BigInt(b.packets), bytes: BigInt(b.bytes) } })),
  };
}

function reply(cmd: number, dpIfindex: number, attrs: MeterAttrs): GenlReply {
  return replyOf(cmd, U.OVS_METER_VERSION, encodeMeterMessage(0, { cmd, dpIfindex, attrs }));
}

export function meterFamily(env: MeterFamilyEnv): ServedFamily {
  return {
    name: OVS_METER_FAMILY,
    version: U.OVS_METER_VERSION,
    hdrSize: OVS_HEADER_SIZE,
    maxAttr: U.OVS_METER_ATTR_PAD,
    groups: [U.OVS_METER_MCGROUP],
    ops: [U.OVS_METER_CMD_FEATURES, U.OVS_METER_CMD_SET, U.OVS_METER_CMD_DEL, U.OVS_METER_CMD_GET],
    handle(call) {
      const m = decodeMeterMessage(env.asMessage(call));
      const a = m.attrs;
      switch (call.cmd) {
        case U.OVS_METER_CMD_FEATURES:
          env.lookupDp(m.dpIfindex);
          return [reply(call.cmd, m.dpIfindex, { maxMeters: MAX_METERS, maxBands: MAX_BANDS, bands: [{ type: U.OVS_METER_BAND_TYPE_DROP }] })];
        case U.OVS_METER_CMD_SET: {
          if (a.id === undefined) throw new DaemonError(ENODEV, 'meter SET needs OVS_METER_ATTR_ID');
          const bands = a.bands ?? [];
          if (!bands.length || bands.length > MAX_BANDS) throw new DaemonError(EINVAL, `a meter has 1 to ${MAX_BANDS} bands`);
          for (const b of bands) {
            if (b.type === undefined || b.rate === undefined || b.burst === undefined) throw new DaemonError(EINVAL, 'a band needs a type, a rate and a burst');
            if (b.rate === 0) throw new DaemonError(EINVAL, 'a band rate of 0');
          }
          const dp = env.lookupDp(m.dpIfindex);
          const old = dp.setMeter({ id: a.id, kbps: a.kbps, clear: a.clear, bands: bands.map((b) => ({ type: b.type, rate: b.rate!, burst: b.burst! })) });
          // The replaced meter's stats, unless it was created with CLEAR.
          return [reply(call.cmd, m.dpIfindex, old && old.keepStats ? statsAttrs(a.id, old) : { id: a.id })];
        }
        case U.OVS_METER_CMD_GET: {
          if (a.id === undefined) throw new DaemonError(EINVAL, 'meter GET needs OVS_METER_ATTR_ID');
          const meter = env.lookupDp(m.dpIfindex).meters.get(a.id);
          if (!meter) throw new DaemonError(ENOENT, `no meter ${a.id}`);
          return [reply(call.cmd, m.dpIfindex, statsAttrs(a.id, meter))];
        }
        case U.OVS_METER_CMD_DEL: {
          if (a.id === undefined) throw new DaemonError(EINVAL, 'meter DEL needs OVS_METER_ATTR_ID');
          const dp = env.lookupDp(m.dpIfindex);
          const meter = dp.meters.get(a.id);
          dp.meters.delete(a.id);
          return [reply(call.cmd, m.dpIfindex, meter ? statsAttrs(a.id, meter) : {})];
        }
        default:
          throw new DaemonError(EINVAL, `ovs_meter command ${call.cmd}`);
      }
    },
  };
}
