// dump-flows' reader of flow replies: one pass over the attribute bytes,
// the key, mask, actions and UFID left as views of the reply, no attribute
// objects. The schema decoder (decodeFlowMessage) builds an Attr per
// attribute and a model per flow and then a copy of it: under emulation, for
// a table of 100k flows, that cost more than ovs-dpctl's whole dump. Any
// reply this walker does not expect (a repeated or unknown attribute, a
// wrong length) goes to the schema decoder, which keeps unknown attributes
// and throws the typed error; the unit tests hold the two to the same flows.
import { HOST_LE } from '../netlink/attr.js';
import type { NlMessage } from '../netlink/message.js';
import type { Flow } from '../dpif/dpif.js';
import { toFlow } from '../dpif/convert.js';
import type { KernelDpif } from '../dpif/kernel.js';
import { decodeFlowMessage, encodeFlowMessage } from '../ovs/flow.js';
import { OVS_ATTRS_OFFSET } from '../ovs/header.js';
import * as U from '../ovs/uapi.js';

/** The flow of one reply; byte fields are views of `m.payload`. */
export function walkFlow(m: NlMessage): Flow {
  return walk(m.payload) ?? toFlow(decodeFlowMessage(m));
}

function walk(p: Uint8Array): Flow | undefined {
  if (p.length < OVS_ATTRS_OFFSET) return undefined;
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const f: Flow = { dpIfindex: v.getInt32(4, HOST_LE) };
  let seen = 0;
  for (let off = OVS_ATTRS_OFFSET; off < p.length; ) {
    if (p.length - off < 4) return undefined;
    const len = v.getUint16(off, HOST_LE);
    const type = v.getUint16(off + 2, HOST_LE);
    if (len < 4 || off + len > p.length || type > 31 || seen & (1 << type)) return undefined;
    seen |= 1 << type;
    const at = off + 4;
    const n = len - 4;
    switch (type) {
      case U.OVS_FLOW_ATTR_KEY:
        f.key = p.subarray(at, at + n);
        break;
      case U.OVS_FLOW_ATTR_MASK:
        f.mask = p.subarray(at, at + n);
        break;
      case U.OVS_FLOW_ATTR_ACTIONS:
        f.actions = p.subarray(at, at + n);
        break;
      case U.OVS_FLOW_ATTR_UFID:
        if (n < 1 || n > 16) return undefined;
        f.ufid = p.subarray(at, at + n);
        break;
      case U.OVS_FLOW_ATTR_STATS:
        if (n !== 16) return undefined;
        f.stats = { packets: v.getBigUint64(at, HOST_LE), bytes: v.getBigUint64(at + 8, HOST_LE) };
        break;
      case U.OVS_FLOW_ATTR_USED:
        if (n !== 8) return undefined;
        f.used = v.getBigUint64(at, HOST_LE);
        break;
      case U.OVS_FLOW_ATTR_TCP_FLAGS:
        if (n !== 1) return undefined;
        f.tcpFlags = p[at];
        break;
      case U.OVS_FLOW_ATTR_PAD:
        break;
      default:
        return undefined;
    }
    off += (len + 3) & ~3;
  }
  return f;
}

/**
 * The dump's flows handed to `onFlow` as each reply is read (no promise per
 * flow); byte fields are views valid only during the call.
 */
export function eachFlow(dpif: KernelDpif, dpIfindex: number, onFlow: (f: Flow) => void): Promise<void> {
  const fam = dpif.families.flow;
  const request = encodeFlowMessage(fam.id, { cmd: U.OVS_FLOW_CMD_GET, dpIfindex, attrs: {} });
  return dpif.conn.dumpEach(
    request,
    (m) => {
      if (m.type === fam.id) onFlow(walkFlow(m));
    },
    { operation: `flow dump of datapath ${dpIfindex}` },
  );
}
