// A netlink socket with its receive buffers: the thin layer between the
// addon's system calls and the request engine. Holds no protocol state.
import { native, type NativeNetlinkSocket } from '../native.js';
import { NETLINK_ADD_MEMBERSHIP, NETLINK_DROP_MEMBERSHIP, NETLINK_GENERIC, SOL_NETLINK, SOL_SOCKET, SO_RCVBUF, SO_RCVBUFFORCE } from './constants.js';
import { HOST_LE } from './attr.js';
import { NetlinkError, fromSystemError } from './errors.js';

export interface SocketOptions {
  /** NETLINK_GENERIC (16) unless given. */
  protocol?: number;
  /**
   * Receive buffer size. Forced with SO_RCVBUFFORCE when permitted (root or
   * CAP_NET_ADMIN), as OVS does, else clamped by net.core.rmem_max.
   */
  receiveBufferBytes?: number;
  /** Datagrams taken per recvmmsg call. */
  batch?: number;
  /**
   * Room for one datagram. The kernel sizes dump datagrams to what the reader
   * last offered (up to 32 KiB) and upcalls can carry 64 KiB packets.
   */
  slotBytes?: number;
}

/** The operations the request engine needs; implemented by NetlinkSocket and by test doubles. */
export interface DatagramSocket {
  readonly portId: number;
  sendBatch(messages: Uint8Array[]): void;
  /**
   * Calls onDatagram for each datagram queued now; returns how many. Never
   * blocks. A datagram larger than a receive slot is thrown as a NetlinkError
   * EMSGSIZE whose seq, when set, is that of the request it answered; the
   * datagrams after it are delivered by the next call.
   */
  drain(onDatagram: (datagram: Uint8Array, senderPort: number) => void): number;
  watch(onReadable: (err?: Error) => void): void;
  unwatch(): void;
  /** Whether a watch keeps the event loop alive. */
  setKeepAlive(keep: boolean): void;
  close(): void;
}

export class NetlinkSocket implements DatagramSocket {
  readonly raw: NativeNetlinkSocket;
  readonly slotBytes: number;
  private readonly recvBuf: Uint8Array;
  private readonly lens: Int32Array;
  private readonly pids: Uint32Array;
  /** Datagrams larger than slotBytes: the kernel's data was cut and is lost. */
  truncated = 0;
  /** Slots [restFrom, restCount) of the last receive, not yet delivered because a cut datagram was thrown. */
  private restFrom = 0;
  private restCount = 0;

  constructor(opts: SocketOptions = {}) {
    try {
      this.raw = new (native().NetlinkSocket)(opts.protocol ?? NETLINK_GENERIC);
    } catch (err) {
      throw fromSystemError(err, 'open netlink socket');
    }
    this.portId = this.raw.portId;
    const batch = opts.batch ?? 32;
    this.slotBytes = opts.slotBytes ?? 65536;
    this.recvBuf = new Uint8Array(batch * this.slotBytes);
    this.lens = new Int32Array(batch);
    this.pids = new Uint32Array(batch);
    if (opts.receiveBufferBytes) this.setReceiveBuffer(opts.receiveBufferBytes);
  }

  /**
   * Fixed at bind, so read once: the request engine compares it with every
   * reply's sender, and a getter into the addon per reply cost a dump of
   * 20k flows 0.15 s under emulation.
   */
  readonly portId: number;

  get closed(): boolean {
    return this.raw.closed;
  }

  /** SO_RCVBUFFORCE, falling back to SO_RCVBUF without CAP_NET_ADMIN. Returns the size in force. */
  setReceiveBuffer(bytes: number): number {
    try {
      this.raw.setOption(SOL_SOCKET, SO_RCVBUFFORCE, bytes);
    } catch (err) {
      if ((err as { code?: string }).code !== 'EPERM') throw fromSystemError(err, 'SO_RCVBUFFORCE');
      this.raw.setOption(SOL_SOCKET, SO_RCVBUF, bytes);
    }
    return this.raw.getOption(SOL_SOCKET, SO_RCVBUF);
  }

  /** Sets a SOL_NETLINK boolean option (NETLINK_EXT_ACK, NETLINK_CAP_ACK, ...). */
  setNetlinkOption(name: number, on: boolean): void {
    try {
      this.raw.setOption(SOL_NETLINK, name, on ? 1 : 0);
    } catch (err) {
      throw fromSystemError(err, `setsockopt(SOL_NETLINK, ${name})`);
    }
  }

