// ovs_flow: the model of a flow message and its codec. Key, mask and actions
// stay raw attribute streams here (the payloads of OVS_FLOW_ATTR_KEY, _MASK
// and _ACTIONS) so that the key and action models plug in on top, and so
// that a dump decodes without touching them.
import type { NlMessage } from '../netlink/message.js';
import { decodeOvsMessage, encodeOvsMessage, type MessageHeader, type OvsMessage } from './header.js';
import type { AttrSchema, HasUnknown } from './schema.js';
import { flowStatsCodec, type FlowStats } from './structs.js';
import * as U from './uapi.js';

/** The attributes of an ovs_flow message (requests and replies alike). */
export interface FlowAttrs extends HasUnknown {
  /** 1-16 bytes (OVS: 16); see ufid.ts. */
  ufid?: Uint8Array;
  /** OVS_KEY_ATTR_* stream. Replies keyed by UFID carry the masked key. */
  key?: Uint8Array;
  /** OVS_KEY_ATTR_* stream; absent means every key bit is significant. */
  mask?: Uint8Array;
  /** Last use, in milliseconds of the kernel's monotonic clock; absent if never used. */
  used?: bigint;
  /** Absent in replies while the flow has seen no packet. */
  stats?: FlowStats;
  /** OR of the TCP flags seen (low 8 bits); absent while zero. */
  tcpFlags?: number;
  /** OVS_ACTION_ATTR_* stream; empty means drop. */
  actions?: Uint8Array;
  /** SET: zero stats, used and tcp_flags. */
  clear?: boolean;
  /** A feature probe: the kernel does not log its rejection. */
  probe?: boolean;
  /** OVS_UFID_F_OMIT_* for terse replies. */
  ufidFlags?: number;
}

// Order: ovs_flow_cmd_fill_info's (identifier, key, mask, used, stats,
// tcp_flags, actions), then request-only attributes.
export const flowSchema: AttrSchema<FlowAttrs> = {
  name: 'ovs_flow_attr',
  pad: U.OVS_FLOW_ATTR_PAD,
  fields: {
    ufid: { type: U.OVS_FLOW_ATTR_UFID, kind: 'bytes' },
    key: { type: U.OVS_FLOW_ATTR_KEY, kind: 'bytes' },
    mask: { type: U.OVS_FLOW_ATTR_MASK, kind: 'bytes' },
    used: { type: U.OVS_FLOW_ATTR_USED, kind: 'u64' },
    stats: { type: U.OVS_FLOW_ATTR_STATS, kind: 'struct', codec: flowStatsCodec },
    tcpFlags: { type: U.OVS_FLOW_ATTR_TCP_FLAGS, kind: 'u8' },
    actions: { type: U.OVS_FLOW_ATTR_ACTIONS, kind: 'bytes' },
    clear: { type: U.OVS_FLOW_ATTR_CLEAR, kind: 'flag' },
    probe: { type: U.OVS_FLOW_ATTR_PROBE, kind: 'flag' },
    ufidFlags: { type: U.OVS_FLOW_ATTR_UFID_FLAGS, kind: 'u32' },
  },
};

export type FlowMessage = OvsMessage<FlowAttrs>;

export function encodeFlowMessage(familyId: number, msg: FlowMessage, hdr?: MessageHeader): Uint8Array {
  const a = msg.attrs;
  const hint = 64 + (a.key?.length ?? 0) + (a.mask?.length ?? 0) + (a.actions?.length ?? 0);
  return encodeOvsMessage(flowSchema, familyId, U.OVS_FLOW_VERSION, msg, hdr, hint);
}

export function decodeFlowMessage(m: NlMessage): FlowMessage {
  return decodeOvsMessage(flowSchema, m);
}
