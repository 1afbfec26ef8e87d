// The writer the bulk OVS request encoders share (flow puts, packet
// executes): one buffer for a packed group, one DataView, a write position;
// each request nlmsghdr | genlmsghdr | ovs_header | attributes, the bytes the
// schema encoder (encodeOvsMessage) would write.
import { align4, HOST_LE } from '../netlink/attr.js';
import { GENL_HDRLEN, NLA_HDRLEN, NLMSG_HDRLEN } from '../netlink/constants.js';
import { OVS_HEADER_SIZE } from './families.js';

/** nlmsghdr, genlmsghdr and ovs_header: where a request's attributes start. */
export const OVS_REQUEST_HEAD = NLMSG_HDRLEN + GENL_HDRLEN + OVS_HEADER_SIZE;

/** The largest attribute netlink's 16-bit length carries, header included. */
const MAX_ATTR = 0xffff;

/** The room a byte-string attribute takes (nothing when absent). */
export const bytesAttrSize = (b: Uint8Array | undefined): number => (b ? NLA_HDRLEN + align4(b.length) : 0);

/** A RangeError for a byte-string attribute netlink cannot carry, or undefined. */
export function attrTooLong(family: string, name: string, b: Uint8Array | undefined): RangeError | undefined {
  return b && NLA_HDRLEN + b.length > MAX_ATTR ? new RangeError(`${family}.${name}: ${b.length} bytes exceed the 65535-byte netlink attribute limit`) : undefined;
}

export class PackWriter {
  pos = 0;
  readonly view: DataView;
  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  /** A request's headers; seq and pid zero (the engine stamps seq), `len` the whole request. */
  head(len: number, familyId: number, flags: number, cmd: number, version: number, dpIfindex: number): void {
    const v = this.view;
    const at = this.pos;
    v.setUint32(at, len, HOST_LE);
    v.setUint16(at + 4, familyId, HOST_LE);
    v.setUint16(at + 6, flags, HOST_LE);
    v.setUint32(at + 8, 0, HOST_LE);
    v.setUint32(at + 12, 0, HOST_LE);
    this.buf[at + 16] = cmd;
    this.buf[at + 17] = version;
    v.setUint16(at + 18, 0, HOST_LE);
    v.setInt32(at + 20, dpIfindex, HOST_LE);
    this.pos = at + OVS_REQUEST_HEAD;
  }
  header(type: number, payload: number): void {
    this.view.setUint16(this.pos, NLA_HDRLEN + payload, HOST_LE);
    this.view.setUint16(this.pos + 2, type, HOST_LE);
    this.pos += NLA_HDRLEN;
  }
  bytes(type: number, b: Uint8Array | undefined): void {
    if (!b) return;
    this.header(type, b.length);
    this.buf.set(b, this.pos);
    const end = this.pos + align4(b.length);
    // At most 3 bytes of padding: a loop is cheaper than a call to fill().
    for (let i = this.pos + b.length; i < end; i++) this.buf[i] = 0;
    this.pos = end;
  }
  u32(type: number, value: number): void {
    this.header(type, 4);
    this.view.setUint32(this.pos, value, HOST_LE);
    this.pos += 4;
  }
}
