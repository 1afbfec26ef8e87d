// Netlink messages over a byte stream (the fallback daemon's unix socket):
// each message carries its length in nlmsg_len, so no extra framing is needed.
import { HOST_LE } from './attr.js';
import { NLMSG_HDRLEN } from './constants.js';
import { MalformedError } from './errors.js';

/** Larger than any message the kernel sends (its dumps stay below 64 KiB); bounds memory per peer. */
export const MAX_STREAM_MESSAGE = 16 * 1024 * 1024;

/** Splits a byte stream into whole netlink messages, keeping partial ones for the next chunk. */
export class MessageStream {
  private pending: Uint8Array = new Uint8Array(0);

  /** Whole messages completed by this chunk. Throws MalformedError on an impossible length. */
  push(chunk: Uint8Array): Uint8Array[] {
    let buf = chunk;
    if (this.pending.length) {
      buf = new Uint8Array(this.pending.length + chunk.length);
      buf.set(this.pending);
      buf.set(chunk, this.pending.length);
    }
    const out: Uint8Array[] = [];
    let off = 0;
    while (buf.length - off >= NLMSG_HDRLEN) {
      const len = new DataView(buf.buffer, buf.byteOffset + off, 4).getUint32(0, HOST_LE);
      if (len < NLMSG_HDRLEN || len > MAX_STREAM_MESSAGE) throw new MalformedError(`stream message length ${len} is impossible`, off);
      if (buf.length - off < len) break;
      out.push(buf.slice(off, off + len));
      // Messages on a stream are not padded between each other by senders
      // that write exact lengths; netlink alignment is a datagram matter.
      off += len;
    }
    this.pending = buf.slice(off);
    return out;
  }

  /** Bytes of an incomplete message waiting for more data. */
  get buffered(): number {
    return this.pending.length;
  }
}
