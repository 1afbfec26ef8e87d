// The userspace half, wired: upcall sockets feeding a handler, a
// revalidator on a timer, the datapath's ports mirrored from vport
// notifications, and one policy deciding. start() brings it up, stop() puts
// the datapath back as it was (upcall pids reset, this run's flows deleted).
import type { Dpif, DpRef } from '../dpif/dpif.js';
import type { OvsEvents, OvsEventsOptions } from '../dpif/events.js';
import { openUpcalls, type Upcalls, type UpcallStats } from '../dpif/upcalls.js';
import { NetlinkError } from '../netlink/errors.js';
import type { Upcall } from '../ovs/packet.js';
import { UpcallHandler } from './handler.js';
import type { Policy } from './policy.js';
import { Revalidator } from './revalidator.js';
import { InstalledFlows } from './switch-flows.js';
import type { HandlerStats, RevalidatorStats } from './switch-stats.js';

/** What a policy may ask of the running switch. */
export interface SwitchContext {
  /** The datapath's port numbers now, local port included, sorted. */
  ports(): readonly number[];
}

export interface SwitchOptions {
  dpif: Dpif;
  datapath: DpRef;
  /** Made once the ports are known; a learning switch floods to ctx.ports(). */
  policy: (ctx: SwitchContext) => Policy;
  /** Handler sockets; default the upcall channel's (min(4, CPUs)). */
  handlers?: number;
  idleTimeoutMs?: number;
  flowLimit?: number;
  revalidateIntervalMs?: number;
  /** Tests only: hold each upcall batch this long, to make the kernel drop upcalls. */
  handlerDelayMs?: number;
  /** Upcall socket receive buffer; default the channel's 8 MiB. */
  receiveBufferBytes?: number;
  /** Batches handled at once before the sockets are left unread; default the channel's 8. */
  maxPendingBatches?: number;
  onError?: (err: Error) => void;
  onActionUpcall?: (u: Upcall) => void;
  /** After the port list changed. */
  onPorts?: (ports: readonly number[]) => void;
}

export interface SwitchStats {
  ports: number;
  /** Flows of this run the switch knows to be installed. */
  flows: number;
  upcalls: UpcallStats;
  handler: HandlerStats;
  revalidator: RevalidatorStats;
}

/** KernelDpif's notification stream; other Dpifs mirror ports only at start. */
interface EventSource {
  events(opts?: Omit<OvsEventsOptions, 'families'>): Promise<OvsEvents>;
}
const hasEvents = (d: Dpif): d is Dpif & EventSource => typeof (d as Partial<EventSource>).events === 'function';

export class Switch {
  private events?: OvsEvents;
  private upcalls?: Upcalls;
  private stopping?: Promise<number>;
  private reading?: Promise<void>;
  private rereadAgain = false;

  private constructor(
    private readonly opts: SwitchOptions,
    readonly dpIfindex: number,
    readonly policy: Policy,
    readonly flows: InstalledFlows,
    /** Shared with the policy's context, which reads it live. */
    private readonly portsRef: { current: readonly number[] },
    private readonly handler: UpcallHandler,
    private readonly revalidator: Revalidator,
  ) {}

