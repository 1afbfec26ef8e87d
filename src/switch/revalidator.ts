// The revalidator: at every interval, one terse dump of the datapath's flows
// (UFID, stats, used; key, mask and actions are known from the install),
// then, for the flows this switch installed:
// - idle ones are deleted: `used` older than the idle timeout, or, for a flow
//   that never saw a packet, its install time;
// - past the flow limit, the idlest go first;
// - after a policy change (generation bumped), each remaining flow the
//   change can touch (all of them, unless the policy says which) is
//   re-decided: same mask and actions, kept; other actions, modified in place
//   (flow SET); another mask, deleted, so that the next miss installs the
//   right megaflow (a SET cannot change a mask).
// Flows installed by others (no UFID of ours) are left alone.
import { NetlinkError } from '../netlink/errors.js';
import * as U from '../ovs/uapi.js';
import type { Dpif, FlowPut } from '../dpif/dpif.js';
import { actionBytesOf, maskBytesOf } from './handler.js';
import type { Policy } from './policy.js';
import { bytesEqual, monotonicNowMs, ufidKey, type InstalledFlow, type InstalledFlows } from './switch-flows.js';
import { newRevalidatorStats, type RevalidatorStats } from './switch-stats.js';

export interface RevalidatorOptions {
  dpif: Dpif;
  dpIfindex: number;
  policy: Policy;
  flows: InstalledFlows;
  /** Default 10 000 ms (ovs-vswitchd's max-idle). */
  idleTimeoutMs?: number;
  /** Default 200 000 (ovs-vswitchd's flow-limit). */
  flowLimit?: number;
  /** Between the end of a pass and the next; default a quarter of the idle timeout, at most 1 s. */
  intervalMs?: number;
  now?: () => number;
  stats?: RevalidatorStats;
  onError?: (err: Error) => void;
}

/** Flows re-decided between two turns of the event loop. */
const YIELD_EVERY = 32;

const TERSE = U.OVS_UFID_F_OMIT_KEY | U.OVS_UFID_F_OMIT_MASK | U.OVS_UFID_F_OMIT_ACTIONS;

/** A flow of ours in the dump, with how long it has been idle. */
interface Seen {
  flow: InstalledFlow;
  idleMs: number;
}

export class Revalidator {
  readonly stats: RevalidatorStats;
  readonly idleTimeoutMs: number;
  readonly flowLimit: number;
  readonly intervalMs: number;
  private readonly now: () => number;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = true;
  /** UFIDs of ours missing from the last dump: gone after two misses (a put may land after a dump began). */
  private missing = new Set<string>();