  addMembership(group: number): void {
    try {
      this.raw.setOption(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, group);
    } catch (err) {
      throw fromSystemError(err, `join multicast group ${group}`);
    }
  }

  dropMembership(group: number): void {
    try {
      this.raw.setOption(SOL_NETLINK, NETLINK_DROP_MEMBERSHIP, group);
    } catch (err) {
      throw fromSystemError(err, `leave multicast group ${group}`);
    }
  }

  sendBatch(messages: Uint8Array[]): void {
    try {
      if (messages.length === 1) this.raw.send(messages[0]);
      else this.raw.sendBatch(messages);
    } catch (err) {
      throw fromSystemError(err, 'send');
    }
  }

  /**
   * Hands out slots [from, count). A datagram cut short is thrown as
   * EMSGSIZE, one per throw, and the slots after it are kept for the next
   * drain or receiveWait: the rest of the batch was already taken from the
   * kernel, and dropping it would lose replies that did fit.
   */
  private deliver(from: number, count: number, onDatagram: (datagram: Uint8Array, senderPort: number) => void): void {
    for (let i = from; i < count; i++) {
      const len = this.lens[i];
      const start = i * this.slotBytes;
      if (len > this.slotBytes) {
        this.truncated++;
        this.restFrom = i + 1;
        this.restCount = count;
        throw this.cutError(start, len, this.pids[i]);
      }
      onDatagram(this.recvBuf.subarray(start, start + len), this.pids[i]);
    }
  }

  /** The error for a cut datagram, with the sequence number of our request it answered, if it did. */
  private cutError(start: number, len: number, sender: number): NetlinkError {
    // The slot still holds the datagram's first nlmsghdr (slots are at least 16 bytes).
    const view = new DataView(this.recvBuf.buffer, this.recvBuf.byteOffset + start, 16);
    const seq = view.getUint32(8, HOST_LE);
    const ours = sender === 0 && seq !== 0 && view.getUint32(12, HOST_LE) === this.portId;
    return new NetlinkError({
      errno: 90 /* EMSGSIZE */,
      operation: `receive: datagram of ${len} bytes exceeds the ${this.slotBytes}-byte slot`,
      seq: ours ? seq : undefined,
    });
  }

  /** Delivers what a previous call left after a cut datagram; returns how many. */
  private deliverRest(onDatagram: (datagram: Uint8Array, senderPort: number) => void): number {
    const from = this.restFrom;
    const count = this.restCount;
    this.restFrom = this.restCount = 0;
    this.deliver(from, count, onDatagram);
    return count - from;
  }

  drain(onDatagram: (datagram: Uint8Array, senderPort: number) => void): number {
    let total = this.restFrom < this.restCount ? this.deliverRest(onDatagram) : 0;
    for (;;) {
      let n: number;
      try {
        n = this.raw.recv(this.recvBuf, this.slotBytes, this.lens, this.pids);
      } catch (err) {
        throw fromSystemError(err, 'receive');
      }
      if (n === 0) return total;
      this.deliver(0, n, onDatagram);
      total += n;
      if (n < this.lens.length) return total;
    }
  }

  /**
   * Blocks up to timeoutMs (-1: forever) for datagrams; returns how many were
   * delivered, 0 after the timeout. Throws EMSGSIZE for a datagram larger
   * than a slot (see deliver).
   */
  receiveWait(timeoutMs: number, onDatagram: (datagram: Uint8Array, senderPort: number) => void): number {
    if (this.restFrom < this.restCount) return this.deliverRest(onDatagram);
    let n: number;
    try {
      n = this.raw.recvWait(this.recvBuf, this.slotBytes, this.lens, this.pids, timeoutMs);
    } catch (err) {
      throw fromSystemError(err, 'receive');
    }
    this.deliver(0, n, onDatagram);
    return n;
  }

  watch(onReadable: (err?: Error) => void): void {
    this.raw.pollStart(onReadable);
  }

  unwatch(): void {
    this.raw.pollStop();
  }

  setKeepAlive(keep: boolean): void {
    if (keep) this.raw.ref();
    else this.raw.unref();
  }

  close(): void {
    this.restFrom = this.restCount = 0;
    this.raw.close();
  }
}
