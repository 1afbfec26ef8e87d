// One upcall handler socket: a generic netlink socket the kernel addresses
// upcalls to by its port id, read in batches (one recvmmsg fills many slots)
// and decoded in place. It never blocks and never reads more than asked, so
// the caller decides how much work one wake-up of the event loop does.
import { NetlinkSocket } from '../netlink/socket.js';
import { fromSystemError } from '../netlink/errors.js';
import type { Upcall } from '../ovs/packet.js';
import { walkUpcallDatagram, type DatagramTally } from './upcall-decode.js';

/** Counters shared by all handler sockets of one channel. */
export interface HandlerTally extends DatagramTally {
  /** Upcalls decoded. */
  received: number;
  /** ENOBUFS reports: the kernel dropped at least one upcall each time (its exact count is the datapath's n_lost). */
  lost: number;
  /** Datagrams longer than a slot, cut by the kernel and dropped. */
  truncated: number;
}

export interface HandlerSocketOptions {
  receiveBufferBytes: number;
  /** Datagrams per recvmmsg. */
  batch: number;
  /** Room per datagram. */
  slotBytes: number;
  /** ovs_packet's family id; messages of other types are counted as foreign. */
  familyId?: number;
}

/** What the upcall channel needs of a handler socket: a kernel netlink one, or a stream to the userspace daemon. */
export type UpcallHandler = Pick<HandlerSocket, 'index' | 'portId' | 'receiveBufferBytes' | 'batch' | 'readBatch' | 'watch' | 'unwatch' | 'setKeepAlive' | 'close'>;

export class HandlerSocket {
  readonly socket: NetlinkSocket;
  /** The receive buffer the kernel granted (it doubles the request for its bookkeeping). */
  readonly receiveBufferBytes: number;
  readonly batch: number;
  private readonly slotBytes: number;
  private readonly buf: Uint8Array;
  private readonly lens: Int32Array;
  private readonly senders: Uint32Array;
  private readonly out: Upcall[] = [];
  private readonly collect = (u: Upcall): void => {
    this.out.push(u);
  };
  private watching = false;

  constructor(
    readonly index: number,
    private readonly opts: HandlerSocketOptions,
    private readonly tally: HandlerTally,
  ) {
    // The socket's own receive buffers (for drain()) go unused here: batch
    // reads go into this handler's slots, so ask for the smallest ones.
    this.socket = new NetlinkSocket({ batch: 1, slotBytes: 16 });
    try {
      this.receiveBufferBytes = this.socket.setReceiveBuffer(opts.receiveBufferBytes);
    } catch (err) {
      this.socket.close();
      throw err;
    }
    this.batch = opts.batch;
    this.slotBytes = opts.slotBytes;
    this.buf = new Uint8Array(opts.batch * opts.slotBytes);
    this.lens = new Int32Array(opts.batch);
    this.senders = new Uint32Array(opts.batch);
  }

  get portId(): number {
    return this.socket.portId;
  }

  /**
   * One recvmmsg. Hands the decoded upcalls, views of this socket's buffer
   * valid until the next read, to onBatch (not called when none decoded).
   * Returns the number of datagrams read: below `batch` means the socket was
   * drained.
   */
  readBatch(onBatch: (batch: Upcall[]) => void): number {
    let n: number;
    try {
      n = this.socket.raw.recv(this.buf, this.slotBytes, this.lens, this.senders);
    } catch (err) {
      if ((err as { code?: string }).code !== 'ENOBUFS') throw fromSystemError(err, `receive upcalls (handler ${this.index})`);
      // The kernel reports an overrun once and then delivers what it did
      // queue: count it and read on.
      this.tally.lost++;
      return this.batch;
    }
    const out = this.out;
    out.length = 0;
    for (let i = 0; i < n; i++) {
      const len = this.lens[i];
      if (len > this.slotBytes) {
        this.tally.truncated++;
        continue;
      }
      if (this.senders[i] !== 0) {
        // Only the kernel (port 0) sends upcalls; anything else is a stray.
        this.tally.foreign++;
        continue;
      }
      const start = i * this.slotBytes;
      walkUpcallDatagram(this.buf.subarray(start, start + len), this.opts.familyId, this.collect, this.tally);
    }
    if (out.length > 0) {
      this.tally.received += out.length;
      onBatch(out);
    }
    return n;
  }

  /**
   * Calls onReadable while the socket has something to read. An overrun
   * (POLLERR) reports as readable too (the addon's poller re-arms on it), and
   * the next recv returns the ENOBUFS that readBatch counts; an error here
   * means the socket itself is broken.
   */
  watch(onReadable: (err?: Error) => void): void {
    if (this.watching) return;
    this.watching = true;
    this.socket.watch(onReadable);
  }

  unwatch(): void {
    if (!this.watching) return;
    this.watching = false;
    this.socket.unwatch();
  }

  setKeepAlive(keep: boolean): void {
    this.socket.setKeepAlive(keep);
  }

  close(): void {
    this.unwatch();
    this.socket.close();
  }
}
