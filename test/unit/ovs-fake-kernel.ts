// A scripted stand-in for the kernel behind a DatagramSocket, in the manner of
// mdlayher's genltest: it answers nlctrl family lookups for the six OVS
// families, records every request, and lets each test answer OVS requests.
import { AttrWriter, HOST_LE, parseAttrs } from '../../src/netlink/attr.js';
import { CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME, CTRL_ATTR_HDRSIZE, CTRL_CMD_NEWFAMILY, GENL_ID_CTRL, NLMSG_DONE, NLMSG_ERROR, NLM_F_DUMP, NLM_F_MULTI } from '../../src/netlink/constants.js';
import { beginMessage, endMessage, parseMessages, writeGenlHeader, type NlMessage } from '../../src/netlink/message.js';
import type { DatagramSocket } from '../../src/netlink/socket.js';
import { readOvsHeader } from '../../src/ovs/header.js';

export const FAMILY_IDS: Record<string, number> = {
  ovs_datapath: 0x20,
  ovs_vport: 0x21,
  ovs_flow: 0x22,
  ovs_packet: 0x23,
  ovs_meter: 0x24,
  ovs_ct_limit: 0x25,
};

/** What a handler answers: reply messages (built with the request's seq/pid) and then an ACK, or an errno. */
export type Answer = { replies?: ((seq: number, pid: number) => Uint8Array)[]; errno?: number };
export type Handler = (req: NlMessage) => Answer | undefined;

export interface Sent extends NlMessage {
  cmd: number;
  version: number;
  dpIfindex: number;
}

export class FakeKernel implements DatagramSocket {
  readonly portId = 4242;
  /** Every OVS request, in order (nlctrl lookups are not recorded). */
  readonly sent: Sent[] = [];
  /** Number of messages per sendBatch call (a buffer may hold several). */
  readonly batches: number[] = [];
  handler: Handler = () => ({});
  missing = new Set<string>();
  private queue: Uint8Array[] = [];
  private onReadable?: (err?: Error) => void;

  sendBatch(messages: Uint8Array[]): void {
    let n = 0;
    for (const bytes of messages) {
      for (const m of parseMessages(bytes.slice())) {
        n++;
        this.answer(m);
      }
    }
    this.batches.push(n);
    setImmediate(() => this.onReadable?.());
  }

  private answer(m: NlMessage): void {
    if (m.type === GENL_ID_CTRL) {
      const nameAttr = parseAttrs(m.payload, 4).find((a) => a.type === CTRL_ATTR_FAMILY_NAME)!;
      const name = Buffer.from(nameAttr.data).toString().replace(/\0.*$/s, '');
      if (!(name in FAMILY_IDS) || this.missing.has(name)) return void this.queue.push(errorMessage(m, 2, this.portId));
      const w = new AttrWriter();
      const start = beginMessage(w, GENL_ID_CTRL, 0, m.seq, this.portId);
      writeGenlHeader(w, CTRL_CMD_NEWFAMILY, 2);
      w.u16(CTRL_ATTR_FAMILY_ID, FAMILY_IDS[name]);
      w.string(CTRL_ATTR_FAMILY_NAME, name);
      w.u32(CTRL_ATTR_HDRSIZE, 4);
      endMessage(w, start);
      this.queue.push(w.finish().slice(), errorMessage(m, 0, this.portId));
      return;
    }
    const hdr = readOvsHeader(m);
    this.sent.push({ ...m, ...hdr });
    const a = this.handler(m) ?? {};
    const dump = (m.flags & NLM_F_DUMP) === NLM_F_DUMP;
    if (a.errno) return void this.queue.push(errorMessage(m, a.errno, this.portId));
    for (const r of a.replies ?? []) {
      const bytes = r(m.seq, this.portId);
      if (dump) new DataView(bytes.buffer, bytes.byteOffset).setUint16(6, NLM_F_MULTI, HOST_LE);
      this.queue.push(bytes);
    }
    this.queue.push(dump ? doneMessage(m, this.portId) : errorMessage(m, 0, this.portId));
  }

  drain(onDatagram: (datagram: Uint8Array, senderPort: number) => void): number {
    const q = this.queue;
    this.queue = [];
    for (const d of q) onDatagram(d, 0);
    return q.length;
  }
  watch(onReadable: (err?: Error) => void): void {
    this.onReadable = onReadable;
  }
  unwatch(): void {
    this.onReadable = undefined;
  }
  setKeepAlive(): void {}
  close(): void {}
}

function errorMessage(req: NlMessage, errno: number, portId: number): Uint8Array {
  const out = new Uint8Array(16 + 4 + 16);
  const v = new DataView(out.buffer);
  v.setUint32(0, out.length, HOST_LE);
  v.setUint16(4, NLMSG_ERROR, HOST_LE);
  v.setUint32(8, req.seq, HOST_LE);
  v.setUint32(12, portId, HOST_LE);
  v.setInt32(16, -errno, HOST_LE);
  v.setUint32(20, 16 + req.payload.length, HOST_LE);
  v.setUint16(24, req.type, HOST_LE);
  v.setUint16(26, req.flags, HOST_LE);
  v.setUint32(28, req.seq, HOST_LE);
  v.setUint32(32, req.pid, HOST_LE);
  return out;
}

function doneMessage(req: NlMessage, portId: number): Uint8Array {
  const out = new Uint8Array(20);
  const v = new DataView(out.buffer);
  v.setUint32(0, 20, HOST_LE);
  v.setUint16(4, NLMSG_DONE, HOST_LE);
  v.setUint16(6, NLM_F_MULTI, HOST_LE);
  v.setUint32(8, req.seq, HOST_LE);
  v.setUint32(12, portId, HOST_LE);
  return out;
}
