// The request engine: sequence numbers, many requests in flight on one socket,
// ACKs, multi-part dumps, extended-ack errors. Knows netlink framing only; the
// payloads are the callers' business.
import { HOST_LE } from './attr.js';
import { NETLINK_CAP_ACK, NETLINK_EXT_ACK, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN, NLM_F_ACK, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST } from './constants.js';
import { MalformedError, NetlinkError } from './errors.js';
import { NLMSG_FLAGS_OFFSET, NLMSG_SEQ_OFFSET, parseDoneError, parseError, parseMessages, readHeaderLength, type NlMessage } from './message.js';
import { NetlinkSocket, type DatagramSocket, type SocketOptions } from './socket.js';
import { debugEnabled, debugMessage } from './debug.js';

export interface ConnectionOptions extends SocketOptions {
  /** Requests sent but not yet answered; more wait in a queue. Keeps replies within the receive buffer. */
  maxInFlight?: number;
  /** Fail a request with ETIMEDOUT after this long without a reply (0: never). */
  timeoutMs?: number;
  /** Print every message sent and received to stderr (default: OVSNL_DEBUG=1). */
  debug?: boolean;
  /** Use this socket instead of opening one (tests, other transports). */
  socket?: DatagramSocket;
}

export interface RequestOptions {
  /** Names the request in errors ("flow new"). */
  operation?: string;
  timeoutMs?: number;
}

/** Counters, for diagnostics and benchmarks. */
export interface ConnectionStats {
  sent: number;
  sendCalls: number;
  received: number;
  /** Messages whose sequence number matched no request (late replies after a timeout, strays). */
  unmatched: number;
  /** Datagrams from a sender other than the kernel, dropped. */
  foreign: number;
  /** Receive-buffer overruns (ENOBUFS): replies were lost. */
  overruns: number;
  malformed: number;
  dumpRetries: number;
}

interface Pending {
  seq: number;
  operation: string;
  dump: boolean;
  deadline: number;
  timeoutMs: number;
  replies: NlMessage[];
  interrupted: boolean;
  /** Request: settle once. Dump: called per message and at the end. */
  onMessage?: (m: NlMessage) => void;
  resolve: (replies: NlMessage[]) => void;
  reject: (err: Error) => void;
  /** requestPacked: this request carries the ACK of a packed group, whose members' errors land here. */
  packed?: Packed;
}

/** A packed group in flight: its members have sequence numbers first .. first+count-1, the last the carrier's. */
interface Packed {
  first: number;
  count: number;
  errors: (Error | undefined)[];
}

interface Queued {
  bytes: Uint8Array;
  pending: Pending;
  /** requestPacked: `bytes` holds this many requests back to back. */
  count?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
/** Stays below the default net.core.wmem_default (212992), the kernel's limit for one datagram. */
const MAX_BATCH_BYTES = 128 * 1024;
const MAX_BATCH_MESSAGES = 1024;
/** requestGroup's packed groups: two fit one send. */
const PACK_BYTES = 64 * 1024;

/** A request must carry its own length: the engine frames batches by it. */
function wellFramed(message: Uint8Array): boolean {
  return message.length >= 16 && readHeaderLength(message) === message.length;
}

/** err, named after one request of a group. */
function renamed(err: NetlinkError, operation: string): NetlinkError {
  return new NetlinkError({ errno: err.errno, operation, seq: err.seq, extAck: err.extAck, cause: err.cause });
}

/** Why `count` back-to-back requests are not what `buffer` holds, or undefined when they are. */
function packedFraming(buffer: Uint8Array, count: number): string | undefined {
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 16 > buffer.length) return `request ${i} of ${count} starts past the end of the ${buffer.length}-byte buffer`;
    const len = view.getUint32(at, HOST_LE);
    if (len < 16 || at + len > buffer.length) return `request ${i} has nlmsg_len ${len} at offset ${at} of ${buffer.length}`;
    at += (len + 3) & ~3;
  }
  return at === buffer.length || (at > buffer.length && at - buffer.length < 4) ? undefined : `${buffer.length - at} bytes follow the ${count} requests`;
}

