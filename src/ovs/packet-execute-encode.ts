// OVS_PACKET_CMD_EXECUTE requests, encoded for bulk: the same bytes as
// encodePacketMessage, written back to back into one buffer per packed group
// instead of a writer, a schema walk and a copy per packet. The userspace
// half executes every packet that comes up as a miss, so this runs once per
// upcall (bench/switch-setup.mjs).
import { HOST_LE } from '../netlink/attr.js';
import { NLA_HDRLEN } from '../netlink/constants.js';
import { groupBySize } from '../netlink/pack.js';
import { attrTooLong, bytesAttrSize, OVS_REQUEST_HEAD, PackWriter } from './packed-request.js';
import type { PacketExecute } from './packet.js';
import * as U from './uapi.js';

/** The request's length, or a RangeError for what netlink cannot carry. */
function sizeOf(x: PacketExecute): number | RangeError {
  const tooLong = attrTooLong('ovs_packet_attr', 'packet', x.packet) ?? attrTooLong('ovs_packet_attr', 'key', x.key) ?? attrTooLong('ovs_packet_attr', 'actions', x.actions);
  if (tooLong) return tooLong;
  if (x.mru !== undefined && !(Number.isInteger(x.mru) && x.mru >= 0 && x.mru <= 0xffff)) return new RangeError(`ovs_packet_attr.mru: ${String(x.mru)} is not a u16`);
  if (x.hash !== undefined && !(typeof x.hash === 'bigint' && x.hash >= 0n && x.hash <= 0xffffffffffffffffn)) return new RangeError(`ovs_packet_attr.hash: ${String(x.hash)} is not a u64`);
  if (x.upcallPid !== undefined && !(Number.isInteger(x.upcallPid) && x.upcallPid >= 0 && x.upcallPid <= 0xffffffff)) {
    return new RangeError(`ovs_packet_attr.upcallPid: ${String(x.upcallPid)} is not a u32`);
  }
  return (
    OVS_REQUEST_HEAD +
    bytesAttrSize(x.key) +
    bytesAttrSize(x.actions) +
    (x.mru !== undefined ? NLA_HDRLEN + 4 : 0) +
    (x.hash !== undefined ? NLA_HDRLEN + 8 : 0) +
    bytesAttrSize(x.packet) +
    (x.probe ? NLA_HDRLEN : 0) +
    (x.upcallPid !== undefined ? NLA_HDRLEN + 4 : 0)
  );
}

// Attribute order: encodePacketMessage's (packetSchema). Flags zero: the
// engine adds REQUEST (and ACK).
function write(o: PackWriter, familyId: number, dpIfindex: number, x: PacketExecute, len: number): void {
  o.head(len, familyId, 0, U.OVS_PACKET_CMD_EXECUTE, U.OVS_PACKET_VERSION, dpIfindex);
  o.bytes(U.OVS_PACKET_ATTR_KEY, x.key);
  o.bytes(U.OVS_PACKET_ATTR_ACTIONS, x.actions);
  if (x.mru !== undefined) {
    // A u16 in a 4-byte aligned slot.
    o.header(U.OVS_PACKET_ATTR_MRU, 2);
    o.view.setUint16(o.pos, x.mru, HOST_LE);
    o.view.setUint16(o.pos + 2, 0, HOST_LE);
    o.pos += 4;
  }
  if (x.hash !== undefined) {
    o.header(U.OVS_PACKET_ATTR_HASH, 8);
    o.view.setBigUint64(o.pos, x.hash, HOST_LE);
    o.pos += 8;
  }
  o.bytes(U.OVS_PACKET_ATTR_PACKET, x.packet);
  if (x.probe) o.header(U.OVS_PACKET_ATTR_PROBE, 0);
  if (x.upcallPid !== undefined) o.u32(U.OVS_PACKET_ATTR_UPCALL_PID, x.upcallPid);
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
    const o = new PackWriter(new Uint8Array(bytes));
    for (const j of indexes) write(o, familyId, dpIfindex, xs[j], sizes[j]);
    return { buffer: o.buf, indexes };
  });
  return { packs, refused };
}