  static async start(opts: SwitchOptions): Promise<Switch> {
    const { dpif } = opts;
    const dp = await dpif.getDatapath(opts.datapath);
    const flows = new InstalledFlows();
    const portsRef = { current: [] as readonly number[] };
    const policy = opts.policy({ ports: () => portsRef.current });
    const onError = opts.onError ?? ((err: Error) => queueMicrotask(() => { throw err; }));
    const handler = new UpcallHandler({
      dpif, dpIfindex: dp.dpIfindex, policy, flows, delayMs: opts.handlerDelayMs, flowLimit: opts.flowLimit, onActionUpcall: opts.onActionUpcall, onError,
    });
    const revalidator = new Revalidator({
      dpif, dpIfindex: dp.dpIfindex, policy, flows, idleTimeoutMs: opts.idleTimeoutMs, flowLimit: opts.flowLimit, intervalMs: opts.revalidateIntervalMs, onError,
    });
    const sw = new Switch(opts, dp.dpIfindex, policy, flows, portsRef, handler, revalidator);
    try {
      // Listening before the first read, so that no port added meanwhile is missed.
      if (hasEvents(dpif)) {
        sw.events = await dpif.events({ groups: ['vport'] });
        sw.events.on((e) => {
          if (e.family === 'overrun' || (e.family === 'vport' && e.dpIfindex === dp.dpIfindex)) void sw.rereadPorts();
        });
      }
      await sw.rereadPorts();
      sw.upcalls = await openUpcalls(dpif, dp.dpIfindex, {
        handlers: opts.handlers,
        onBatch: handler.onBatch,
        onError,
        receiveBufferBytes: opts.receiveBufferBytes,
        maxPendingBatches: opts.maxPendingBatches,
      });
      revalidator.start();
      return sw;
    } catch (err) {
      sw.events?.close();
      throw err;
    }
  }

  get ports(): readonly number[] {
    return this.portsRef.current;
  }

  /** The upcall channel's vport pids, for ports created while running. */
  get upcallChannel(): Upcalls | undefined {
    return this.upcalls;
  }

  get stats(): SwitchStats {
    return {
      ports: this.portsRef.current.length,
      flows: this.flows.size,
      upcalls: this.upcalls?.stats ?? { received: 0, handled: 0, queued: 0, lost: 0, malformed: 0, truncated: 0, foreign: 0, pauses: 0, reasserted: 0 },
      handler: this.handler.stats,
      revalidator: this.revalidator.stats,
    };
  }

  /** A revalidation pass now (after a policy change, say), besides the timer's. */
  revalidate(): Promise<void> {
    return this.revalidator.revalidate();
  }

  /** Re-reads the datapath's ports; calls coalesce while one read is under way. */
  rereadPorts(): Promise<void> {
    if (this.reading) {
      this.rereadAgain = true;
      return this.reading;
    }
    this.reading = (async () => {
      do {
        this.rereadAgain = false;
        const vports = await this.opts.dpif.listVports(this.dpIfindex);
        const next = vports.map((v) => v.portNo).sort((a, b) => a - b);
        const changed = next.length !== this.portsRef.current.length || next.some((p, i) => p !== this.portsRef.current[i]);
        this.portsRef.current = next;
        if (changed) this.opts.onPorts?.(next);
      } while (this.rereadAgain);
    })()
      .catch((err: unknown) => {
        // The datapath going away ends the switch's use, not the process.
        if (!(err instanceof NetlinkError && (err.code === 'ENODEV' || err.code === 'ENOENT'))) this.opts.onError?.(err instanceof Error ? err : new Error(String(err)));
      })
      .finally(() => (this.reading = undefined));
    return this.reading;
  }

  /**
   * Stops reading upcalls, gives the datapath its upcall settings back and
   * deletes the flows this run installed. Resolves with how many were
   * deleted. Idempotent.
   */
  stop(): Promise<number> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<number> {
    this.events?.close();
    await this.revalidator.stop();
    await this.upcalls?.close();
    // Batches under way may still install flows: those are deleted too.
    await this.handler.settled();
    await this.reading;
    let deleted = 0;
    const gone = (err: unknown): boolean => err instanceof NetlinkError && (err.code === 'ENOENT' || err.code === 'ENODEV');
    const report = (err: unknown): void => {
      if (!gone(err)) this.opts.onError?.(err instanceof Error ? err : new Error(String(err)));
    };
    // No echo: the flows' last stats are not wanted, and a delete that works then sends nothing back.
    const ids = [...this.flows.values()].map((f) => ({ ufid: f.ufid }));
    const results = ids.length ? await this.opts.dpif.deleteFlows(this.dpIfindex, ids, { stats: false }).catch((err: unknown) => (report(err), [])) : [];
    for (const r of results) {
      if (r instanceof Error) report(r);
      else deleted++;
    }
    return deleted;
  }
}
