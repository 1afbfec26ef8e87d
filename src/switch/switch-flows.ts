// The flows this switch installed, by UFID: what the revalidator needs to
// re-decide a flow (its typed key), to put it back (key, mask, actions as
// sent), to age a flow that never saw a packet (install time), and what
// stop() deletes. The kernel's dump gives back only the masked key of a
// flow known by UFID, so the key as it came up is kept here.
import type { FlowKey } from '../ovs/keys.js';
import { ufidMapKey, type Ufid } from '../ovs/ufid.js';

export interface InstalledFlow {
  ufid: Ufid;
  /** OVS_KEY_ATTR_* stream of the upcall the flow was made for. */
  key: Uint8Array;
  typedKey: FlowKey;
  mask: Uint8Array;
  actions: Uint8Array;
  /** Policy generation the decision was made under. */
  generation: number;
  /** Kernel monotonic clock, ms. */
  installedAt: number;
  reason: string;
}

/** UFID bytes as a map key. */
export const ufidKey: (u: Ufid) => string = ufidMapKey;

export class InstalledFlows {
  private readonly flows = new Map<string, InstalledFlow>();

  get size(): number {
    return this.flows.size;
  }

  add(f: InstalledFlow): void {
    this.flows.set(ufidKey(f.ufid), f);
  }

  get(ufid: Ufid): InstalledFlow | undefined {
    return this.flows.get(ufidKey(ufid));
  }

  delete(ufid: Ufid): void {
    this.flows.delete(ufidKey(ufid));
  }

  values(): IterableIterator<InstalledFlow> {
    return this.flows.values();
  }
}

/** The kernel's monotonic clock in ms: the clock of flows' `used` (libuv's hrtime is CLOCK_MONOTONIC). */
export const monotonicNowMs = (): number => Number(process.hrtime.bigint() / 1_000_000n);

export const bytesEqual = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && Buffer.compare(a, b) === 0;
