// OVS's struct user_action_cookie (lib/odp-util.h): the 48 bytes of
// userdata ovs-vswitchd puts in userspace() actions, host byte order except
// where noted. ODP text shows such userdata as sFlow(...), slow_path(...),
// flow_sample(...), ipfix(...) or controller(...).
//
//   0 u16 type | 4 u32 ofp_in_port | 8 uuid[16] | 24 union (24 bytes)
import { HOST_LE } from '../netlink/attr.js';
import { formatFlags, SLOW_PATH_NAMES } from './flags.js';

export const USER_ACTION_COOKIE_SIZE = 48;
export const COOKIE_SFLOW = 1;
export const COOKIE_SLOW_PATH = 2;
export const COOKIE_FLOW_SAMPLE = 3;
export const COOKIE_IPFIX = 4;
export const COOKIE_CONTROLLER = 5;
/** OFPP_NONE, what OVS's text parser puts in ofp_in_port. */
const OFPP_NONE = 0xffff;

export type UserActionCookie =
  | { type: 'sflow'; vlanTci: number; output: number }
  | { type: 'slowPath'; reason: number }
  | { type: 'flowSample'; probability: number; collectorSetId: number; obsDomainId: number; obsPointId: number; outputPort: number; direction: number }
  | { type: 'ipfix'; outputPort: number }
  | {
      type: 'controller';
      dontSend: number;
      continuation: number;
      reason: number;
      recircId: number;
      ruleCookie: bigint;
      controllerId: number;
      maxLen: number;
    };

/** The cookie in `userdata`, or undefined when it is not one (wrong size or type). */
export function decodeCookie(d: Uint8Array): UserActionCookie | undefined {
  if (d.length !== USER_ACTION_COOKIE_SIZE) return undefined;
  const v = new DataView(d.buffer, d.byteOffset, d.length);
  switch (v.getUint16(0, HOST_LE)) {
    case COOKIE_SFLOW:
      return { type: 'sflow', vlanTci: v.getUint16(24, false), output: v.getUint32(28, HOST_LE) };
    case COOKIE_SLOW_PATH:
      return { type: 'slowPath', reason: v.getUint32(28, HOST_LE) };
    case COOKIE_FLOW_SAMPLE:
      return {
        type: 'flowSample',
        probability: v.getUint16(24, HOST_LE),
        collectorSetId: v.getUint32(28, HOST_LE),
        obsDomainId: v.getUint32(32, HOST_LE),
        obsPointId: v.getUint32(36, HOST_LE),
        outputPort: v.getUint32(40, HOST_LE),
        direction: v.getUint32(44, HOST_LE),
      };
    case COOKIE_IPFIX:
      return { type: 'ipfix', outputPort: v.getUint32(24, HOST_LE) };
    case COOKIE_CONTROLLER:
      return {
        type: 'controller',
        dontSend: d[24],
        continuation: d[25],
        reason: v.getUint16(26, HOST_LE),
        recircId: v.getUint32(28, HOST_LE),
        ruleCookie: v.getBigUint64(32, false),
        controllerId: v.getUint16(40, HOST_LE),
        maxLen: v.getUint16(42, HOST_LE),
      };
    default:
      return undefined;
  }
}

/** 48 cookie bytes as OVS's text parser builds them (ofp_in_port = OFPP_NONE, zero UUID). */
export function encodeCookie(c: UserActionCookie): Uint8Array {
  const d = new Uint8Array(USER_ACTION_COOKIE_SIZE);
  const v = new DataView(d.buffer);
  v.setUint32(4, OFPP_NONE, HOST_LE);
  switch (c.type) {
    case 'sflow':
      v.setUint16(0, COOKIE_SFLOW, HOST_LE);
      v.setUint16(24, c.vlanTci, false);
      v.setUint32(28, c.output, HOST_LE);
      break;
    case 'slowPath':
      v.setUint16(0, COOKIE_SLOW_PATH, HOST_LE);
      v.setUint32(28, c.reason, HOST_LE);
      break;
    case 'flowSample':
      v.setUint16(0, COOKIE_FLOW_SAMPLE, HOST_LE);
      v.setUint16(24, c.probability, HOST_LE);
      v.setUint32(28, c.collectorSetId, HOST_LE);
      v.setUint32(32, c.obsDomainId, HOST_LE);
      v.setUint32(36, c.obsPointId, HOST_LE);
      v.setUint32(40, c.outputPort, HOST_LE);
      v.setUint32(44, c.direction, HOST_LE);
      break;
    case 'ipfix':
      v.setUint16(0, COOKIE_IPFIX, HOST_LE);
      v.setUint32(24, c.outputPort, HOST_LE);
      break;
    case 'controller':
      v.setUint16(0, COOKIE_CONTROLLER, HOST_LE);
      d[24] = c.dontSend ? 1 : 0;
      d[25] = c.continuation ? 1 : 0;
      v.setUint16(26, c.reason, HOST_LE);
      v.setUint32(28, c.recircId, HOST_LE);
      v.setBigUint64(32, c.ruleCookie, false);
      v.setUint16(40, c.controllerId, HOST_LE);
      v.setUint16(42, c.maxLen, HOST_LE);
      break;
  }
  return d;
}

/** The text after "userspace(pid=N" for the cookie: ",sFlow(...)" etc. */
export function formatCookie(c: UserActionCookie, port: (n: number) => string): string {
  switch (c.type) {
    case 'sflow':
      return `,sFlow(vid=${c.vlanTci & 0xfff},pcp=${c.vlanTci >> 13},output=${c.output})`;
    case 'slowPath':
      return `,slow_path(${formatFlags(SLOW_PATH_NAMES, c.reason, ',')})`;
    case 'flowSample': {
      const dir = c.direction === 1 ? ',ingress' : c.direction === 2 ? ',egress' : '';
      return `,flow_sample(probability=${c.probability},collector_set_id=${c.collectorSetId},obs_domain_id=${c.obsDomainId},obs_point_id=${c.obsPointId},output_port=${port(c.outputPort)}${dir})`;
    }
    case 'ipfix':
      return `,ipfix(output_port=${port(c.outputPort)})`;
    case 'controller':
      return `,controller(reason=${c.reason},dont_send=${c.dontSend ? 1 : 0},continuation=${c.continuation ? 1 : 0},recirc_id=${c.recircId},rule_cookie=${c.ruleCookie ? '0x' + c.ruleCookie.toString(16) : '0'},controller_id=${c.controllerId},max_len=${c.maxLen})`;
  }
}
