// Warnings a Dpif gives before it changes kernel state: today, that an
// ovs-vswitchd runs on the host (it deletes datapaths it does not own when it
// starts). Never a refusal: the operator may know what they are doing.
// Scanning /proc costs a read per process, so writes other than datapath
// creation look again at most every `intervalMs`; each distinct warning is
// given once.
import { vswitchdWarning } from './vswitchd.js';

export interface HostWarningsOptions {
  /** Where to look for processes (tests point it at a fake tree). */
  procRoot?: string;
  /** Least time between two scans for writes other than datapath creation. */
  intervalMs?: number;
  /** Turn the checks off (a caller that has already warned, or runs inside OVS's own tests). */
  disabled?: boolean;
}

export class HostWarnings {
  /** Every warning given, oldest first. */
  readonly list: string[] = [];
  onWarning?: (warning: string) => void;
  private lastScan = -Infinity;
  private readonly procRoot: string;
  private readonly intervalMs: number;
  private readonly disabled: boolean;

  constructor(opts: HostWarningsOptions = {}) {
    this.procRoot = opts.procRoot ?? '/proc';
    this.intervalMs = opts.intervalMs ?? 10_000;
    this.disabled = opts.disabled ?? false;
  }

  /** Called before a write; `force` scans regardless of the interval (datapath creation). */
  beforeWrite(force = false): void {
    if (this.disabled) return;
    const now = Date.now();
    if (!force && now - this.lastScan < this.intervalMs) return;
    this.lastScan = now;
    const w = vswitchdWarning(this.procRoot);
    if (w) this.give(w);
  }

  /** Records a warning (once) and hands it to onWarning. */
  give(warning: string): void {
    if (this.list.includes(warning)) return;
    this.list.push(warning);
    this.onWarning?.(warning);
  }
}
