// openUpcalls: the upcalls of one datapath, delivered to a Node program.
//
// Handler sockets are registered with the kernel per vport or per CPU
// (upcall-dispatch.ts), read in batches when libuv says they are readable,
// and decoded in place (upcall-decode.ts). Two ways to consume:
//
// - `for await (const u of upcalls)`: typed upcalls, copied out of the
//   receive buffers, through a bounded queue;
// - `onBatch`: each recvmmsg's upcalls as views of the receive buffer, valid
//   until the callback returns: no copy, for the hot path.
//
// Backpressure never blocks the event loop: a full queue, too many batch
// promises outstanding, or pause() stop the reading of the sockets. The
// kernel then fills their receive buffers, drops what does not fit, counts
// it in the datapath's n_lost and reports ENOBUFS, which is counted here as
// `lost` and read past. Note the kernel's rule: once a socket overran, it
// takes nothing more until its queue has been read empty.
import { NetlinkError } from '../netlink/errors.js';
import type { GenlFamily } from '../netlink/genl.js';
import type { Upcall } from '../ovs/packet.js';
import type { DpStats } from '../ovs/structs.js';
import type { Dpif, DpRef } from './dpif.js';
import { copyUpcall } from './upcall-decode.js';
import { possibleCpus } from './upcall-cpus.js';
import { PerCpuRefusedError, applyPerCpu, applyPerVport, restoreDispatch, type DispatchMode, type DispatchState } from './upcall-dispatch.js';
import { DispatchGuard } from './upcall-guard.js';
import { UpcallQueue } from './upcall-queue.js';
import { HandlerSocket, type HandlerTally } from './upcall-socket.js';
import { DispatchWatch } from './upcall-watch.js';

export { copyUpcall } from './upcall-decode.js';
export { PerCpuRefusedError, type DispatchMode } from './upcall-dispatch.js';

/**
 * Called with the upcalls of one receive. The array and the byte views in
 * it are reused by the next receive: copy (copyUpcall) what is kept past
 * the synchronous part of the callback. A returned promise counts against
 * maxPendingBatches until it settles.
 */
export type UpcallBatchHandler = (batch: readonly Upcall[], handler: number) => void | Promise<void>;

export interface UpcallOptions {
  /** 'auto' (default): per-CPU where the kernel takes it, else per-vport. */
  dispatch?: DispatchMode | 'auto';
  /** Handler sockets; default min(4, possible CPUs). */
  handlers?: number;
  /** Per socket, forced past rmem_max when permitted; default 8 MiB. */
  receiveBufferBytes?: number;
  /** Datagrams per recvmmsg; default 64. */
  batch?: number;
  /** Room per datagram; default 64 KiB of packet plus 8 KiB for key and attributes. */
  slotBytes?: number;
  /** recvmmsg calls per socket per event-loop turn before others get their turn; default 16. */
  maxBatchesPerWake?: number;
  /** Iterator mode: upcalls queued before reading stops; default 4096. */
  queueLimit?: number;
  /** Callback mode (no iterator): see UpcallBatchHandler. */
  onBatch?: UpcallBatchHandler;
  /** Callback mode: unsettled batch promises before reading stops; default 8. */
  maxPendingBatches?: number;
  /** Re-assert dispatch when vports are added or someone re-sets it (kernel Dpif only); default true. */
  guard?: boolean;
  /** Whether open sockets keep the process alive; default true. */
  keepAlive?: boolean;
  /** Errors after open: a handler's callback throwing, a failed re-assert. Default: iterator fails / rethrown. */
  onError?: (err: Error) => void;
  /** CPU ids per-CPU dispatch covers; default the host's possible CPUs. */
  cpus?: readonly number[];
}

/** Counters since open. */
export interface UpcallStats {
  /** Upcalls received and decoded. */
  received: number;
  /** Upcalls the consumer took (iterator) or whose batch callback finished. */
  handled: number;
  /** Waiting in the iterator's queue. */
  queued: number;
  /** ENOBUFS reports: the kernel dropped upcalls (at least one each; the exact count is kernelStats().lost). */
  lost: number;
  /** Messages that did not decode as upcalls. */
  malformed: number;
  /** Datagrams longer than a slot, dropped. */
  truncated: number;
  /** Datagrams or messages that were not upcalls from the kernel. */
  foreign: number;
  /** Times reading stopped for backpressure. */
  pauses: number;
  /** Dispatch settings found drifted and re-asserted. */
  reasserted: number;
}

