// nlmsghdr and genlmsghdr framing, and the NLMSG_ERROR payload with its
// extended ack. Pure functions over byte views.
import { AttrWriter, HOST_LE, align4, parseAttrs, getString, getU32 } from './attr.js';
import {
  GENL_HDRLEN,
  NLMSGERR_ATTR_COOKIE,
  NLMSGERR_ATTR_MISS_NEST,
  NLMSGERR_ATTR_MISS_TYPE,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
  NLMSGERR_ATTR_POLICY,
  NLMSG_HDRLEN,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
} from './constants.js';
import { MalformedError, type ExtendedAck } from './errors.js';

/** One netlink message: header fields and a view of its payload. */
export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** Everything after the 16-byte header, up to nlmsg_len. */
  payload: Uint8Array;
}

/**
 * Splits a datagram into messages. Throws MalformedError if a header is cut
 * short or a length runs past the datagram.
 */
export function parseMessages(datagram: Uint8Array): NlMessage[] {
  const out: NlMessage[] = [];
  const view = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  let off = 0;
  while (off < datagram.length) {
    if (datagram.length - off < NLMSG_HDRLEN) {
      throw new MalformedError(`${datagram.length - off} bytes left, too short for a netlink header`, off);
    }
    const len = view.getUint32(off, HOST_LE);
    if (len < NLMSG_HDRLEN) throw new MalformedError(`netlink message length ${len} is below the header size`, off);
    if (off + len > datagram.length) {
      throw new MalformedError(`netlink message length ${len} runs past the datagram (${datagram.length - off} bytes left)`, off);
    }
    out.push({
      type: view.getUint16(off + 4, HOST_LE),
      flags: view.getUint16(off + 6, HOST_LE),
      seq: view.getUint32(off + 8, HOST_LE),
      pid: view.getUint32(off + 12, HOST_LE),
      payload: datagram.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

/** Writes a 16-byte nlmsghdr with length 0 (patched by endMessage); returns its offset. */
export function beginMessage(w: AttrWriter, type: number, flags: number, seq = 0, pid = 0): number {
  const start = w.length;
  w.rawU32(0);
  w.rawU16(type);
  w.rawU16(flags);
  w.rawU32(seq);
  w.rawU32(pid);
  return start;
}

export function endMessage(w: AttrWriter, start: number): void {
  w.patchU32(start, w.length - start);
}

export function writeGenlHeader(w: AttrWriter, cmd: number, version: number): void {
  w.rawU8(cmd);
  w.rawU8(version);
  w.rawU16(0);
}

/** Offsets of the header fields the request engine rewrites in place. */
export const NLMSG_SEQ_OFFSET = 8;
export const NLMSG_FLAGS_OFFSET = 6;

export function readHeaderLength(msg: Uint8Array): number {
  return new DataView(msg.buffer, msg.byteOffset, msg.byteLength).getUint32(0, HOST_LE);
}

export interface GenlHeader {
  cmd: number;
  version: number;
}

export function parseGenlHeader(payload: Uint8Array): GenlHeader {
  if (payload.length < GENL_HDRLEN) throw new MalformedError(`generic netlink payload of ${payload.length} bytes has no genlmsghdr`);
  return { cmd: payload[0], version: payload[1] };
}

/** The decoded payload of an NLMSG_ERROR message (error 0 is an ACK). */
export interface NlError {
  /** errno as the kernel sent it: 0 for ACK, negative for failure. */
  error: number;
  /** Header of the request it answers (type, flags, seq, pid). */
  request: { len: number; type: number; flags: number; seq: number; pid: number };
  extAck: ExtendedAck;
}

/**
 * Decodes `struct nlmsgerr` and, when NLM_F_ACK_TLVS is set, the extended ack
 * attributes after the echoed request (its header only when NLM_F_CAPPED).
 */
export function parseError(msg: NlMessage): NlError {
  const p = msg.payload;
  if (p.length < 4 + NLMSG_HDRLEN) throw new MalformedError(`NLMSG_ERROR payload of ${p.length} bytes is shorter than struct nlmsgerr`);
  const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const error = view.getInt32(0, HOST_LE);
  const request = {
    len: view.getUint32(4, HOST_LE),
    type: view.getUint16(8, HOST_LE),
    flags: view.getUint16(10, HOST_LE),
    seq: view.getUint32(12, HOST_LE),
    pid: view.getUint32(16, HOST_LE),
  };
  const extAck: ExtendedAck = {};
  if (msg.flags & NLM_F_ACK_TLVS) {
    // Without NLM_F_CAPPED the whole request is echoed before the TLVs.
    const echoed = msg.flags & NLM_F_CAPPED ? NLMSG_HDRLEN : align4(request.len);
    const tlvStart = 4 + echoed;
    if (tlvStart > p.length) throw new MalformedError(`extended ack: echoed request of ${echoed} bytes runs past the error message`);
    for (const a of parseAttrs(p, tlvStart)) {
      switch (a.type) {
        case NLMSGERR_ATTR_MSG:
          extAck.message = getString(a);
          break;
        case NLMSGERR_ATTR_OFFS:
          extAck.offset = getU32(a);
          break;
        case NLMSGERR_ATTR_MISS_TYPE:
          extAck.missingType = getU32(a);
          break;
        case NLMSGERR_ATTR_MISS_NEST:
          extAck.missingNest = getU32(a);
          break;
        case NLMSGERR_ATTR_COOKIE:
          extAck.cookie = a.data.slice();
          break;
        case NLMSGERR_ATTR_POLICY:
          extAck.policy = a.data.slice();
          break;
      }
    }
  }
  return { error, request, extAck };
}

/** NLMSG_DONE carries an int error (negative when a dump failed part-way). */
export function parseDoneError(msg: NlMessage): number {
  if (msg.payload.length < 4) return 0;
  return new DataView(msg.payload.buffer, msg.payload.byteOffset, 4).getInt32(0, HOST_LE);
}