  constructor(private readonly opts: RevalidatorOptions) {
    this.stats = opts.stats ?? newRevalidatorStats();
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 10_000;
    this.flowLimit = opts.flowLimit ?? 200_000;
    this.intervalMs = opts.intervalMs ?? Math.max(50, Math.min(1000, this.idleTimeoutMs / 4));
    this.now = opts.now ?? monotonicNowMs;
    for (const [name, v] of [['idle timeout', this.idleTimeoutMs], ['flow limit', this.flowLimit], ['interval', this.intervalMs]] as const) {
      if (!(Number.isFinite(v) && v >= 0)) throw new RangeError(`revalidator: ${name} must be a non-negative number, got ${v}`);
    }
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  /** Stops the timer and waits for a pass under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Runs a pass now (or waits for the one under way). */
  revalidate(): Promise<void> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.revalidate()
        .catch((err: unknown) => this.report(err))
        .finally(() => this.schedule());
      // A pass that took long (many flows to re-decide under a busy CPU) is
      // followed by as long a pause: the handlers keep at least half of it.
    }, Math.max(this.intervalMs, this.stats.lastDurationMs));
  }

  private report(err: unknown): void {
    // One dump at a time per netlink socket: another dump on the Dpif's
    // connection (a caller's dump-flows) makes this pass wait for the next.
    if (err instanceof NetlinkError && err.code === 'EBUSY') {
      this.stats.busy++;
      return;
    }
    this.stats.errors++;
    this.opts.onError?.(err instanceof Error ? err : new Error(String(err)));
  }

  /**
   * Whether the datapath still holds at least as many flows as we
   * installed: one small request instead of a dump. Fewer means someone
   * (del-flows, a flush) deleted some of ours, and only a dump tells which.
   */
  private async noneDeleted(): Promise<boolean> {
    try {
      const dp = await this.opts.dpif.getDatapath(this.opts.dpIfindex);
      return dp.stats === undefined || dp.stats.flows >= BigInt(this.opts.flows.size);
    } catch {
      return false;
    }
  }

  private async pass(): Promise<void> {
    const started = performance.now();
    const { dpif, dpIfindex, policy, flows } = this.opts;
    const s = this.stats;
    const now = this.now();
    policy.expire?.(now);
    const seen: Seen[] = [];
    // Without a dump no flow can be idle nor over the limit: all are kept,
    // and a pass under a stream of new flows costs no object per flow.
    let young: InstalledFlow[] | undefined;
    // A flow cannot have been idle for longer than it has existed: while all
    // of ours are younger than the idle timeout and within the limit, and
    // the datapath's flow count says none went, there is nothing a dump
    // could tell (a policy change is re-decided from what was installed).
    // Under a burst of new flows this spares a dump per pass.
    let oldest = now;
    for (const f of flows.values()) if (f.installedAt < oldest) oldest = f.installedAt;
    if (now - oldest < this.idleTimeoutMs && flows.size <= this.flowLimit && this.missing.size === 0 && (await this.noneDeleted())) {
      s.dumpsSkipped++;
      young = Array.from(flows.values());
    } else {
      const inDump = new Set<string>();
      for await (const f of dpif.dumpFlows(dpIfindex, { ufidFlags: TERSE })) {
        s.dumped++;
        if (!f.ufid) continue;
        const mine = flows.get(f.ufid);
        if (!mine) continue;
        inDump.add(ufidKey(f.ufid));
        const since = f.used !== undefined && f.used > 0n ? Number(f.used) : mine.installedAt;
        seen.push({ flow: mine, idleMs: Math.max(0, now - since) });
      }
      // Ours but not dumped: deleted by someone else (del-flows), or put after the dump passed its place.
      const missing = new Set<string>();
      for (const f of flows.values()) {
        const id = ufidKey(f.ufid);
        if (inDump.has(id)) continue;
        if (this.missing.has(id)) flows.delete(f.ufid);
        else missing.add(id);
      }
      this.missing = missing;
    }

    const doomed: InstalledFlow[] = [];
    let keep: Seen[] = [];
    for (const x of seen) {
      if (x.idleMs >= this.idleTimeoutMs) {
        doomed.push(x.flow);
        s.deletedIdle++;
      } else {
        keep.push(x);
      }
    }
    if (keep.length > this.flowLimit) {
      keep.sort((a, b) => b.idleMs - a.idleMs);
      const excess = keep.length - this.flowLimit;
      for (let i = 0; i < excess; i++) doomed.push(keep[i].flow);
      s.deletedLimit += excess;
      keep = keep.slice(excess);
    }

    const kept: InstalledFlow[] = young ?? keep.map((x) => x.flow);
    const generation = policy.generation;
    // What changed since the oldest decision kept covers what changed since
    // each one: a learned MAC touches only the flows towards it, and
    // re-deciding every flow after every new MAC would cost each pass the
    // whole table under a stream of new sources.
    let oldestGeneration = generation;
    for (const flow of kept) if (flow.generation < oldestGeneration) oldestGeneration = flow.generation;
    const affected = oldestGeneration === generation ? undefined : policy.affectedSince?.(oldestGeneration);
    const modifies: FlowPut[] = [];
    const modified: { flow: InstalledFlow; actions: Uint8Array }[] = [];
    let sinceYield = 0;
    for (const flow of kept) {
      if (flow.generation === generation) continue;
      if (affected && !affected(flow.typedKey)) {
        flow.generation = generation;
        s.unaffected++;
        continue;
      }
      // Handlers get the event loop between slices: a policy change must not stall the misses.
      if (++sinceYield === YIELD_EVERY) {
        sinceYield = 0;
        await new Promise((r) => setImmediate(r));
      }
      s.revalidated++;
      let mask: Uint8Array;
      let actions: Uint8Array;
      let reason: string;
      try {
        const d = policy.decide(flow.typedKey);
        mask = maskBytesOf(d.mask);
        actions = actionBytesOf(d.actions);
        reason = d.reason;
      } catch (err) {
        // A policy that cannot decide any more: the flow must not outlive that.
        this.report(err);
        doomed.push(flow);
        continue;
      }
      if (!bytesEqual(mask, flow.mask)) {
        doomed.push(flow);
        s.deletedMask++;
      } else if (!bytesEqual(actions, flow.actions)) {
        modifies.push({ key: flow.key, mask: flow.mask, actions, ufid: flow.ufid, mode: 'modify' });
        modified.push({ flow, actions });
        flow.reason = reason;
      } else {
        flow.generation = generation;
      }
    }

    const deleting = doomed.map((f) =>
      dpif.deleteFlow(dpIfindex, { ufid: f.ufid }).then(
        () => flows.delete(f.ufid),
        (err: unknown) => {
          if (err instanceof NetlinkError && err.code === 'ENOENT') flows.delete(f.ufid);
          else this.report(err);
        },
      ),
    );
    const results = modifies.length ? await dpif.putFlows(dpIfindex, modifies) : [];
    for (let i = 0; i < results.length; i++) {
      const r = results[i];
      const { flow, actions } = modified[i];
      if (r.ok) {
        flow.actions = actions;
        flow.generation = generation;
        s.modified++;
      } else if (r.error instanceof NetlinkError && r.error.code === 'ENOENT') {
        flows.delete(flow.ufid);
      } else {
        this.report(r.error);
      }
    }
    await Promise.all(deleting);
    s.passes++;
    s.flows = flows.size;
    s.lastDurationMs = performance.now() - started;
    s.maxDurationMs = Math.max(s.maxDurationMs, s.lastDurationMs);
  }
}
