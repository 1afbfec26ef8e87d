// Flow NEW / SET requests, encoded for bulk installs: the same bytes as
// encodeFlowMessage, written straight into one buffer for a whole batch
// instead of one growing writer, schema walk and field-name string per
// message. Installing flows by the hundred thousand is where ovsnl must beat
// ovs-dpctl, and there the generic encoder and its garbage were a visible
// share of the time per flow (bench/flow-install.mjs).
import { NLA_HDRLEN } from '../netlink/constants.js';
import { groupBySize } from '../netlink/pack.js';
import { attrTooLong, bytesAttrSize, OVS_REQUEST_HEAD, PackWriter } from './packed-request.js';
import * as U from './uapi.js';

/**
 * What a flow put request carries; the order of encodeFlowMessage
 * (flowSchema). A Dpif FlowPut has these fields: it is passed as is.
 */
export interface FlowPutAttrs {
  ufid?: Uint8Array;
  key?: Uint8Array;
  mask?: Uint8Array;
  actions?: Uint8Array;
  clear?: boolean;
  probe?: boolean;
  ufidFlags?: number;
}

export interface FlowPutRequest {
  /** OVS_FLOW_CMD_NEW or _SET. */
  cmd: number;
  /** nlmsghdr flags (NLM_F_CREATE, NLM_F_ECHO); the engine adds REQUEST and ACK. */
  flags: number;
  attrs: FlowPutAttrs;
}

function size(a: FlowPutAttrs): number {
  return (
    OVS_REQUEST_HEAD +
    bytesAttrSize(a.ufid) +
    bytesAttrSize(a.key) +
    bytesAttrSize(a.mask) +
    bytesAttrSize(a.actions) +
    (a.clear ? NLA_HDRLEN : 0) +
    (a.probe ? NLA_HDRLEN : 0) +
    (a.ufidFlags !== undefined ? NLA_HDRLEN + 4 : 0)
  );
}

function checkBytes(name: string, b: Uint8Array | undefined): void {
  const err = attrTooLong('ovs_flow_attr', name, b);
  if (err) throw err;
}

function check(a: FlowPutAttrs): void {
  checkBytes('ufid', a.ufid);
  checkBytes('key', a.key);
  checkBytes('mask', a.mask);
  checkBytes('actions', a.actions);
  const f = a.ufidFlags;
  if (f !== undefined && (!Number.isInteger(f) || f < 0 || f > 0xffffffff)) throw new RangeError(`ovs_flow_attr.ufidFlags: ${String(f)} is not a u32`);
}

function write(o: PackWriter, familyId: number, dpIfindex: number, r: FlowPutRequest, len: number): void {
  o.head(len, familyId, r.flags, r.cmd, U.OVS_FLOW_VERSION, dpIfindex);
  const a = r.attrs;
  o.bytes(U.OVS_FLOW_ATTR_UFID, a.ufid);
  o.bytes(U.OVS_FLOW_ATTR_KEY, a.key);
  o.bytes(U.OVS_FLOW_ATTR_MASK, a.mask);
  o.bytes(U.OVS_FLOW_ATTR_ACTIONS, a.actions);
  if (a.clear) o.header(U.OVS_FLOW_ATTR_CLEAR, 0);
  if (a.probe) o.header(U.OVS_FLOW_ATTR_PROBE, 0);
  if (a.ufidFlags !== undefined) o.u32(U.OVS_FLOW_ATTR_UFID_FLAGS, a.ufidFlags);
}

/**
 * Encodes every request into one shared buffer and returns a view per
 * message, in order. A request that cannot be encoded (RangeError) gets the
 * error in its place; the others are unaffected.
 */
export function encodeFlowPuts(familyId: number, dpIfindex: number, requests: readonly FlowPutRequest[]): (Uint8Array | RangeError)[] {
  const sizes = new Array<number>(requests.length);
  let total = 0;
  const out = new Array<Uint8Array | RangeError>(requests.length);
  for (let i = 0; i < requests.length; i++) {
    try {
      check(requests[i].attrs);
      sizes[i] = size(requests[i].attrs);
      total += sizes[i];
    } catch (err) {
      out[i] = err as RangeError;
      sizes[i] = -1;
    }
  }
  const o = new PackWriter(new Uint8Array(total));
  for (let i = 0; i < requests.length; i++) {
    if (sizes[i] < 0) continue;
    const start = o.pos;
    write(o, familyId, dpIfindex, requests[i], sizes[i]);
    out[i] = o.buf.subarray(start, o.pos);
  }
  return out;
}

/** Requests encoded back to back into one buffer, and which of the input they are. */
export interface FlowPutPack {
  buffer: Uint8Array;
  /** Indexes into the requests, in buffer order. */
  indexes: number[];
}

/**
 * Encodes requests back to back into buffers of at most maxBytes each (a
 * request larger than that gets a buffer of its own), for packed groups
 * (Connection.requestPacked). A request that cannot be encoded gets its
 * RangeError in `refused` and is left out.
 */
export function packFlowPuts(
  familyId: number,
  dpIfindex: number,
  requests: readonly FlowPutRequest[],
  maxBytes: number,
): { packs: FlowPutPack[]; refused: Map<number, RangeError> } {
  const sizes = new Array<number>(requests.length);
  const refused = new Map<number, RangeError>();
  for (let i = 0; i < requests.length; i++) {
    try {
      check(requests[i].attrs);
      sizes[i] = size(requests[i].attrs);
    } catch (err) {
      refused.set(i, err as RangeError);
      sizes[i] = -1;
    }
  }
  const packs = groupBySize(sizes, maxBytes).map(({ indexes, bytes }): FlowPutPack => {
    const o = new PackWriter(new Uint8Array(bytes));
    for (const j of indexes) write(o, familyId, dpIfindex, requests[j], sizes[j]);
    return { buffer: o.buf, indexes };
  });
  return { packs, refused };
}

/** One request; throws RangeError where it cannot be encoded. */
export function encodeFlowPut(familyId: number, dpIfindex: number, request: FlowPutRequest): Uint8Array {
  const [bytes] = encodeFlowPuts(familyId, dpIfindex, [request]);
  if (bytes instanceof RangeError) throw bytes;
  return bytes;
}
