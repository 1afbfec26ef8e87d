// ovs_ct_limit as the daemon serves it, with the module's rules
// (conntrack.c, ovs_ct_limit_cmd_*): the limits belong to the connection
// tracker all the datapaths share, not to one datapath; SET and DEL need the
// zone list (EINVAL without) and answer with an empty message; GET answers
// the zones asked for, or the default and every zone limit.
import { decodeCtLimitMessage, encodeCtLimitMessage } from '../ovs/ct-limit.js';
import { OVS_CT_LIMIT_FAMILY, OVS_HEADER_SIZE } from '../ovs/families.js';
import * as U from '../ovs/uapi.js';
import type { ConnTracker } from './conntrack.js';
import { DaemonError, replyOf, type GenlCall, type GenlReply, type ServedFamily } from './genl-service.js';

const EINVAL = 22;

export interface CtLimitFamilyEnv {
  tracker(): ConnTracker;
  asMessage(call: GenlCall): Parameters<typeof decodeCtLimitMessage>[0];
}

function reply(cmd: number, dpIfindex: number, zoneLimits?: { zoneId: number; limit: number; count: number }[]): GenlReply {
  return replyOf(cmd, U.OVS_CT_LIMIT_VERSION, encodeCtLimitMessage(0, { cmd, dpIfindex, attrs: zoneLimits ? { zoneLimits } : {} }));
}

export function ctLimitFamily(env: CtLimitFamilyEnv): ServedFamily {
  return {
    name: OVS_CT_LIMIT_FAMILY,
    version: U.OVS_CT_LIMIT_VERSION,
    hdrSize: OVS_HEADER_SIZE,
    maxAttr: U.OVS_CT_LIMIT_ATTR_ZONE_LIMIT,
    groups: [U.OVS_CT_LIMIT_MCGROUP],
    ops: [U.OVS_CT_LIMIT_CMD_SET, U.OVS_CT_LIMIT_CMD_DEL, U.OVS_CT_LIMIT_CMD_GET],
    handle(call) {
      let m;
      try {
        m = decodeCtLimitMessage(env.asMessage(call));
      } catch (err) {
        throw new DaemonError(EINVAL, `ovs_ct_limit: ${(err as Error).message}`);
      }
      const zones = m.attrs.zoneLimits;
      const t = env.tracker();
      switch (call.cmd) {
        case U.OVS_CT_LIMIT_CMD_SET:
          if (!zones) throw new DaemonError(EINVAL, 'ct limit SET needs OVS_CT_LIMIT_ATTR_ZONE_LIMIT');
          t.setZoneLimits(zones);
          return [reply(call.cmd, m.dpIfindex)];
        case U.OVS_CT_LIMIT_CMD_DEL:
          if (!zones) throw new DaemonError(EINVAL, 'ct limit DEL needs OVS_CT_LIMIT_ATTR_ZONE_LIMIT');
          t.deleteZoneLimits(zones.map((z) => z.zoneId));
          return [reply(call.cmd, m.dpIfindex)];
        case U.OVS_CT_LIMIT_CMD_GET:
          return [reply(call.cmd, m.dpIfindex, t.getZoneLimits(zones?.map((z) => z.zoneId)))];
        default:
          throw new DaemonError(EINVAL, `ovs_ct_limit command ${call.cmd}`);
      }
    },
  };
}
