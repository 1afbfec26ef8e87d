// The client side of the fallback daemon's control socket: a DatagramSocket
// over a unix stream, so the request engine (Connection) and everything above
// it run unchanged against the userspace datapath.
import { createConnection, type Socket } from 'node:net';
import { HOST_LE } from './attr.js';
import { NLMSG_NOOP } from './constants.js';
import { MalformedError, NetlinkError } from './errors.js';
import type { DatagramSocket } from './socket.js';
import { MessageStream } from './stream.js';

export class UnixTransport implements DatagramSocket {
  private readonly queue: Uint8Array[] = [];
  private onReadable?: (err?: Error) => void;
  private failure?: Error;

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
      this.queue.push(...this.stream.push(chunk));
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
    this.onReadable?.(err);
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
    if (keep) this.sock.ref();
    else this.sock.unref();
  }

  close(): void {
    this.onReadable = undefined;
    this.sock.destroy();
  }
}
