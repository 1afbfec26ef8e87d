// A stream of the OVS families' change notifications, on a socket of its
// own that joins the families' multicast groups. Consumed as an async
// iterable, or through listeners.
//
// What the kernel sends (Linux 6.1 and 6.12, verified by test/kernel/
// ovs-events.test.ts): datapath and vport NEW / SET / DEL always; vport DEL
// also when a netdev vport's device is unregistered (portId 0); flow NEW /
// SET / DEL only while somebody listens (or the requester asked for an
// echo), and never for a flush, a datapath deletion's flows or a failed
// request. The meter family has a group but the kernel sends nothing to it.
import { Connection } from '../netlink/connection.js';
import { NetlinkError } from '../netlink/errors.js';
import type { NlMessage } from '../netlink/message.js';
import { NetlinkSocket, type DatagramSocket } from '../netlink/socket.js';
import { UnixTransport } from '../netlink/unix-transport.js';
import { resolveOvsFamilies, type OvsFamilies } from '../ovs/families.js';
import * as U from '../ovs/uapi.js';
import { decodeNotification, type OvsEvent, type OvsEventFamily } from './notification.js';

export type { OvsEvent, OvsEventCmd, OvsEventFamily, DatapathEvent, VportEvent, FlowEvent, MeterEvent } from './notification.js';

/**
 * Notifications were lost: the socket's receive buffer overflowed (ENOBUFS),
 * or a consumer fell `maxQueued` events behind. Anything mirrored from the
 * events must be read again (as ovs-vswitchd re-reads its ports).
 */
export interface EventsOverrun {
  family: 'overrun';
}

export type OvsEventItem = OvsEvent | EventsOverrun;

export interface OvsEventsOptions {
  /** Families already resolved (a KernelDpif's); resolved on the events socket otherwise. */
  families?: OvsFamilies;
  /** Groups to join; default all four. A family the kernel lacks (meter) is skipped. */
  groups?: OvsEventFamily[];
  /** Receive buffer; notifications beyond it are lost (an overrun is reported). */
  receiveBufferBytes?: number;
  /** Events an iterator may fall behind before the rest are dropped (and an overrun reported). */
  maxQueued?: number;
  /** Listen to ovsnl's userspace datapath daemon at this socket instead of the kernel. */
  daemonSocket?: string;
}

export interface OvsEventsStats {
  events: number;
  /** ENOBUFS reported by the socket: the kernel dropped notifications. */
  overruns: number;
  /** Events dropped because an iterator fell behind. */
  dropped: number;
  /** Notifications that did not decode; skipped. */
  malformed: number;
}

const GROUP_NAMES: Record<OvsEventFamily, string> = {
  datapath: U.OVS_DATAPATH_MCGROUP,
  vport: U.OVS_VPORT_MCGROUP,
  flow: U.OVS_FLOW_MCGROUP,
  meter: U.OVS_METER_MCGROUP,
};

/**
 * Passes the socket through, reporting ENOBUFS (the kernel dropped
 * notifications) as an overrun instead of failing the read: a listener has
 * no request to fail, only a mirror to re-read.
 */
class OverrunReportingSocket implements DatagramSocket {
  constructor(
    private readonly inner: NetlinkSocket,
    private readonly onOverrun: () => void,
  ) {}
  get portId(): number {
    return this.inner.portId;
  }
  sendBatch(messages: Uint8Array[]): void {
    this.inner.sendBatch(messages);
  }
  drain(onDatagram: (datagram: Uint8Array, senderPort: number) => void): number {
    for (;;) {
      try {
        return this.inner.drain(onDatagram);
      } catch (err) {
        // The kernel reports the loss once; what it kept is still queued.
        if (!(err instanceof NetlinkError && err.code === 'ENOBUFS')) throw err;
        this.onOverrun();
      }
    }
  }
  watch(onReadable: (err?: Error) => void): void {
    this.inner.watch(onReadable);
  }
  unwatch(): void {
    this.inner.unwatch();
  }
  setKeepAlive(keep: boolean): void {
    this.inner.setKeepAlive(keep);
  }
  close(): void {
    this.inner.close();
  }
}

type Listener = (item: OvsEventItem) => void;

