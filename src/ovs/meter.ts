// ovs_meter: the model of a meter message and its codec. The kernel keeps
// meters per datapath, knows one band type (drop) and has no meter dump.
import type { NlMessage } from '../netlink/message.js';
import { decodeOvsMessage, encodeOvsMessage, type MessageHeader, type OvsMessage } from './header.js';
import type { AttrSchema, HasUnknown } from './schema.js';
import { flowStatsCodec, type FlowStats } from './structs.js';
import * as U from './uapi.js';

/** One band, as a nest of OVS_BAND_ATTR_* inside OVS_METER_ATTR_BANDS. */
export interface MeterBandAttrs extends HasUnknown {
  /** OVS_METER_BAND_TYPE_* (the kernel: DROP only). */
  type?: number;
  /** In kbit/s or packets/s, as the meter's kbps flag says; must not be 0. */
  rate?: number;
  /** Bucket size, in the meter's units. */
  burst?: number;
  /** Packets and bytes the band acted on (replies). */
  stats?: FlowStats;
}

/** The attributes of an ovs_meter message (requests and replies alike). */
export interface MeterAttrs extends HasUnknown {
  id?: number;
  /** Rates in kbit/s; otherwise packets/s. */
  kbps?: boolean;
  /** Packets and bytes the meter saw. */
  stats?: FlowStats;
  /** Last use, in milliseconds of the kernel's monotonic clock. */
  used?: bigint;
  /** FEATURES reply: meters the datapath allows. */
  maxMeters?: number;
  /** FEATURES reply: bands per meter. */
  maxBands?: number;
  bands?: MeterBandAttrs[];
  /** SET: do not carry the old meter's stats over (and do not report them). */
  clear?: boolean;
}

const bandSchema: AttrSchema<MeterBandAttrs> = {
  name: 'ovs_band_attr',
  fields: {
    type: { type: U.OVS_BAND_ATTR_TYPE, kind: 'u32' },
    rate: { type: U.OVS_BAND_ATTR_RATE, kind: 'u32' },
    burst: { type: U.OVS_BAND_ATTR_BURST, kind: 'u32' },
    stats: { type: U.OVS_BAND_ATTR_STATS, kind: 'struct', codec: flowStatsCodec },
  },
};

// Order: ovs_meter_cmd_reply_stats' (id, stats, used, bands) merged with the
// FEATURES reply's (max_meters, max_bands, bands).
export const meterSchema: AttrSchema<MeterAttrs> = {
  name: 'ovs_meter_attr',
  pad: U.OVS_METER_ATTR_PAD,
  fields: {
    id: { type: U.OVS_METER_ATTR_ID, kind: 'u32' },
    kbps: { type: U.OVS_METER_ATTR_KBPS, kind: 'flag' },
    stats: { type: U.OVS_METER_ATTR_STATS, kind: 'struct', codec: flowStatsCodec },
    used: { type: U.OVS_METER_ATTR_USED, kind: 'u64' },
    maxMeters: { type: U.OVS_METER_ATTR_MAX_METERS, kind: 'u32' },
    maxBands: { type: U.OVS_METER_ATTR_MAX_BANDS, kind: 'u32' },
    // Each band is a nest of type OVS_BAND_ATTR_UNSPEC (0), as OVS and the kernel write them.
    bands: { type: U.OVS_METER_ATTR_BANDS, kind: 'nests', itemType: U.OVS_BAND_ATTR_UNSPEC, schema: bandSchema },
    clear: { type: U.OVS_METER_ATTR_CLEAR, kind: 'flag' },
  },
};

export type MeterMessage = OvsMessage<MeterAttrs>;

export function encodeMeterMessage(familyId: number, msg: MeterMessage, hdr?: MessageHeader): Uint8Array {
  return encodeOvsMessage(meterSchema, familyId, U.OVS_METER_VERSION, msg, hdr);
}

export function decodeMeterMessage(m: NlMessage): MeterMessage {
  return decodeOvsMessage(meterSchema, m);
}
