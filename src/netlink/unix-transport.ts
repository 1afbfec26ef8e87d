// The client side of the fallback daemon's control socket: a DatagramSocket
// over a unix stream, so the request engine (Connection) and everything above
// it run unchanged against the userspace datapath.
import { createConnection, type Socket } from 'node:net';
import { HOST_LE } from './attr.js';
import { MEMBERSHIP_ADD, MEMBERSHIP_DROP, NLMSG_ERROR, NLMSG_NOOP, NLM_F_ACK, NLM_F_REQUEST } from './constants.js';
import { MalformedError, NetlinkError } from './errors.js';
import type { DatagramSocket } from './socket.js';
import { MessageStream } from './stream.js';

/** Sequence numbers of membership requests: above what a Connection numbers its requests with in practice. */
const MEMBERSHIP_SEQ_BASE = 0xfff00000;

export class UnixTransport implements DatagramSocket {
  private readonly queue: Uint8Array[] = [];
  private onReadable?: (err?: Error) => void;
  private failure?: Error;
  /** Membership requests waiting for the daemon's answer, by sequence number. */
  private readonly joins = new Map<number, { resolve: () => void; reject: (err: Error) => void; what: string }>();
  private nextJoinSeq = MEMBERSHIP_SEQ_BASE;
  /** setKeepAlive(): whether the socket keeps the process alive when nothing is awaited on it. */
  private keepAlive = false;

  private constructor(
    private readonly sock: Socket,
    /** Assigned by the daemon on connect, as the kernel assigns netlink port ids. */
    readonly portId: number,
    private readonly stream: MessageStream,
  ) {
    sock.on('data', (chunk: Buffer) => this.onData(chunk));
    sock.on('error', (err) => this.fail(err));
    sock.on('close', () => this.fail(new NetlinkError({ errno: 104 /* ECONNRESET */, operation: 'ovsnl datapath daemon closed the connection' })));
    sock.unref();
  }

  /** Connects and waits for the daemon's greeting, which carries our port id. */
  static connect(path: string, timeoutMs = 5000): Promise<UnixTransport> {
    return new Promise((resolve, reject) => {
      const sock = createConnection(path);
      const stream = new MessageStream();
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new NetlinkError({ errno: 110, operation: `ovsnl datapath daemon at ${path} did not greet within ${timeoutMs} ms` }));
      }, timeoutMs);
      const onError = (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new NetlinkError({ errno: Math.abs((err as { errno?: number }).errno ?? 111), operation: `connect to ovsnl datapath daemon at ${path}`, cause: err }));
      };
      sock.once('error', onError);
      const onGreeting = (chunk: Buffer) => {
        let msgs: Uint8Array[];
        try {
          msgs = stream.push(chunk);
        } catch (err) {
          clearTimeout(timer);
          sock.destroy();
          reject(err);
          return;
        }
        if (!msgs.length) return;
        sock.off('data', onGreeting);
        sock.off('error', onError);
        clearTimeout(timer);
        const hello = msgs.shift()!;
        const v = new DataView(hello.buffer, hello.byteOffset, hello.byteLength);
        if (v.getUint16(4, HOST_LE) !== NLMSG_NOOP) {
          sock.destroy();
          reject(new MalformedError('the daemon did not start with its greeting'));
          return;
        }
        const t = new UnixTransport(sock, v.getUint32(12, HOST_LE), stream);
        t.queue.push(...msgs);
        resolve(t);
      };
      sock.on('data', onGreeting);
    });
  }

  private onData(chunk: Buffer): void {
    try {
      for (const m of this.stream.push(chunk)) if (!this.joins.size || !this.settleJoin(m)) this.queue.push(m);
    } catch (err) {
      // A corrupt stream cannot be resynchronised: fail and close.
      this.fail(err as Error);
      this.sock.destroy();
      return;
    }
    this.onReadable?.();
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    for (const j of this.joins.values()) j.reject(err);
    this.joins.clear();
    this.onReadable?.(err);
  }

  /** The daemon's answer to a membership request: settles it; false for any other message. */
  private settleJoin(m: Uint8Array): boolean {
    const v = new DataView(m.buffer, m.byteOffset, m.byteLength);
    if (m.length < 20 || v.getUint16(4, HOST_LE) !== NLMSG_ERROR) return false;
    const seq = v.getUint32(8, HOST_LE);
    const j = this.joins.get(seq);
    if (!j) return false;
    this.joins.delete(seq);
    if (!this.joins.size && !this.keepAlive) this.sock.unref();
    const errno = -v.getInt32(16, HOST_LE);
    if (errno === 0) j.resolve();
    else j.reject(new NetlinkError({ errno, operation: j.what }));
    return true;
  }

  /**
   * Joins a multicast group of the daemon's families, as NETLINK_ADD_MEMBERSHIP
   * joins the kernel's; resolves once the daemon has taken it, so that no
   * notification of a later change is missed.
   */
  addMembership(group: number): Promise<void> {
    return this.membership(MEMBERSHIP_ADD, group, `join multicast group ${group}`);
  }

  dropMembership(group: number): Promise<void> {
    return this.membership(MEMBERSHIP_DROP, group, `leave multicast group ${group}`);
  }

  private membership(op: number, group: number, what: string): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const seq = this.nextJoinSeq;
    this.nextJoinSeq = this.nextJoinSeq === 0xffffffff ? MEMBERSHIP_SEQ_BASE : this.nextJoinSeq + 1;
    const m = new Uint8Array(24);
    const v = new DataView(m.buffer);
    v.setUint32(0, 24, HOST_LE);
    v.setUint16(4, NLMSG_NOOP, HOST_LE);
    v.setUint16(6, NLM_F_REQUEST | NLM_F_ACK, HOST_LE);
    v.setUint32(8, seq, HOST_LE);
    v.setUint32(12, this.portId, HOST_LE);
    v.setUint32(16, op, HOST_LE);
    v.setUint32(20, group, HOST_LE);
    return new Promise((resolve, reject) => {
      this.joins.set(seq, { resolve, reject, what });
      // An answer awaited keeps the process alive, as a request on a Connection does.
      this.sock.ref();
      this.sock.write(m);
    });
  }

  sendBatch(messages: Uint8Array[]): void {
    if (this.failure) throw this.failure;
    this.sock.write(messages.length === 1 ? messages[0] : Buffer.concat(messages));
  }

  drain(onDatagram: (datagram: Uint8Array, senderPort: number) => void): number {
    const n = this.queue.length;
    for (const m of this.queue.splice(0)) onDatagram(m, 0);
    return n;
  }

  watch(onReadable: (err?: Error) => void): void {
    this.onReadable = onReadable;
    if (this.queue.length) queueMicrotask(() => this.onReadable?.());
  }

  unwatch(): void {
    this.onReadable = undefined;
  }

  setKeepAlive(keep: boolean): void {
    this.keepAlive = keep;
    if (keep || this.joins.size) this.sock.ref();
    else this.sock.unref();
  }

  close(): void {
    this.onReadable = undefined;
    this.sock.destroy();
  }
}
