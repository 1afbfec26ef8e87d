// ovs_ct_limit: per-zone conntrack connection limits. Not per datapath: the
// limits belong to the network namespace, and requests carry dp_ifindex 0.
import type { NlMessage } from '../netlink/message.js';
import { decodeOvsMessage, encodeOvsMessage, type MessageHeader, type OvsMessage } from './header.js';
import type { AttrSchema, HasUnknown } from './schema.js';
import { zoneLimitsCodec, type ZoneLimit } from './structs.js';
import * as U from './uapi.js';

export type { ZoneLimit } from './structs.js';

/** The attributes of an ovs_ct_limit message. */
export interface CtLimitAttrs extends HasUnknown {
  /**
   * SET: zone ids and limits; DEL and GET: zone ids (GET without it: all);
   * replies: limits with their counts, the default (zone -1) first.
   */
  zoneLimits?: ZoneLimit[];
}

export const ctLimitSchema: AttrSchema<CtLimitAttrs> = {
  name: 'ovs_ct_limit_attr',
  fields: {
    zoneLimits: { type: U.OVS_CT_LIMIT_ATTR_ZONE_LIMIT, kind: 'struct', codec: zoneLimitsCodec },
  },
};

export type CtLimitMessage = OvsMessage<CtLimitAttrs>;

export function encodeCtLimitMessage(familyId: number, msg: CtLimitMessage, hdr?: MessageHeader): Uint8Array {
  return encodeOvsMessage(ctLimitSchema, familyId, U.OVS_CT_LIMIT_VERSION, msg, hdr);
}

export function decodeCtLimitMessage(m: NlMessage): CtLimitMessage {
  return decodeOvsMessage(ctLimitSchema, m);
}

/** A zone's entry for a request: limit and count only matter in SET. */
export function zoneLimit(zoneId: number, limit = 0): ZoneLimit {
  return { zoneId, limit, count: 0 };
}