/** The messages of a buffer that holds several back to back (debug output). */
function splitMessages(buffer: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  while (at + 16 <= buffer.length) {
    const len = readHeaderLength(buffer.subarray(at));
    if (len < 16 || at + len > buffer.length) break;
    out.push(buffer.subarray(at, at + len));
    at += (len + 3) & ~3;
  }
  return out;
}

/** The end of a dump the kernel flagged NLM_F_DUMP_INTR: the set changed while it was read. */
function interruptedError(p: Pending): NetlinkError {
  return new NetlinkError({ errno: 4 /* EINTR */, operation: `${p.operation}: dump interrupted by a concurrent change (NLM_F_DUMP_INTR)` });
}

export class Connection {
  readonly socket: DatagramSocket;
  readonly stats: ConnectionStats = { sent: 0, sendCalls: 0, received: 0, unmatched: 0, foreign: 0, overruns: 0, malformed: 0, dumpRetries: 0 };
  /** Messages that answer no request: multicast notifications when the socket joined groups. */
  onNotification?: (m: NlMessage) => void;

  private readonly maxInFlight: number;
  private readonly timeoutMs: number;
  private readonly debug: boolean;
  private readonly pending = new Map<number, Pending>();
  /** Packed groups sent (those whose carrier is still in `pending` are in flight): their members' sequence numbers are not in `pending`. */
  private packed: Pending[] = [];
  /** Requests waiting for a slot; a head index instead of shift(), which is O(n) on long queues. */
  private queue: Queued[] = [];
  private queueHead = 0;
  private seq: number;
  private flushScheduled = false;
  private watching = false;
  private keptAlive = false;
  private sweeper?: NodeJS.Timeout;
  /**
   * The clock as replies are read: a reply renews its request's deadline
   * from it. Read at each wake-up and every 256 datagrams of one, not per
   * reply: in the test VM the clock is a system call, and a dump of 100k
   * flows or add-flows of 100k is 100k replies.
   */
  private readAt = 0;
  private readCount = 0;
  private closedError?: NetlinkError;

  constructor(opts: ConnectionOptions = {}) {
    if (opts.socket) {
      this.socket = opts.socket;
    } else {
      const s = new NetlinkSocket({ receiveBufferBytes: 4 * 1024 * 1024, ...opts });
      // Ask for the kernel's reason text with errors, and do not have it echo
      // whole requests back (a flow install would come back in every error).
      s.setNetlinkOption(NETLINK_EXT_ACK, true);
      s.setNetlinkOption(NETLINK_CAP_ACK, true);
      this.socket = s;
    }
    this.maxInFlight = opts.maxInFlight ?? 128;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.debug = opts.debug ?? debugEnabled();
    // Start somewhere other than 1 so that replies meant for a previous user of
    // a recycled port id are not mistaken for ours.
    this.seq = (Date.now() & 0x7fffffff) >>> 0;
  }