export class OvsEvents implements AsyncIterable<OvsEventItem> {
  readonly stats: OvsEventsStats = { events: 0, overruns: 0, dropped: 0, malformed: 0 };
  /** Group name -> id of the groups joined. */
  readonly joined = new Map<OvsEventFamily, number>();
  private readonly listeners = new Set<Listener>();
  /** Wakes iterators waiting for an event, so that they see the stream closed. */
  private readonly wakers = new Set<() => void>();
  private closed = false;

  private constructor(
    private readonly conn: Connection,
    readonly families: OvsFamilies,
    private readonly maxQueued: number,
  ) {}

  /** Opens the socket, joins the groups and starts listening. */
  static async open(opts: OvsEventsOptions = {}): Promise<OvsEvents> {
    // The daemon's stream loses nothing (it has no receive buffer to overflow); it joins by a request it acknowledges.
    let raw: NetlinkSocket | UnixTransport;
    let conn: Connection;
    let events: OvsEvents | undefined;
    if (opts.daemonSocket !== undefined) {
      raw = await UnixTransport.connect(opts.daemonSocket);
      conn = new Connection({ socket: raw });
    } else {
      raw = new NetlinkSocket({ receiveBufferBytes: opts.receiveBufferBytes ?? 8 * 1024 * 1024 });
      conn = new Connection({ socket: new OverrunReportingSocket(raw, () => events?.overrun()) });
    }
    try {
      const families = opts.families ?? (await resolveOvsFamilies(conn));
      events = new OvsEvents(conn, families, opts.maxQueued ?? 100_000);
      for (const family of opts.groups ?? (['datapath', 'vport', 'flow', 'meter'] as const)) {
        const fam = family === 'meter' ? families.meter : families[family];
        const id = fam?.groups.get(GROUP_NAMES[family]);
        if (id === undefined) continue;
        await raw.addMembership(id);
        events.joined.set(family, id);
      }
      const ev = events;
      conn.onNotification = (m) => ev.deliver(m);
      conn.listen();
      return ev;
    } catch (err) {
      conn.close();
      throw err;
    }
  }

  /** Calls `listener` for every event from now on; returns the function that stops it. */
  on(listener: (item: OvsEventItem) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The next event that satisfies `match`, or a NetlinkError ETIMEDOUT after `timeoutMs`. */
  next(match: (e: OvsEvent) => boolean = () => true, timeoutMs = 10_000): Promise<OvsEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        stop();
        reject(new NetlinkError({ errno: 110, operation: `no matching OVS notification within ${timeoutMs} ms` }));
      }, timeoutMs);
      const stop = this.on((item) => {
        if (item.family === 'overrun' || !match(item)) return;
        clearTimeout(timer);
        stop();
        resolve(item);
      });
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<OvsEventItem> {
    const queue: OvsEventItem[] = [];
    let head = 0;
    let behind = false;
    let wake: (() => void) | undefined;
    const signal = (): void => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    const stop = this.on((item) => {
      if (queue.length - head >= this.maxQueued) {
        this.stats.dropped++;
        behind = true;
      } else {
        queue.push(item);
      }
      signal();
    });
    this.wakers.add(signal);
    const finish = (): IteratorResult<OvsEventItem> => {
      stop();
      this.wakers.delete(signal);
      return { value: undefined, done: true };
    };
    return {
      next: async (): Promise<IteratorResult<OvsEventItem>> => {
        for (;;) {
          if (head < queue.length) {
            const value = queue[head++];
            if (head === queue.length) {
              queue.length = 0;
              head = 0;
            }
            return { value, done: false };
          }
          if (behind) {
            behind = false;
            return { value: { family: 'overrun' }, done: false };
          }
          if (this.closed) return finish();
          await new Promise<void>((r) => (wake = r));
        }
      },
      return: async () => finish(),
    };
  }

  /** Leaves the groups and closes the socket; iterators end. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.conn.close();
    this.listeners.clear();
    for (const w of [...this.wakers]) w();
  }

  private overrun(): void {
    this.stats.overruns++;
    this.emit({ family: 'overrun' });
  }

  private deliver(m: NlMessage): void {
    let event: OvsEvent | undefined;
    try {
      event = decodeNotification(this.families, m);
    } catch {
      this.stats.malformed++;
      return;
    }
    if (!event) return;
    this.stats.events++;
    this.emit(event);
  }

  private emit(item: OvsEventItem): void {
    for (const l of [...this.listeners]) l(item);
  }
}
