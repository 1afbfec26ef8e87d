// Generic netlink served by ovsnl's own daemon: the interface a served family
// implements, and the reply/error encodings the kernel would produce, so that
// clients cannot tell the daemon from the kernel at the message level.
import { AttrWriter } from '../netlink/attr.js';
import { GENL_HDRLEN, NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS, NLMSG_DONE, NLMSG_ERROR, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_MULTI } from '../netlink/constants.js';
import type { ExtendedAck } from '../netlink/errors.js';
import { beginMessage, endMessage, type NlMessage } from '../netlink/message.js';

/** One request to a served family, decoded to the generic netlink level. */
export interface GenlCall {
  cmd: number;
  version: number;
  flags: number;
  seq: number;
  /** The caller's port id (replies and upcalls are addressed to it). */
  portId: number;
  /** The family's fixed header (ovs_header for OVS), then the attributes. */
  header: Uint8Array;
  attrs: Uint8Array;
  /** Offset of `attrs` within the whole request, for extended-ack offsets. */
  attrsOffset: number;
  /** Somebody listens to the family's multicast group (the kernel's ovs_must_notify()). */
  listening?: boolean;
}

/** A reply's generic netlink payload: cmd, version and the bytes after genlmsghdr. */
export interface GenlReply {
  cmd: number;
  version: number;
  body: Uint8Array;
}

export interface ServedFamily {
  name: string;
  version: number;
  hdrSize: number;
  maxAttr: number;
  /** Multicast group names; ids are assigned by the daemon. */
  groups?: string[];
  /** Commands the family accepts (reported by nlctrl). */
  ops: number[];
  /**
   * Commands whose replies are also sent to the family's first group, as
   * the kernel's genl_notify() sends them (not to the requester again when
   * it asked for an echo). With `echoOnly`, the requester gets the replies
   * only if it asked for an echo (the flow family: a reply built for the
   * listeners alone).
   */
  notify?: { cmds: number[]; echoOnly?: boolean };
  /**
   * Answers one request. For NLM_F_DUMP requests the replies become a
   * multi-part dump. Throw a DaemonError (or any error with an `errno`) to fail it.
   */
  handle(call: GenlCall): Promise<GenlReply[]> | GenlReply[];
}

/** A reply from a whole encoded message of the family (its nlmsghdr and genlmsghdr dropped: the server writes its own). */
export function replyOf(cmd: number, version: number, message: Uint8Array): GenlReply {
  return { cmd, version, body: message.slice(16 + GENL_HDRLEN) };
}

/** A failure with the errno and extended-ack text the client should see. */
export class DaemonError extends Error {
  constructor(
    readonly errno: number,
    message?: string,
    readonly offset?: number,
  ) {
    super(message ?? `errno ${errno}`);
  }
}

export function encodeReply(type: number, flags: number, seq: number, pid: number, r: GenlReply): Uint8Array {
  const w = new AttrWriter(GENL_HDRLEN + 16 + r.body.length);
  const start = beginMessage(w, type, flags, seq, pid);
  w.rawU8(r.cmd);
  w.rawU8(r.version);
  w.rawU16(0);
  w.rawBytes(r.body);
  endMessage(w, start);
  return w.finish().slice();
}

/** NLMSG_ERROR for `req` (0 = ACK), capped, with extended-ack TLVs when there is text. */
export function encodeError(req: NlMessage, pid: number, errno: number, ack: ExtendedAck = {}): Uint8Array {
  const w = new AttrWriter(64);
  const hasTlvs = ack.message !== undefined || ack.offset !== undefined;
  const start = beginMessage(w, NLMSG_ERROR, NLM_F_CAPPED | (hasTlvs ? NLM_F_ACK_TLVS : 0), req.seq, pid);
  w.rawS32(-errno);
  w.rawU32(req.payload.length + 16);
  w.rawU16(req.type);
  w.rawU16(req.flags);
  w.rawU32(req.seq);
  w.rawU32(req.pid);
  if (ack.message !== undefined) w.string(NLMSGERR_ATTR_MSG, ack.message);
  if (ack.offset !== undefined) w.u32(NLMSGERR_ATTR_OFFS, ack.offset);
  endMessage(w, start);
  return w.finish().slice();
}

export function encodeDone(seq: number, pid: number): Uint8Array {
  const w = new AttrWriter(20);
  const start = beginMessage(w, NLMSG_DONE, NLM_F_MULTI, seq, pid);
  w.rawS32(0);
  endMessage(w, start);
  return w.finish().slice();
}
