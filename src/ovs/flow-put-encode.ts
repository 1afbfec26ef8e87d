// Flow NEW / SET requests, encoded for bulk installs: the same bytes as
// encodeFlowMessage, written straight into one buffer for a whole batch
// instead of one growing writer, schema walk and field-name string per
// message. Installing flows by the hundred thousand is where ovsnl must beat
// ovs-dpctl, and there the generic encoder and its garbage were a visible
// share of the time per flow (bench/flow-install.mjs).
import { HOST_LE } from '../netlink/attr.js';
import { GENL_HDRLEN, NLA_HDRLEN, NLMSG_HDRLEN } from '../netlink/constants.js';
import { groupBySize } from '../netlink/pack.js';
import { OVS_HEADER_SIZE } from './families.js';
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

const HEAD = NLMSG_HDRLEN + GENL_HDRLEN + OVS_HEADER_SIZE;
const MAX_ATTR = 0xffff;

const padded = (n: number): number => (n + 3) & ~3;
const bytesSize = (b: Uint8Array | undefined): number => (b ? NLA_HDRLEN + padded(b.length) : 0);

function size(a: FlowPutAttrs): number {
  return (
    HEAD +
    bytesSize(a.ufid) +
    bytesSize(a.key) +
    bytesSize(a.mask) +
    bytesSize(a.actions) +
    (a.clear ? NLA_HDRLEN : 0) +
    (a.probe ? NLA_HDRLEN : 0) +
    (a.ufidFlags !== undefined ? NLA_HDRLEN + 4 : 0)
  );
}

function checkBytes(name: string, b: Uint8Array | undefined): void {
  if (b && NLA_HDRLEN + b.length > MAX_ATTR) throw new RangeError(`ovs_flow_attr.${name}: ${b.length} bytes exceed the 65535-byte netlink attribute limit`);
}

function check(a: FlowPutAttrs): void {
  checkBytes('ufid', a.ufid);
  checkBytes('key', a.key);
  checkBytes('mask', a.mask);
  checkBytes('actions', a.actions);
  const f = a.ufidFlags;
  if (f !== undefined && (!Number.isInteger(f) || f < 0 || f > 0xffffffff)) throw new RangeError(`ovs_flow_attr.ufidFlags: ${String(f)} is not a u32`);
}

/** One buffer, one DataView, a write position: the batch's encoder state. */
class Out {
  pos = 0;
  readonly view: DataView;
  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
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
    const end = this.pos + padded(b.length);
    this.buf.fill(0, this.pos + b.length, end);
    this.pos = end;
  }
}

function write(o: Out, familyId: number, dpIfindex: number, r: FlowPutRequest, len: number): void {
  const v = o.view;
  const at = o.pos;
  v.setUint32(at, len, HOST_LE);
  v.setUint16(at + 4, familyId, HOST_LE);
  v.setUint16(at + 6, r.flags, HOST_LE);
  v.setUint32(at + 8, 0, HOST_LE); // seq: the engine's
  v.setUint32(at + 12, 0, HOST_LE); // pid: the kernel's
  o.buf[at + 16] = r.cmd;
  o.buf[at + 17] = U.OVS_FLOW_VERSION;
  v.setUint16(at + 18, 0, HOST_LE);
  v.setInt32(at + 20, dpIfindex, HOST_LE);
  o.pos = at + HEAD;
  const a = r.attrs;
  o.bytes(U.OVS_FLOW_ATTR_UFID, a.ufid);
  o.bytes(U.OVS_FLOW_ATTR_KEY, a.key);
  o.bytes(U.OVS_FLOW_ATTR_MASK, a.mask);
  o.bytes(U.OVS_FLOW_ATTR_ACTIONS, a.actions);
  if (a.clear) o.header(U.OVS_FLOW_ATTR_CLEAR, 0);
  if (a.probe) o.header(U.OVS_FLOW_ATTR_PROBE, 0);
  if (a.ufidFlags !== undefined) {
    o.header(U.OVS_FLOW_ATTR_UFID_FLAGS, 4);
    v.setUint32(o.pos, a.ufidFlags, HOST_LE);
    o.pos += 4;
  }
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
  const o = new Out(new Uint8Array(total));
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
    const o = new Out(new Uint8Array(bytes));
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
