// ovs_datapath: the model of a datapath message and its codec.
import type { NlMessage } from '../netlink/message.js';
import { decodeOvsMessage, encodeOvsMessage, type MessageHeader, type OvsMessage } from './header.js';
import type { AttrSchema, HasUnknown } from './schema.js';
import { dpMegaflowStatsCodec, dpStatsCodec, type DpMegaflowStats, type DpStats } from './structs.js';
import * as U from './uapi.js';

/** The attributes of an ovs_datapath message (requests and replies alike). */
export interface DatapathAttrs extends HasUnknown {
  /** Name of the datapath and of its local (port 0) netdev. */
  name?: string;
  /** NEW only: upcall port id of the local port (0: no upcalls). */
  upcallPid?: number;
  stats?: DpStats;
  megaflowStats?: DpMegaflowStats;
  /** OVS_DP_F_* bits. A SET without it clears them all, as the kernel does. */
  userFeatures?: number;
  /** Entries of the per-CPU mask cache: 0 or a power of two. */
  masksCacheSize?: number;
  /** Upcall port id per CPU, used with OVS_DP_F_DISPATCH_UPCALL_PER_CPU. */
  perCpuPids?: number[];
  /** NEW only: ifindex to give the datapath's local netdev. */
  ifindex?: number;
}

// Order: ovs_dp_cmd_fill_info's, then request-only attributes.
export const datapathSchema: AttrSchema<DatapathAttrs> = {
  name: 'ovs_dp_attr',
  pad: U.OVS_DP_ATTR_PAD,
  fields: {
    name: { type: U.OVS_DP_ATTR_NAME, kind: 'string' },
    upcallPid: { type: U.OVS_DP_ATTR_UPCALL_PID, kind: 'u32' },
    stats: { type: U.OVS_DP_ATTR_STATS, kind: 'struct', codec: dpStatsCodec },
    megaflowStats: { type: U.OVS_DP_ATTR_MEGAFLOW_STATS, kind: 'struct', codec: dpMegaflowStatsCodec },
    userFeatures: { type: U.OVS_DP_ATTR_USER_FEATURES, kind: 'u32' },
    masksCacheSize: { type: U.OVS_DP_ATTR_MASKS_CACHE_SIZE, kind: 'u32' },
    perCpuPids: { type: U.OVS_DP_ATTR_PER_CPU_PIDS, kind: 'u32s' },
    ifindex: { type: U.OVS_DP_ATTR_IFINDEX, kind: 'u32' },
  },
};

export type DatapathMessage = OvsMessage<DatapathAttrs>;

export function encodeDatapathMessage(familyId: number, msg: DatapathMessage, hdr?: MessageHeader): Uint8Array {
  return encodeOvsMessage(datapathSchema, familyId, U.OVS_DATAPATH_VERSION, msg, hdr);
}

export function decodeDatapathMessage(m: NlMessage): DatapathMessage {
  return decodeOvsMessage(datapathSchema, m);
}

const FEATURE_NAMES: [number, string][] = [
  [U.OVS_DP_F_UNALIGNED, 'unaligned'],
  [U.OVS_DP_F_VPORT_PIDS, 'vport-pids'],
  [U.OVS_DP_F_TC_RECIRC_SHARING, 'tc-recirc-sharing'],
  [U.OVS_DP_F_DISPATCH_UPCALL_PER_CPU, 'per-cpu-dispatch'],
];

/** Names of the OVS_DP_F_* bits set in `features`; unknown bits as `0x...`. */
export function userFeatureNames(features: number): string[] {
  const out: string[] = [];
  let rest = features >>> 0;
  for (const [bit, name] of FEATURE_NAMES) {
    if (rest & bit) out.push(name);
    rest &= ~bit;
  }
  if (rest) out.push(`0x${(rest >>> 0).toString(16)}`);
  return out;
}
