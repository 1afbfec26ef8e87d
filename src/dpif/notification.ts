// Multicast notifications of the OVS families as typed events. The kernel
// sends each family's NEW / SET / DEL replies to the family's group as well
// as (with NLM_F_ECHO) to the requester: the same messages the Dpif decodes,
// so the same codecs decode them here.
import { GENL_HDRLEN } from '../netlink/constants.js';
import type { NlMessage } from '../netlink/message.js';
import type { OvsFamilies } from '../ovs/families.js';
import { decodeDatapathMessage } from '../ovs/datapath.js';
import { decodeVportMessage } from '../ovs/vport.js';
import { decodeFlowMessage } from '../ovs/flow.js';
import { decodeMeterMessage } from '../ovs/meter.js';
import * as U from '../ovs/uapi.js';
import { toDatapath, toFlow, toMeter, toVport } from './convert.js';
import type { Datapath, Flow, Meter, Vport } from './dpif.js';

export type OvsEventFamily = 'datapath' | 'vport' | 'flow' | 'meter';
export type OvsEventCmd = 'new' | 'del' | 'set';

interface EventOf<F extends OvsEventFamily, O> {
  family: F;
  cmd: OvsEventCmd;
  dpIfindex: number;
  /** The object as the kernel described it after the change (before it, for del). */
  object: O;
  /**
   * Port id of the socket whose request caused the change, and that request's
   * sequence number; 0 when the kernel acted on its own (a vport whose netdev
   * was unregistered).
   */
  portId: number;
  seq: number;
}

export type DatapathEvent = EventOf<'datapath', Datapath>;
export type VportEvent = EventOf<'vport', Vport>;
export type FlowEvent = EventOf<'flow', Flow>;
export type MeterEvent = EventOf<'meter', Meter>;
export type OvsEvent = DatapathEvent | VportEvent | FlowEvent | MeterEvent;

// Datapath, vport and flow commands share numbers (NEW 1, DEL 2, SET 4);
// the meter family numbers its own (SET 2, DEL 3).
const COMMON_CMDS: Record<number, OvsEventCmd> = { [U.OVS_DP_CMD_NEW]: 'new', [U.OVS_DP_CMD_DEL]: 'del', [U.OVS_DP_CMD_SET]: 'set' };
const METER_CMDS: Record<number, OvsEventCmd> = { [U.OVS_METER_CMD_SET]: 'set', [U.OVS_METER_CMD_DEL]: 'del' };

/** The family message's command, without decoding the rest. */
function cmdOf(m: NlMessage): number {
  return m.payload.length >= GENL_HDRLEN ? m.payload[0] : -1;
}

/**
 * Decodes one notification. Undefined for messages that are not change
 * notifications of the four families (other groups, GET replies). Throws
 * MalformedError when the message does not decode.
 */
export function decodeNotification(families: OvsFamilies, m: NlMessage): OvsEvent | undefined {
  const cmd = m.type === families.meter?.id ? METER_CMDS[cmdOf(m)] : COMMON_CMDS[cmdOf(m)];
  if (!cmd) return undefined;
  const base = { cmd, portId: m.pid, seq: m.seq };
  switch (m.type) {
    case families.datapath.id: {
      const object = toDatapath(decodeDatapathMessage(m));
      return { family: 'datapath', ...base, dpIfindex: object.dpIfindex, object };
    }
    case families.vport.id: {
      const object = toVport(decodeVportMessage(m));
      return { family: 'vport', ...base, dpIfindex: object.dpIfindex, object };
    }
    case families.flow.id: {
      const object = toFlow(decodeFlowMessage(m));
      return { family: 'flow', ...base, dpIfindex: object.dpIfindex, object };
    }
    case families.meter?.id: {
      const object = toMeter(decodeMeterMessage(m));
      return { family: 'meter', ...base, dpIfindex: object.dpIfindex, object };
    }
    default:
      return undefined;
  }
}
