// ovs_packet: EXECUTE requests (userspace -> kernel) and the MISS / ACTION
// upcalls (kernel -> userspace). Key, actions and the egress tunnel key stay
// raw attribute streams, the packet a view of the received message.
import { MalformedError } from '../netlink/errors.js';
import type { NlMessage } from '../netlink/message.js';
import { decodeOvsMessage, encodeOvsMessage, type MessageHeader, type OvsMessage } from './header.js';
import type { AttrSchema, HasUnknown } from './schema.js';
import * as U from './uapi.js';

/** The attributes of an ovs_packet message. */
export interface PacketAttrs extends HasUnknown {
  /** OVS_KEY_ATTR_* stream: the kernel's key of the packet (upcalls), or metadata such as in_port (EXECUTE). */
  key?: Uint8Array;
  /** ACTION upcalls: OVS_USERSPACE_ATTR_USERDATA of the userspace action. */
  userdata?: Uint8Array;
  /** ACTION upcalls: OVS_TUNNEL_KEY_ATTR_* stream of the egress tunnel. */
  egressTunKey?: Uint8Array;
  /** OVS_ACTION_ATTR_* stream (EXECUTE; ACTION upcalls that asked for them). */
  actions?: Uint8Array;
  /** Largest fragment size of a reassembled packet. */
  mru?: number;
  /** Length of the packet before a trunc action cut it (upcalls). */
  len?: number;
  /** skb hash in the low 32 bits; OVS_PACKET_HASH_SW_BIT / _L4_BIT above. */
  hash?: bigint;
  /** The frame, from its Ethernet header. */
  packet?: Uint8Array;
  /** A feature probe: the kernel does not log its rejection. */
  probe?: boolean;
  /** EXECUTE (Linux 6.17): port id for upcalls the executed actions cause. */
  upcallPid?: number;
}

// Order: queue_userspace_packet's, then EXECUTE-only attributes.
export const packetSchema: AttrSchema<PacketAttrs> = {
  name: 'ovs_packet_attr',
  fields: {
    key: { type: U.OVS_PACKET_ATTR_KEY, kind: 'bytes' },
    userdata: { type: U.OVS_PACKET_ATTR_USERDATA, kind: 'bytes' },
    egressTunKey: { type: U.OVS_PACKET_ATTR_EGRESS_TUN_KEY, kind: 'bytes' },
    actions: { type: U.OVS_PACKET_ATTR_ACTIONS, kind: 'bytes' },
    mru: { type: U.OVS_PACKET_ATTR_MRU, kind: 'u16' },
    len: { type: U.OVS_PACKET_ATTR_LEN, kind: 'u32' },
    hash: { type: U.OVS_PACKET_ATTR_HASH, kind: 'u64' },
    packet: { type: U.OVS_PACKET_ATTR_PACKET, kind: 'bytes' },
    probe: { type: U.OVS_PACKET_ATTR_PROBE, kind: 'flag' },
    upcallPid: { type: U.OVS_PACKET_ATTR_UPCALL_PID, kind: 'u32' },
  },
};

export type PacketMessage = OvsMessage<PacketAttrs>;

export function encodePacketMessage(familyId: number, msg: PacketMessage, hdr?: MessageHeader): Uint8Array {
  const a = msg.attrs;
  const hint = 64 + (a.packet?.length ?? 0) + (a.key?.length ?? 0) + (a.actions?.length ?? 0) + (a.userdata?.length ?? 0);
  return encodeOvsMessage(packetSchema, familyId, U.OVS_PACKET_VERSION, msg, hdr, hint);
}

export function decodePacketMessage(m: NlMessage): PacketMessage {
  return decodeOvsMessage(packetSchema, m);
}

/** What OVS_PACKET_CMD_EXECUTE takes. */
export interface PacketExecute {
  /** The frame, from its Ethernet header (at least 14 bytes). */
  packet: Uint8Array;
  /** OVS_KEY_ATTR_* stream with the packet's metadata (in_port, skb_mark, tunnel...); the kernel extracts the rest. */
  key: Uint8Array;
  /** OVS_ACTION_ATTR_* stream; empty drops the packet. */
  actions: Uint8Array;
  probe?: boolean;
  mru?: number;
  hash?: bigint;
  /** Linux 6.17+ only; older kernels ignore it. */
  upcallPid?: number;
  /**
   * The caller vouches that key and actions hold nothing only OVS's
   * userspace datapath knows (a key the kernel sent up, streams the caller
   * scanned once): the Dpif's scan of every request is skipped.
   */
  kernelChecked?: boolean;
}

export function executeAttrs(x: PacketExecute): PacketAttrs {
  const { packet, key, actions, probe, mru, hash, upcallPid } = x;
  return { packet, key, actions, probe, mru, hash, upcallPid };
}

/** A MISS or ACTION upcall. Byte fields are views of the received message. */
export interface Upcall {
  kind: 'miss' | 'action';
  dpIfindex: number;
  packet: Uint8Array;
  key: Uint8Array;
  userdata?: Uint8Array;
  egressTunKey?: Uint8Array;
  actions?: Uint8Array;
  mru?: number;
  /** Length before truncation, when a trunc action cut the packet. */
  len?: number;
  hash?: bigint;
  unknown?: PacketAttrs['unknown'];
}

/** Decodes an upcall. Throws MalformedError if it is not MISS/ACTION or lacks the packet or key. */
export function decodeUpcall(m: NlMessage): Upcall {
  const msg = decodePacketMessage(m);
  const kind = msg.cmd === U.OVS_PACKET_CMD_MISS ? 'miss' : msg.cmd === U.OVS_PACKET_CMD_ACTION ? 'action' : undefined;
  if (!kind) throw new MalformedError(`ovs_packet command ${msg.cmd} is not an upcall (MISS 1 or ACTION 2)`);
  const { packet, key, userdata, egressTunKey, actions, mru, len, hash, unknown } = msg.attrs;
  if (!packet || !key) throw new MalformedError(`ovs_packet ${kind} upcall without ${packet ? 'OVS_PACKET_ATTR_KEY' : 'OVS_PACKET_ATTR_PACKET'}`);
  const u: Upcall = { kind, dpIfindex: msg.dpIfindex, packet, key };
  // Only what is present, so that upcalls compare equal however they were made.
  if (userdata) u.userdata = userdata;
  if (egressTunKey) u.egressTunKey = egressTunKey;
  if (actions) u.actions = actions;
  if (mru !== undefined) u.mru = mru;
  if (len !== undefined) u.len = len;
  if (hash !== undefined) u.hash = hash;
  if (unknown) u.unknown = unknown;
  return u;
}
