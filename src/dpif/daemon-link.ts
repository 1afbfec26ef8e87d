// Which Dpifs talk to ovsnl's userspace datapath daemon, and at which socket:
// what needs more connections of the same kind (upcall handler sockets) asks
// here. A WeakMap, so the mark goes with the Dpif.
import type { Dpif } from './dpif.js';

const sockets = new WeakMap<Dpif, string>();

export function markUserspaceDpif(dpif: Dpif, socketPath: string): void {
  sockets.set(dpif, socketPath);
}

/** The daemon socket this Dpif talks over; undefined for the kernel's. */
export function userspaceSocketOf(dpif: Dpif): string | undefined {
  return sockets.get(dpif);
}
