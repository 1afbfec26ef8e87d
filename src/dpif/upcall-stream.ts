// An upcall handler socket on ovsnl's userspace datapath daemon: one more
// connection to its unix socket, whose port id (given in the daemon's
// greeting) is what vports and per-CPU pid arrays name, as a netlink
// socket's port id is for the kernel. Same reading contract as HandlerSocket.
import { UnixTransport } from '../netlink/unix-transport.js';
import type { Upcall } from '../ovs/packet.js';
import { walkUpcallDatagram } from './upcall-decode.js';
import type { HandlerSocketOptions, HandlerTally } from './upcall-socket.js';

export class StreamHandlerSocket {
  /** A stream has no receive buffer to size; what the daemon cannot send is counted as lost there. */
  readonly receiveBufferBytes = 0;
  readonly batch: number;
  private readonly out: Upcall[] = [];
  private readonly collect = (u: Upcall): void => {
    this.out.push(u);
  };
  private watching = false;
  /** Like a kernel handler socket's poll handle: a watched socket keeps the process alive unless told not to. */
  private keepAlive = true;

  private constructor(
    readonly index: number,
    private readonly transport: UnixTransport,
    private readonly opts: HandlerSocketOptions,
    private readonly tally: HandlerTally,
  ) {
    this.batch = opts.batch;
  }

  static async connect(path: string, index: number, opts: HandlerSocketOptions, tally: HandlerTally): Promise<StreamHandlerSocket> {
    return new StreamHandlerSocket(index, await UnixTransport.connect(path), opts, tally);
  }

  get portId(): number {
    return this.transport.portId;
  }

  /** Decodes what has arrived; returns the number of messages read (below `batch`: drained). */
  readBatch(onBatch: (batch: Upcall[]) => void): number {
    const out = this.out;
    out.length = 0;
    const n = this.transport.drain((message) => walkUpcallDatagram(message, this.opts.familyId, this.collect, this.tally));
    if (out.length > 0) {
      this.tally.received += out.length;
      onBatch(out);
    }
    // Everything queued was read: report a short batch so the reader stops.
    return Math.min(n, this.batch - 1);
  }

  watch(onReadable: (err?: Error) => void): void {
    if (this.watching) return;
    this.watching = true;
    this.transport.watch(onReadable);
    this.transport.setKeepAlive(this.keepAlive);
  }

  unwatch(): void {
    if (!this.watching) return;
    this.watching = false;
    this.transport.unwatch();
    this.transport.setKeepAlive(false);
  }

  setKeepAlive(keep: boolean): void {
    this.keepAlive = keep;
    if (this.watching) this.transport.setKeepAlive(keep);
  }

  close(): void {
    this.unwatch();
    this.transport.close();
  }
}
