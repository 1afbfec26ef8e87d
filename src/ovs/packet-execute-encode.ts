// OVS_PACKET_CMD_EXECUTE requests, encoded for bulk: the same bytes as
// encodePacketMessage, written back to back into one buffer per packed group
// instead of a writer, a schema walk and a copy per packet. The userspace
// half executes every packet that comes up as a miss, so this runs once per
// upcall (bench/switch-setup.mjs).
import { HOST_LE } from '../netlink/attr.js';
import { GENL_HDRLEN, NLA_HDRLEN, NLMSG_HDRLEN } from '../netlink/constants.js';
import { groupBySize } from '../netlink/pack.js';
import { OVS_HEADER_SIZE } from './families.js';
import type { PacketExecute } from './packet.js';
import * as U from './uapi.js';

const HEAD = NLMSG_HDRLEN + GENL_HDRLEN + OVS_HEADER_SIZE;
const MAX_ATTR = 0xffff;

const padded = (n: number): number => (n + 3) & ~3;

const tooLong = (name: string, b: Uint8Array): RangeError => new RangeError(`ovs_packet_attr.${name}: ${b.length} bytes exceed the 65535-byte netlink attribute limit`);

/** The request's length, or a RangeError for what netlink cannot carry. */
function sizeOf(x: PacketExecute): number | RangeError {
  if (NLA_HDRLEN + x.packet.length > MAX_ATTR) return tooLong('packet', x.packet);
  if (NLA_HDRLEN + x.key.length > MAX_ATTR) return tooLong('key', x.key);
  if (NLA_HDRLEN + x.actions.length > MAX_ATTR) return tooLong('actions', x.actions);
  if (x.mru !== undefined && !(Number.isInteger(x.mru) && x.mru >= 0 && x.mru <= 0xffff)) return new RangeError(`ovs_packet_attr.mru: ${String(x.mru)} is not a u16`);
  if (x.hash !== undefined && !(typeof x.hash === 'bigint' && x.hash >= 0n && x.hash <= 0xffffffffffffffffn)) return new RangeError(`ovs_packet_attr.hash: ${String(x.hash)} is not a u64`);
  if (x.upcallPid !== undefined && !(Number.isInteger(x.upcallPid) && x.upcallPid >= 0 && x.upcallPid <= 0xffffffff)) {
    return new RangeError(`ovs_packet_attr.upcallPid: ${String(x.upcallPid)} is not a u32`);
  }
  return (
    HEAD +
    NLA_HDRLEN + padded(x.key.length) +
    NLA_HDRLEN + padded(x.actions.length) +
    (x.mru !== undefined ? NLA_HDRLEN + 4 : 0) +
    (x.hash !== undefined ? NLA_HDRLEN + 8 : 0) +
    NLA_HDRLEN + padded(x.packet.length) +
    (x.probe ? NLA_HDRLEN : 0) +
    (x.upcallPid !== undefined ? NLA_HDRLEN + 4 : 0)
  );
}

function attrHeader(v: DataView, at: number, type: number, payload: number): number {
  v.setUint16(at, NLA_HDRLEN + payload, HOST_LE);
  v.setUint16(at + 2, type, HOST_LE);
  return at + NLA_HDRLEN;
}

function bytesAttr(buf: Uint8Array, v: DataView, at: number, type: number, b: Uint8Array): number {
  at = attrHeader(v, at, type, b.length);
  buf.set(b, at);
  const end = at + padded(b.length);
  for (let i = at + b.length; i < end; i++) buf[i] = 0;
  return end;
}

// Attribute order: encodePacketMessage's (packetSchema).
function write(buf: Uint8Array, v: DataView, at: number, familyId: number, dpIfindex: number, x: PacketExecute, len: number): void {
  v.setUint32(at, len, HOST_LE);
  v.setUint16(at + 4, familyId, HOST_LE);
  v.setUint16(at + 6, 0, HOST_LE); // flags: the engine's REQUEST (and ACK)
  v.setUint32(at + 8, 0, HOST_LE); // seq: the engine's
  v.setUint32(at + 12, 0, HOST_LE);
  buf[at + 16] = U.OVS_PACKET_CMD_EXECUTE;
  buf[at + 17] = U.OVS_PACKET_VERSION;
  v.setUint16(at + 18, 0, HOST_LE);
  v.setInt32(at + 20, dpIfindex, HOST_LE);
  let p = at + HEAD;
  p = bytesAttr(buf, v, p, U.OVS_PACKET_ATTR_KEY, x.key);
  p = bytesAttr(buf, v, p, U.OVS_PACKET_ATTR_ACTIONS, x.actions);
  if (x.mru !== undefined) {
    p = attrHeader(v, p, U.OVS_PACKET_ATTR_MRU, 2);
    v.setUint16(p, x.mru, HOST_LE);
    v.setUint16(p + 2, 0, HOST_LE);
    p += 4;
  }
  if (x.hash !== undefined) {
    p = attrHeader(v, p, U.OVS_PACKET_ATTR_HASH, 8);
    v.setBigUint64(p, x.hash, HOST_LE);
    p += 8;
  }
  p = bytesAttr(buf, v, p, U.OVS_PACKET_ATTR_PACKET, x.packet);
  if (x.probe) p = attrHeader(v, p, U.OVS_PACKET_ATTR_PROBE, 0);
  if (x.upcallPid !== undefined) {
    p = attrHeader(v, p, U.OVS_PACKET_ATTR_UPCALL_PID, 4);
    v.setUint32(p, x.upcallPid, HOST_LE);
  }
}

/** Executes encoded back to back, and which of the input they are. */
export interface ExecutePack {
  buffer: Uint8Array;
  /** Indexes into the input, in buffer order. */
  indexes: number[];
}

/**
 * Encodes the executes whose index `take` accepts back to back into buffers
 * of at most maxBytes (a larger request gets one of its own), for packed
 * groups (Connection.requestPacked). One that netlink cannot carry gets its
 * RangeError in `refused` and is left out.
 */
export function packExecutes(
  familyId: number,
  dpIfindex: number,
  xs: readonly PacketExecute[],
  maxBytes: number,
  take: (index: number) => boolean = () => true,
): { packs: ExecutePack[]; refused: Map<number, RangeError> } {
  const sizes = new Array<number>(xs.length);
  const refused = new Map<number, RangeError>();
  for (let i = 0; i < xs.length; i++) {
    if (!take(i)) {
      sizes[i] = -1;
      continue;
    }
    const s = sizeOf(xs[i]);
    if (typeof s === 'number') sizes[i] = s;
    else {
      refused.set(i, s);
      sizes[i] = -1;
    }
  }
  const packs = groupBySize(sizes, maxBytes).map(({ indexes, bytes }): ExecutePack => {
    const buf = new Uint8Array(bytes);
    const v = new DataView(buf.buffer);
    let at = 0;
    for (const j of indexes) {
      write(buf, v, at, familyId, dpIfindex, xs[j], sizes[j]);
      at += sizes[j];
    }
    return { buffer: buf, indexes };
  });
  return { packs, refused };
}
