// The channel openUpcalls returns: reads the handler sockets when libuv
// says they are readable, hands the upcalls to the consumer (iterator or
// batch callback), applies backpressure by not reading, and gives the
// datapath back on close.
import { NetlinkError } from '../netlink/errors.js';
import type { Upcall } from '../ovs/packet.js';
import type { DpStats } from '../ovs/structs.js';
import type { Dpif } from './dpif.js';
import { copyUpcall } from './upcall-decode.js';
import { restoreDispatch, type DispatchMode, type DispatchState } from './upcall-dispatch.js';
import type { DispatchGuard } from './upcall-guard.js';
import type { KernelUpcallStats, ResolvedUpcallOptions, UpcallStats } from './upcall-options.js';
import { UpcallQueue } from './upcall-queue.js';
import type { HandlerTally, UpcallHandler } from './upcall-socket.js';
import type { DispatchWatch } from './upcall-watch.js';

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
  private readonly readers: ((err?: Error) => void)[];
  private readonly deliverers: ((batch: Upcall[]) => void)[];
  private guard?: DispatchGuard;
  private watch?: DispatchWatch;

  /** @internal Use openUpcalls(). */
  constructor(
    private readonly dpif: Dpif,
    private readonly handlers: UpcallHandler[],
    /** The counters the handler sockets write into. */
    private readonly tally: HandlerTally,
    private readonly opts: ResolvedUpcallOptions,
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
    this.readers = handlers.map((h) => (err?: Error) => this.onReadable(h, err));
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

  private onReadable(h: UpcallHandler, err?: Error): void {
    if (err) {
      this.reportError(err);
      return;
    }
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