/** The datapath's own counters, as deltas since open. */
export interface KernelUpcallStats {
  /** Packets that matched a flow. */
  hit: bigint;
  /** Packets that matched none (each a MISS upcall, or an attempt at one). */
  missed: bigint;
  /** Upcalls the kernel could not queue (full receive buffer, pid 0, no memory). */
  lost: bigint;
}

/** A Dpif that knows its generic netlink families (KernelDpif). */
interface FamilyAware {
  readonly families: { datapath: GenlFamily; vport: GenlFamily; packet: GenlFamily };
}

const hasFamilies = (d: Dpif): d is Dpif & FamilyAware => 'families' in d && typeof (d as Partial<FamilyAware>).families === 'object';

const DEFAULTS = {
  receiveBufferBytes: 8 << 20,
  batch: 64,
  slotBytes: 65536 + 8192,
  maxBatchesPerWake: 16,
  queueLimit: 4096,
  maxPendingBatches: 8,
};

export class Upcalls implements AsyncIterable<Upcall> {
  /** The dispatch in force. */
  readonly dispatch: DispatchMode;
  /** Why 'auto' did not get per-CPU dispatch, when it did not. */
  readonly fallbackReason?: string;
  readonly dpIfindex: number;
  /** The handler sockets' netlink port ids, by handler index. */
  readonly portIds: readonly number[];
  /** The receive buffer each socket got (the kernel doubles the request for its bookkeeping). */
  readonly receiveBufferBytes: number;

  private readonly state: DispatchState;
  private handledCount = 0;
  private pauseCount = 0;
  private userPaused = false;
  private backpressured = false;
  private pendingBatches = 0;
  private closing?: Promise<void>;
  private readonly queue?: UpcallQueue<Upcall>;
  private readonly readers: (() => void)[];
  private readonly deliverers: ((batch: Upcall[]) => void)[];
  private guard?: DispatchGuard;
  private watch?: DispatchWatch;

  /** @internal Use openUpcalls(). */
  constructor(
    private readonly dpif: Dpif,
    private readonly handlers: HandlerSocket[],
    /** The counters the handler sockets write into. */
    private readonly tally: HandlerTally,
    private readonly opts: UpcallOptions & typeof DEFAULTS,
    private readonly baseStats: DpStats | undefined,
    state: DispatchState,
    fallbackReason: string | undefined,
  ) {
    this.dispatch = state.mode;
    this.fallbackReason = fallbackReason;
    this.dpIfindex = state.dpIfindex;
    this.portIds = handlers.map((h) => h.portId);
    this.receiveBufferBytes = handlers[0].receiveBufferBytes;
    this.state = state;
    if (!opts.onBatch) {
      this.queue = new UpcallQueue<Upcall>(opts.queueLimit, opts.queueLimit >> 1, () => this.onQueueDrained(), () => this.close());
    }
    this.readers = handlers.map((h) => () => this.onReadable(h));
    this.deliverers = handlers.map((h) => (this.queue ? this.enqueue : (batch: Upcall[]) => this.runBatch(batch, h.index)));
  }

  /** Live counters. */
  get stats(): UpcallStats {
    const t = this.tally;
    return {
      received: t.received,
      handled: this.queue ? this.queue.taken : this.handledCount,
      queued: this.queue?.length ?? 0,
      lost: t.lost,
      malformed: t.malformed,
      truncated: t.truncated,
      foreign: t.foreign,
      pauses: this.pauseCount,
      reasserted: this.guard?.reasserted ?? 0,
    };
  }

  /**
   * Upcall pids to give a vport created while listening, so that it sends
   * upcalls from its first packet (the guard would set them a moment later).
   * Per-CPU dispatch ignores vport pids: [0] there, leaving nothing of ours
   * behind after close.
   */
  get vportUpcallPids(): number[] {
    return this.dispatch === 'per-vport' ? [...this.portIds] : [0];
  }

