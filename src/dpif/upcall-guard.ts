// Keeps the dispatch that openUpcalls set up in force while the channel is
// open: when a notification shows a datapath or vport no longer sending
// upcalls to the handlers (or notifications were lost), it reads the state
// back and re-asserts what drifted. Re-checks run at most once a second, so
// two listeners fighting over one datapath cost a request a second each, not
// a busy loop; `reasserted` counts the corrections.
import type { DatapathAttrs } from '../ovs/datapath.js';
import * as U from '../ovs/uapi.js';
import type { VportAttrs } from '../ovs/vport.js';
import type { Dpif } from './dpif.js';
import { datapathInForce, ignoreGone, perVportFeatures, registerVport, vportInForce, type DispatchState } from './upcall-dispatch.js';

const MIN_INTERVAL_MS = 1000;

export class DispatchGuard {
  /** Settings found drifted and set again. */
  reasserted = 0;
  private lastRun = -Infinity;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;

  constructor(
    private readonly dpif: Dpif,
    private readonly state: DispatchState,
    private readonly onError: (err: Error) => void,
  ) {}

  onDatapath(attrs: DatapathAttrs): void {
    if (!datapathInForce(this.state, attrs)) this.schedule();
  }

  onVport(attrs: VportAttrs): void {
    if (this.state.mode === 'per-vport' && !vportInForce(this.state, attrs)) this.schedule();
  }

  onLost(): void {
    this.schedule();
  }

  /** No more re-checks; resolves when one in progress has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) return;
    const wait = Math.max(0, this.lastRun + MIN_INTERVAL_MS - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.run();
    }, wait);
    this.timer.unref();
  }

  private run(): void {
    if (this.stopped) return;
    this.lastRun = Date.now();
    this.again = false;
    this.running = this.recheck()
      .catch((err: unknown) => {
        if (!this.stopped) this.onError(err instanceof Error ? err : new Error(String(err)));
      })
      .finally(() => {
        this.running = undefined;
        if (this.again) this.schedule();
      });
  }

  private async recheck(): Promise<void> {
    const s = this.state;
    const dp = await this.dpif.getDatapath(s.dpIfindex);
    if (this.stopped) return;
    if (!datapathInForce(s, dp)) {
      // Other feature bits someone set on purpose are kept; only dispatch is put back.
      const current = dp.userFeatures ?? 0;
      if (s.mode === 'per-cpu') {
        await this.dpif.setDatapath(s.dpIfindex, { userFeatures: (current | U.OVS_DP_F_DISPATCH_UPCALL_PER_CPU) >>> 0, perCpuPids: s.perCpuPids });
      } else {
        await this.dpif.setDatapath(s.dpIfindex, { userFeatures: perVportFeatures(current, s.handlerPids.length) });
      }
      this.reasserted++;
    }
    if (s.mode !== 'per-vport' || this.stopped) return;
    const vports = await this.dpif.listVports(s.dpIfindex);
    const drifted = vports.filter((v) => !vportInForce(s, v));
    if (this.stopped) return;
    await Promise.all(drifted.map((v) => registerVport(this.dpif, s, v.portNo).catch(ignoreGone)));
    this.reasserted += drifted.length;
  }
}