  get portId(): number {
    return this.socket.portId;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Sends one request (NLM_F_REQUEST|NLM_F_ACK are added) and resolves with the
   * messages the kernel sent before its ACK. The sequence number and flags are
   * written into `message` in place.
   */
  request(message: Uint8Array, opts: RequestOptions = {}): Promise<NlMessage[]> {
    return new Promise((resolve, reject) => {
      this.enqueue(message, NLM_F_REQUEST | NLM_F_ACK, false, opts, resolve, reject);
    });
  }

  /**
   * Requests that send nothing back when they succeed (flow puts without an
   * echo, packet executes), sent together with NLM_F_ACK on the last one only.
   * Netlink answers a socket's requests in order and reports every failure
   * even without NLM_F_ACK, so the last one's answer settles the group: a
   * request with no error before it succeeded. That saves the kernel an ACK
   * per request and this side a receive and a promise per request. Resolves
   * with one entry per message: undefined (done) or its error. `operations`
   * names a failed request in its error, where `operation` would name them
   * all (a function: only failures are worth a name). The requests are
   * copied into packed groups (requestPacked), one ACK per group.
   */
  requestGroup(messages: readonly Uint8Array[], opts: RequestOptions & { operations?: (index: number) => string } = {}): Promise<(Error | undefined)[]> {
    const n = messages.length;
    const out = new Array<Error | undefined>(n).fill(undefined);
    // The requests, copied back to back into packed groups of up to PACK_BYTES (a larger one alone).
    const sends: Promise<void>[] = [];
    let i = 0;
    while (i < n) {
      const members: number[] = [];
      let bytes = 0;
      for (; i < n; i++) {
        const m = messages[i];
        if (!wellFramed(m)) {
          out[i] = new MalformedError(`request of ${m.length} bytes does not carry its own length in nlmsg_len`);
          continue;
        }
        if (members.length && bytes + ((m.length + 3) & ~3) > PACK_BYTES) break;
        members.push(i);
        bytes += (m.length + 3) & ~3;
      }
      if (!members.length) break;
      const buffer = new Uint8Array(bytes);
      let at = 0;
      for (const k of members) {
        buffer.set(messages[k], at);
        at += (messages[k].length + 3) & ~3;
      }
      sends.push(
        this.requestPacked(buffer, members.length, opts).then((errors) => {
          errors.forEach((err, j) => {
            if (err) out[members[j]] = opts.operations && err instanceof NetlinkError ? renamed(err, opts.operations(members[j])) : err;
          });
        }),
      );
    }
    return Promise.all(sends).then(() => out);
  }

  /**
   * requestGroup for requests encoded back to back in one buffer, `count`
   * of them, each a whole netlink message (flow puts in bulk): the engine
   * keeps one record for the group, not one per request, and sends the
   * buffer as one piece. Sequence numbers and flags are written in place.
   * Resolves with one entry per request: undefined (done) or its error; an
   * error that leaves the group's outcome unknown (timeout, closed
   * connection, failed send) lands on every request not already failed.
   * The buffer must fit one send (128 KiB).
   */
  requestPacked(buffer: Uint8Array, count: number, opts: RequestOptions = {}): Promise<(Error | undefined)[]> {
    const errors = new Array<Error | undefined>(count).fill(undefined);
    if (count === 0) return Promise.resolve(errors);
    return new Promise((resolve) => {
      let done = false;
      const fail = (err: Error): void => {
        if (done) return;
        done = true;
        for (let i = 0; i < count; i++) errors[i] ??= err;
        resolve(errors);
      };
      const framing = packedFraming(buffer, count);
      if (framing) return fail(new MalformedError(`packed group: ${framing}`));
      if (buffer.length > MAX_BATCH_BYTES) return fail(new RangeError(`packed group of ${buffer.length} bytes exceeds one send (${MAX_BATCH_BYTES})`));
      const p = this.enqueue(
        buffer,
        0,
        false,
        opts,
        () => {
          done = true;
          resolve(errors);
        },
        fail,
        count,
      );
      p.packed = { first: 0, count, errors };
    });
  }

  /**
   * A multi-part dump as an async iterable. Messages arrive in batches as the
   * kernel produces them. If the kernel flags the dump as interrupted
   * (NLM_F_DUMP_INTR: the set changed while it was read), the iterator throws
   * a NetlinkError EINTR at the end; dumpAll() retries instead.
   */
  dump(message: Uint8Array, opts: RequestOptions = {}): AsyncIterableIterator<NlMessage> {
    const items: NlMessage[] = [];
    let done = false;
    let failure: Error | undefined;
    let wake: (() => void) | undefined;
    const signal = (): void => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    const pending = this.startDump(
      message,
      opts,
      () => {
        done = true;
        signal();
      },
      (err) => {
        failure = err;
        done = true;
        signal();
      },
    );
    pending.onMessage = (m) => {
      items.push(m);
      if (items.length === 1) signal();
    };
    let index = 0;
    const iterator: AsyncIterableIterator<NlMessage> = {
      next: async (): Promise<IteratorResult<NlMessage>> => {
        for (;;) {
          if (index < items.length) {
            const value = items[index++];
            if (index === items.length) {
              items.length = 0;
              index = 0;
            }
            return { value, done: false };
          }
          if (done) {
            if (failure) throw failure;
            if (pending.interrupted) throw interruptedError(pending);
            return { value: undefined, done: true };
          }
          await new Promise<void>((r) => (wake = r));
        }
      },
      return: async (): Promise<IteratorResult<NlMessage>> => {
        // The consumer stopped early: forget the dump; the kernel's remaining
        // parts will be read and counted as unmatched.
        if (!done) {
          this.pending.delete(pending.seq);
          done = true;
          this.updateKeepAlive();
        }
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  /**
   * A multi-part dump handed to `onMessage` as each reply is read, inside
   * the receive loop: no promise per message, which in a dump of 100k flows
   * cost more than the formatting of each. The message is valid only during
   * the call. A throw from `onMessage` ends the dump (the kernel's remaining
   * parts are read and dropped) and rejects with what was thrown. NLM_F_DUMP_INTR
   * rejects with EINTR at the end, as dump() does.
   */
  dumpEach(message: Uint8Array, onMessage: (m: NlMessage) => void, opts: RequestOptions = {}): Promise<void> {
    return new Promise((resolve, reject) => {
      let failed = false;
      const pending = this.startDump(message, opts, () => (pending.interrupted ? reject(interruptedError(pending)) : resolve()), reject);
      pending.onMessage = (m) => {
        if (failed) return;
        try {
          onMessage(m);
        } catch (err) {
          failed = true;
          this.pending.delete(pending.seq);
          this.updateKeepAlive();
          reject(err);
        }
      };
    });
  }

  private startDump(message: Uint8Array, opts: RequestOptions, done: () => void, fail: (e: Error) => void): Pending {
    return this.enqueue(message, NLM_F_REQUEST | NLM_F_DUMP, true, opts, done, fail);
  }

  /** A whole dump in memory; retried (up to `retries` times) when the kernel reports NLM_F_DUMP_INTR. */
  async dumpAll(message: Uint8Array, opts: RequestOptions & { retries?: number } = {}): Promise<NlMessage[]> {
    const retries = opts.retries ?? 5;
    for (let attempt = 0; ; attempt++) {
      const out: NlMessage[] = [];
      try {
        for await (const m of this.dump(message, opts)) out.push(m);
        return out;
      } catch (err) {
        if (err instanceof NetlinkError && err.code === 'EINTR' && attempt < retries) {
          this.stats.dumpRetries++;
          continue;
        }
        throw err;
      }
    }
  }

  /** Fails everything in flight and closes the socket. Idempotent. */
  close(): void {
    if (this.closedError) return;
    this.closedError = new NetlinkError({ errno: 9 /* EBADF */, operation: 'netlink connection closed' });
    if (this.sweeper) clearInterval(this.sweeper);
    this.failAll(this.closedError);
    for (let i = this.queueHead; i < this.queue.length; i++) this.queue[i].pending.reject(this.closedError);
    this.queue = [];
    this.queueHead = 0;
    if (this.watching) this.socket.unwatch();
    this.watching = false;
    this.socket.close();
  }

  private enqueue(
    message: Uint8Array,
    flags: number,
    dump: boolean,
    opts: RequestOptions,
    resolve: (r: NlMessage[]) => void,
    reject: (e: Error) => void,
    count?: number,
  ): Pending {
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const pending: Pending = { seq: 0, operation: opts.operation ?? (dump ? 'dump' : 'request'), dump, deadline: 0, timeoutMs, replies: [], interrupted: false, resolve, reject };
    if (this.closedError) {
      reject(this.closedError);
      return pending;
    }
    if (count === undefined) {
      if (!wellFramed(message)) {
        reject(new MalformedError(`request of ${message.length} bytes does not carry its own length in nlmsg_len`));
        return pending;
      }
      const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
      view.setUint16(NLMSG_FLAGS_OFFSET, view.getUint16(NLMSG_FLAGS_OFFSET, HOST_LE) | flags, HOST_LE);
    }
    this.queue.push(count === undefined ? { bytes: message, pending } : { bytes: message, pending, count });
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // Requests issued in the same tick leave in one sendmsg.
      queueMicrotask(() => this.flush());
    }
    return pending;
  }

  private nextSeq(): number {
    do {
      this.seq = (this.seq + 1) >>> 0;
    } while (this.seq === 0 || this.pending.has(this.seq) || (this.packed.length > 0 && this.packedOf(this.seq)));
    return this.seq;
  }

  /** The packed group in flight whose members include seq. */
  private packedOf(seq: number): Pending | undefined {
    for (const g of this.packed) if (((seq - g.packed!.first) >>> 0) < g.packed!.count && this.pending.get(g.seq) === g) return g;
    return undefined;
  }

  /**
   * Gives a packed group consecutive sequence numbers (clear of every
   * request in flight: they wrap after 2^32) and its flags: every member
   * NLM_F_REQUEST, the last NLM_F_ACK too. Returns the last, the carrier's.
   */
  private stampPacked(q: Queued): number {
    const n = q.count!;
    this.packed = this.packed.filter((g) => this.pending.get(g.seq) === g);
    let first = (this.seq + 1) >>> 0;
    for (;;) {
      if (first === 0 || first + n - 1 > 0xffffffff) first = 1;
      const last = first + n - 1;
      const clash = (s: number): boolean => s >= first && s <= last;
      let blocked = -1;
      for (const s of this.pending.keys()) if (clash(s)) blocked = Math.max(blocked, s);
      for (const g of this.packed) {
        const gl = g.packed!.first + g.packed!.count - 1;
        if (g.packed!.first <= last && gl >= first) blocked = Math.max(blocked, gl);
      }
      if (blocked < 0) break;
      first = (blocked + 1) >>> 0;
    }
    const b = q.bytes;
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    let at = 0;
    for (let i = 0; i < n; i++) {
      view.setUint16(at + NLMSG_FLAGS_OFFSET, view.getUint16(at + NLMSG_FLAGS_OFFSET, HOST_LE) | NLM_F_REQUEST | (i === n - 1 ? NLM_F_ACK : 0), HOST_LE);
      view.setUint32(at + NLMSG_SEQ_OFFSET, first + i, HOST_LE);
      at += (view.getUint32(at, HOST_LE) + 3) & ~3;
    }
    q.pending.packed!.first = first;
    this.packed.push(q.pending);
    this.seq = first + n - 1;
    return this.seq;
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.closedError) return;
    // One clock read per flush, not per request: in the test VM the clock is
    // a system call (no vDSO clocksource), and add-flows sends 100k requests.
    const now = Date.now();
    while (this.queued() && this.mayIssue()) {
      const batch: Uint8Array[] = [];
      const sent: Pending[] = [];
      let bytes = 0;
      let messages = 0;
      while (
        this.queued() &&
        this.mayIssue() &&
        batch.length < MAX_BATCH_MESSAGES &&
        (batch.length === 0 || bytes + this.queue[this.queueHead].bytes.length <= MAX_BATCH_BYTES)
      ) {
        const q = this.queue[this.queueHead];
        this.queue[this.queueHead++] = undefined as unknown as Queued;
        const seq = q.count === undefined ? this.nextSeq() : this.stampPacked(q);
        if (q.count === undefined) new DataView(q.bytes.buffer, q.bytes.byteOffset, q.bytes.byteLength).setUint32(NLMSG_SEQ_OFFSET, seq, HOST_LE);
        q.pending.seq = seq;
        q.pending.deadline = q.pending.timeoutMs > 0 ? now + q.pending.timeoutMs : 0;
        this.pending.set(seq, q.pending);
        batch.push(q.bytes);
        sent.push(q.pending);
        messages += q.count ?? 1;
        bytes += q.bytes.length;
      }
      if (this.debug) for (const b of batch) for (const m of splitMessages(b)) debugMessage('send', m);
      this.ensureWatching();
      try {
        this.socket.sendBatch(batch);
        this.stats.sent += messages;
        this.stats.sendCalls++;
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        for (const p of sent) {
          this.pending.delete(p.seq);
          p.reject(e);
        }
      }
    }
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    this.updateKeepAlive();
    this.armSweeper();
  }

  private mayIssue(): boolean {
    return this.pending.size < this.maxInFlight;
  }

  private queued(): number {
    return this.queue.length - this.queueHead;
  }

  private ensureWatching(): void {
    if (this.watching) return;
    this.watching = true;
    this.socket.watch((err) => this.onReadable(err));
  }

  /** Keep the process alive only while answers are owed (or notifications are wanted). */
  private updateKeepAlive(): void {
    const want = this.pending.size > 0 || this.queued() > 0 || this.onNotification !== undefined;
    if (want !== this.keptAlive && this.watching) {
      this.keptAlive = want;
      this.socket.setKeepAlive(want);
    }
  }

  /** Start listening even with nothing in flight (for notifications). */
  listen(): void {
    this.ensureWatching();
    this.updateKeepAlive();
  }

  private armSweeper(): void {
    if (this.sweeper || this.pending.size === 0) return;
    let period = Infinity;
    for (const p of this.pending.values()) if (p.timeoutMs > 0) period = Math.min(period, p.timeoutMs);
    if (period === Infinity) return;
    this.sweeper = setInterval(() => this.sweep(), Math.max(10, Math.min(1000, period / 4)));
    this.sweeper.unref();
  }

  private sweep(): void {
    const now = Date.now();
    for (const p of [...this.pending.values()]) {
      if (p.deadline && now >= p.deadline) {
        this.pending.delete(p.seq);
        p.reject(new NetlinkError({ errno: 110 /* ETIMEDOUT */, operation: `${p.operation}: no reply within ${p.timeoutMs} ms`, seq: p.seq }));
      }
    }
    if (this.pending.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
    this.updateKeepAlive();
    if (this.queued()) this.flush();
  }

  private failAll(err: Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(err);
  }

  private onReadable(err?: Error): void {
    if (err) {
      this.failAll(err);
      return;
    }
    this.readAt = Date.now();
    this.readCount = 0;
    try {
      this.drainAll();
    } catch (e) {
      if (e instanceof NetlinkError && e.code === 'ENOBUFS') {
        // The kernel dropped replies that did not fit the receive buffer; any
        // request in flight may have lost its answer.
        this.stats.overruns++;
        this.failAll(new NetlinkError({ errno: e.errno, operation: 'receive buffer overrun: replies were lost', cause: e }));
        // Until its receive queue is empty the kernel counts the socket as
        // congested and drops further replies without even an error: read
        // the stale replies now (they match nothing) before sending more.
        try {
          this.drainAll();
        } catch {
          // Another overrun or a failure: the next readiness event reports it.
        }
      } else {
        this.failAll(e instanceof Error ? e : new Error(String(e)));
      }
    }
    if (this.queued() && this.mayIssue()) this.flush();
    else this.updateKeepAlive();
  }

  /**
   * drain(), failing only the request whose reply was too big for a receive
   * slot: the socket throws EMSGSIZE once per cut datagram, naming the
   * request by seq, and keeps the rest of its batch for the next call.
   */
  private drainAll(): void {
    for (;;) {
      try {
        this.socket.drain((datagram, sender) => this.onDatagram(datagram, sender));
        return;
      } catch (e) {
        if (!(e instanceof NetlinkError && e.code === 'EMSGSIZE')) throw e;
        this.onCut(e);
      }
    }
  }

  private onCut(e: NetlinkError): void {
    const p = e.seq !== undefined ? this.pending.get(e.seq) : undefined;
    if (p) {
      this.settle(p, new NetlinkError({ errno: e.errno, operation: `${p.operation}: ${e.operation}`, seq: p.seq, cause: e }));
      return;
    }
    const g = e.seq !== undefined && this.packed.length ? this.packedOf(e.seq) : undefined;
    // A packed member's answer is an error (success sends nothing): it failed, how is lost.
    if (g) g.packed!.errors[(e.seq! - g.packed!.first) >>> 0] = new NetlinkError({ errno: e.errno, operation: `${g.operation}: ${e.operation}`, seq: e.seq, cause: e });
    else this.stats.unmatched++;
  }

  private onDatagram(datagram: Uint8Array, sender: number): void {
    // One drain can read a whole dump: keep the clock fresh within it.
    if ((++this.readCount & 255) === 0) this.readAt = Date.now();
    if (sender !== 0) {
      this.stats.foreign++;
      return;
    }
    let messages: NlMessage[];
    try {
      // The socket's buffer is reused by the next receive: keep a copy (from
      // Node's pool for small datagrams, which most replies are).
      const copy = Buffer.from(datagram);
      messages = parseMessages(new Uint8Array(copy.buffer, copy.byteOffset, copy.length));
    } catch (err) {
      this.stats.malformed++;
      // Some reply in this datagram is lost; fail what was waiting rather than hang.
      this.failAll(err as Error);
      return;
    }
    for (const m of messages) this.dispatch(m);
  }

  private dispatch(m: NlMessage): void {
    this.stats.received++;
    if (this.debug) debugMessage('recv', m);
    const ours = m.seq !== 0 && m.pid === this.socket.portId;
    let p = ours ? this.pending.get(m.seq) : undefined;
    if (!p && ours && this.packed.length) {
      const g = this.packedOf(m.seq);
      if (g) return this.packedMember(g, m);
    }
    if (!p) {
      if (m.type === NLMSG_NOOP) return;
      if (this.onNotification) this.onNotification(m);
      else this.stats.unmatched++;
      return;
    }
    p.deadline = p.timeoutMs > 0 ? this.readAt + p.timeoutMs : 0;
    if (m.type === NLMSG_ERROR) {
      let e;
      try {
        e = parseError(m);
      } catch (err) {
        this.settle(p, err as Error);
        return;
      }
      if (e.error === 0) this.settle(p);
      else this.settle(p, new NetlinkError({ errno: -e.error, operation: p.operation, seq: p.seq, extAck: e.extAck }));
      return;
    }
    if (m.type === NLMSG_DONE && p.dump) {
      const error = parseDoneError(m);
      if (error < 0) this.settle(p, new NetlinkError({ errno: -error, operation: p.operation, seq: p.seq }));
      else this.settle(p);
      return;
    }
    if (m.type === NLMSG_NOOP || m.type === NLMSG_OVERRUN) return;
    if (m.flags & NLM_F_DUMP_INTR) p.interrupted = true;
    if (p.onMessage) p.onMessage(m);
    else p.replies.push(m);
  }

  /** An answer to a packed group's member: only an error is news (success sends nothing). */
  private packedMember(g: Pending, m: NlMessage): void {
    g.deadline = g.timeoutMs > 0 ? this.readAt + g.timeoutMs : 0;
    if (m.type !== NLMSG_ERROR) {
      this.stats.unmatched++;
      return;
    }
    const at = (m.seq - g.packed!.first) >>> 0;
    try {
      const e = parseError(m);
      if (e.error !== 0) g.packed!.errors[at] = new NetlinkError({ errno: -e.error, operation: g.operation, seq: m.seq, extAck: e.extAck });
    } catch (err) {
      g.packed!.errors[at] = err as Error;
    }
  }

  private settle(p: Pending, err?: Error): void {
    this.pending.delete(p.seq);
    if (p.packed) {
      // The carrier's own answer: the members with no error before it succeeded.
      if (err) p.packed.errors[p.packed.count - 1] = err;
      this.packed = this.packed.filter((g) => g !== p);
      p.resolve(p.replies);
      return;
    }
    if (err) p.reject(err);
    else p.resolve(p.replies);
  }
}