  /**
   * A pid for OVS_USERSPACE_ATTR_PID of a userspace action. The kernel
   * requires one; with per-CPU dispatch it ignores it and uses the CPU's.
   */
  get userspacePid(): number {
    return this.portIds[0];
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  [Symbol.asyncIterator](): AsyncIterator<Upcall> {
    if (!this.queue) throw new TypeError('upcalls: opened with onBatch, so there is no iterator');
    return this.queue;
  }

  /** Stops reading the sockets (the kernel queues, then drops and counts). */
  pause(): void {
    this.userPaused = true;
    this.updateReading();
  }

  resume(): void {
    this.userPaused = false;
    this.updateReading();
  }

  /** Whether the sockets keep the process alive. */
  setKeepAlive(keep: boolean): void {
    for (const h of this.handlers) h.setKeepAlive(keep);
    this.watch?.setKeepAlive(keep);
  }

  /** The datapath's hit/missed/lost counters since open (one GET). */
  async kernelStats(): Promise<KernelUpcallStats> {
    const now = (await this.dpif.getDatapath(this.dpIfindex)).stats;
    const base = this.baseStats;
    return {
      hit: (now?.hit ?? 0n) - (base?.hit ?? 0n),
      missed: (now?.missed ?? 0n) - (base?.missed ?? 0n),
      lost: (now?.lost ?? 0n) - (base?.lost ?? 0n),
    };
  }

  /**
   * Restores the datapath's dispatch settings (features as they were, our
   * pids replaced by 0), then closes the sockets. No callback runs after
   * close() is called. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown(false);
    return this.closing;
  }

  /** @internal */
  startGuard(watch: DispatchWatch | undefined, guard: DispatchGuard | undefined): void {
    this.watch = watch;
    this.guard = guard;
  }

  /** @internal The datapath is gone: nothing to restore. */
  datapathGone(): void {
    if (this.closing) return;
    const err = new NetlinkError({ errno: 19 /* ENODEV */, operation: `upcalls: datapath ${this.dpIfindex} was deleted` });
    this.closing = this.shutdown(true, err);
  }

  /** @internal */
  startReading(): void {
    this.updateReading();
  }

  private async shutdown(gone: boolean, err?: Error): Promise<void> {
    for (const h of this.handlers) h.unwatch();
    this.watch?.close();
    await this.guard?.stop();
    try {
      if (!gone) await restoreDispatch(this.dpif, this.state);
    } catch (e) {
      // A datapath deleted meanwhile needs no restoring.
      if (!(e instanceof NetlinkError && (e.code === 'ENODEV' || e.code === 'ENOENT'))) throw e;
    } finally {
      for (const h of this.handlers) h.close();
      this.queue?.end(err);
      if (err && !this.queue) this.reportError(err);
    }
  }

  private updateReading(): void {
    const read = !this.closing && !this.userPaused && !this.backpressured;
    for (let i = 0; i < this.handlers.length; i++) {
      if (read) this.handlers[i].watch(this.readers[i]);
      else this.handlers[i].unwatch();
    }
  }

  private stopForBackpressure(): void {
    if (this.backpressured) return;
    this.backpressured = true;
    this.pauseCount++;
    this.updateReading();
  }

  private releaseBackpressure(): void {
    if (!this.backpressured) return;
    this.backpressured = false;
    this.updateReading();
  }

  private onQueueDrained(): void {
    if (this.backpressured) this.releaseBackpressure();
  }

  private onReadable(h: HandlerSocket): void {
    const deliver = this.deliverers[h.index];
    // A bounded number of reads per wake-up: libuv polls level-triggered and
    // comes back while data remains, after the other sockets and timers.
    for (let i = 0; i < this.opts.maxBatchesPerWake; i++) {
      if (this.closing || this.userPaused || this.backpressured) return;
      let n: number;
      try {
        n = h.readBatch(deliver);
      } catch (e) {
        this.reportError(e instanceof Error ? e : new Error(String(e)));
        return;
      }
      if (n < h.batch) return;
    }
  }

  private readonly enqueue = (batch: Upcall[]): void => {
    const q = this.queue!;
    for (let i = 0; i < batch.length; i++) q.push(copyUpcall(batch[i]));
    if (q.full) this.stopForBackpressure();
  };

  private runBatch(batch: Upcall[], index: number): void {
    const n = batch.length;
    let r: void | Promise<void>;
    try {
      r = this.opts.onBatch!(batch, index);
    } catch (e) {
      this.handledCount += n;
      this.reportError(e instanceof Error ? e : new Error(String(e)));
      return;
    }
    if (!(r instanceof Promise)) {
      this.handledCount += n;
      return;
    }
    this.pendingBatches++;
    if (this.pendingBatches >= this.opts.maxPendingBatches) this.stopForBackpressure();
    r.then(
      () => undefined,
      (e: unknown) => this.reportError(e instanceof Error ? e : new Error(String(e))),
    ).finally(() => {
      this.handledCount += n;
      this.pendingBatches--;
      if (this.pendingBatches < this.opts.maxPendingBatches) this.releaseBackpressure();
    });
  }

  /**
   * @internal Without onError, an iterator fails with the error (and the
   * channel closes); a callback consumer gets it thrown, as from an
   * EventEmitter without an 'error' listener.
   */
  reportError(err: Error): void {
    if (this.opts.onError) {
      this.opts.onError(err);
    } else if (this.queue) {
      this.queue.end(err);
      void this.close().catch(() => undefined);
    } else {
      queueMicrotask(() => {
        throw err;
      });
    }
  }
}

/**
 * Opens handler sockets for a datapath's upcalls and registers them with the
 * kernel (see UpcallOptions.dispatch). Close the result to give the datapath
 * back as it was.
 */
export async function openUpcalls(dpif: Dpif, datapath: DpRef, options: UpcallOptions = {}): Promise<Upcalls> {
  const cpus = options.cpus ?? possibleCpus();
  const opts = { ...DEFAULTS, ...definedOnly(options) };
  const count = options.handlers ?? Math.min(4, cpus.length);
  for (const [name, v, min] of [
    ['handlers', count, 1],
    ['batch', opts.batch, 1],
    ['slotBytes', opts.slotBytes, 64],
    ['maxBatchesPerWake', opts.maxBatchesPerWake, 1],
    ['queueLimit', opts.queueLimit, 1],
    ['maxPendingBatches', opts.maxPendingBatches, 1],
  ] as const) {
    if (!(Number.isInteger(v) && v >= min)) throw new RangeError(`upcalls: ${name} must be an integer of at least ${min}, got ${v}`);
  }
  const dp = await dpif.getDatapath(datapath);
  const families = hasFamilies(dpif) ? dpif.families : undefined;
  const handlers: HandlerSocket[] = [];
  const tally: HandlerTally = { received: 0, lost: 0, truncated: 0, foreign: 0, malformed: 0 };
  let watch: DispatchWatch | undefined;
  let state: DispatchState | undefined;
  // Events that arrive while dispatch is being set up are judged once it is.
  let early = false;
  let channel: Upcalls | undefined;
  let guard: DispatchGuard | undefined;
  try {
    for (let i = 0; i < count; i++) {
      handlers.push(new HandlerSocket(i, { receiveBufferBytes: opts.receiveBufferBytes, batch: opts.batch, slotBytes: opts.slotBytes, familyId: families?.packet.id }, tally));
    }
    const pids = handlers.map((h) => h.portId);
    // Listening before any vport is listed, so that none added meanwhile is missed.
    if (families && opts.guard !== false) {
      watch = new DispatchWatch(families, dp.dpIfindex, {
        onDatapath: (a) => (guard ? guard.onDatapath(a) : (early = true)),
        onVport: (a) => (guard ? guard.onVport(a) : (early = true)),
        onLost: () => (guard ? guard.onLost() : (early = true)),
        onDatapathGone: () => channel?.datapathGone(),
        onError: (err) => channel?.reportError(err),
      });
    }
    const choice = options.dispatch ?? 'auto';
    let fallbackReason: string | undefined;
    if (choice === 'per-vport') {
      state = await applyPerVport(dpif, dp, pids);
    } else {
      try {
        state = await applyPerCpu(dpif, dp, pids, cpus);
      } catch (err) {
        if (choice === 'per-cpu' || !(err instanceof PerCpuRefusedError)) throw err;
        fallbackReason = err.message;
        state = await applyPerVport(dpif, dp, pids);
      }
    }
    channel = new Upcalls(dpif, handlers, tally, opts, dp.stats, state, fallbackReason);
    const reportError = channel.reportError.bind(channel);
    if (watch) guard = new DispatchGuard(dpif, state, reportError);
    channel.startGuard(watch, guard);
    if (early) guard?.onLost();
    if (options.keepAlive === false) channel.setKeepAlive(false);
    channel.startReading();
    return channel;
  } catch (err) {
    watch?.close();
    if (state) await restoreDispatch(dpif, state).catch(() => undefined);
    for (const h of handlers) h.close();
    throw err;
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
