// Datapath user features, negotiated as ovs-vswitchd's dpif_netlink_open
// does (peer-behaviour.md point 1), with two differences that matter:
//
// - Detection is side-effect free. A datapath NEW under a name that is
//   already taken runs the kernel's feature check (ovs_dp_change) before it
//   fails to create the netdev: EOPNOTSUPP means "bit refused", EEXIST means
//   "bit accepted", and nothing changes either way. ovs-vswitchd instead SETs
//   the bits on the live datapath.
// - It runs when ovsnl creates a datapath, or when asked; never when a
//   datapath is merely opened or read, where ovs-dpctl's open switches a
//   per-vport datapath to per-CPU dispatch and loses its upcalls.
import * as U from '../ovs/uapi.js';
import type { DatapathFeatures } from './features.js';

/** OVS's OVS_DP_F_UNSUPPORTED: a bit no kernel defines, to catch kernels that take anything. */
export const OVS_DP_F_UNSUPPORTED = 0x80000000;

/** What ovs-vswitchd falls back to on kernels without feature checks, and ovsnl's default. */
export const STANDARD_USER_FEATURES = U.OVS_DP_F_UNALIGNED | U.OVS_DP_F_VPORT_PIDS;
export const PER_CPU_USER_FEATURES = U.OVS_DP_F_UNALIGNED | U.OVS_DP_F_DISPATCH_UPCALL_PER_CPU;

/** How the datapath addresses upcalls: a port id per CPU, or per vport (OVS_VPORT_ATTR_UPCALL_PID). */
export type UpcallDispatch = 'per-cpu' | 'per-vport';

export function dispatchOf(userFeatures: number): UpcallDispatch {
  return userFeatures & U.OVS_DP_F_DISPATCH_UPCALL_PER_CPU ? 'per-cpu' : 'per-vport';
}

export interface DatapathProbeTarget {
  /**
   * A datapath NEW with these features under `takenName`, a name some netdev
   * already has: true if the kernel took the features (it then fails with
   * EEXIST), false if it refused them (EOPNOTSUPP).
   */
  tryUserFeatures(takenName: string, userFeatures: number): Promise<boolean>;
}

export async function probeDatapathFeatures(target: DatapathProbeTarget, takenName: string): Promise<DatapathFeatures> {
  const [bogus, perCpu] = await Promise.all([
    target.tryUserFeatures(takenName, (STANDARD_USER_FEATURES | OVS_DP_F_UNSUPPORTED) >>> 0),
    target.tryUserFeatures(takenName, PER_CPU_USER_FEATURES),
  ]);
  // A kernel that takes a bit nobody defined would take per-CPU dispatch too,
  // implemented or not: trust none of its answers.
  if (bogus) return { rejectsUnknownUserFeatures: false, perCpuDispatch: false };
  return { rejectsUnknownUserFeatures: true, perCpuDispatch: perCpu };
}
