// A netlink socket with its receive buffers: the thin layer between the
// addon's system calls and the request engine. Holds no protocol state.
import { native, type NativeNetlinkSocket } from '../native.js';
import { NETLINK_ADD_MEMBERSHIP, NETLINK_DROP_MEMBERSHIP, NETLINK_GENERIC, SOL_NETLINK, SOL_SOCKET, SO_RCVBUF, SO_RCVBUFFORCE } from './constants.js';
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
  /** Calls onDatagram for each datagram queued now; returns how many. Never blocks. */
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

  private deliver(count: number, onDatagram: (datagram: Uint8Array, senderPort: number) => void): void {
    for (let i = 0; i < count; i++) {
      const len = this.lens[i];
      if (len > this.slotBytes) {
        this.truncated++;
        throw new NetlinkError({ errno: 90 /* EMSGSIZE */, operation: `receive: datagram of ${len} bytes exceeds the ${this.slotBytes}-byte slot` });
      }
      const start = i * this.slotBytes;
      onDatagram(this.recvBuf.subarray(start, start + len), this.pids[i]);
    }
  }

  drain(onDatagram: (datagram: Uint8Array, senderPort: number) => void): number {
    let total = 0;
    for (;;) {
      let n: number;
      try {
        n = this.raw.recv(this.recvBuf, this.slotBytes, this.lens, this.pids);
      } catch (err) {
        throw fromSystemError(err, 'receive');
      }
      if (n === 0) return total;
      this.deliver(n, onDatagram);
      total += n;
      if (n < this.lens.length) return total;
    }
  }

  /** Blocks up to timeoutMs (-1: forever) for datagrams; returns how many were delivered. */
  receiveWait(timeoutMs: number, onDatagram: (datagram: Uint8Array, senderPort: number) => void): number {
    let n: number;
    try {
      n = this.raw.recvWait(this.recvBuf, this.slotBytes, this.lens, this.pids, timeoutMs);
    } catch (err) {
      throw fromSystemError(err, 'receive');
    }
    this.deliver(n, onDatagram);
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
    this.raw.close();
  }
}
