// Every OVS message is nlmsghdr | genlmsghdr | ovs_header | attributes. This
// module frames and unframes that, generically over an attribute schema.
import { AttrWriter, HOST_LE } from '../netlink/attr.js';
import { GENL_HDRLEN } from '../netlink/constants.js';
import { MalformedError } from '../netlink/errors.js';
import { beginMessage, endMessage, writeGenlHeader, type NlMessage } from '../netlink/message.js';
import { OVS_HEADER_SIZE } from './families.js';
import { decodeAttrs, encodeAttrs, type AttrSchema, type HasUnknown } from './schema.js';

/** One OVS generic netlink message, decoded. */
export interface OvsMessage<A> {
  /** The family's command (OVS_DP_CMD_GET, ...). */
  cmd: number;
  /** genlmsghdr.version; encoders use the family's version when absent. */
  version?: number;
  /** ovs_header.dp_ifindex: the datapath's ifindex, or 0 when not datapath-specific. */
  dpIfindex: number;
  attrs: A;
}

/** nlmsghdr fields the encoder writes; the request engine fills seq and the REQUEST/ACK/DUMP flags itself. */
export interface MessageHeader {
  flags?: number;
  seq?: number;
  pid?: number;
}

/** Offset of the attributes in an OVS message's netlink payload. */
export const OVS_ATTRS_OFFSET = GENL_HDRLEN + OVS_HEADER_SIZE;

export function encodeOvsMessage<A extends HasUnknown>(
  schema: AttrSchema<A>,
  familyId: number,
  defaultVersion: number,
  msg: OvsMessage<A>,
  hdr: MessageHeader = {},
  sizeHint = 256,
): Uint8Array {
  const w = new AttrWriter(sizeHint);
  const start = beginMessage(w, familyId, hdr.flags ?? 0, hdr.seq ?? 0, hdr.pid ?? 0);
  writeGenlHeader(w, msg.cmd, msg.version ?? defaultVersion);
  w.rawS32(msg.dpIfindex);
  encodeAttrs(w, schema, msg.attrs);
  endMessage(w, start);
  return w.finish();
}

/** The genlmsghdr and ovs_header of a message's payload. */
export function readOvsHeader(m: NlMessage): { cmd: number; version: number; dpIfindex: number } {
  const p = m.payload;
  if (p.length < OVS_ATTRS_OFFSET) throw new MalformedError(`OVS message payload of ${p.length} bytes lacks genlmsghdr and ovs_header`);
  const dpIfindex = new DataView(p.buffer, p.byteOffset, p.byteLength).getInt32(GENL_HDRLEN, HOST_LE);
  return { cmd: p[0], version: p[1], dpIfindex };
}

export function decodeOvsMessage<A extends HasUnknown>(schema: AttrSchema<A>, m: NlMessage): OvsMessage<A> {
  const { cmd, version, dpIfindex } = readOvsHeader(m);
  return { cmd, version, dpIfindex, attrs: decodeAttrs(schema, m.payload, OVS_ATTRS_OFFSET) };
}

/** A received message's bytes as they were on the wire (header rebuilt from its fields). */
export function messageBytes(m: NlMessage): Uint8Array {
  const out = new Uint8Array(16 + m.payload.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, out.length, HOST_LE);
  v.setUint16(4, m.type, HOST_LE);
  v.setUint16(6, m.flags, HOST_LE);
  v.setUint32(8, m.seq, HOST_LE);
  v.setUint32(12, m.pid, HOST_LE);
  out.set(m.payload, 16);
  return out;
}
