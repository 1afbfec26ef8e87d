// Registering handler sockets with the kernel, and undoing it. Two ways:
//
// - per-vport: each vport's OVS_VPORT_ATTR_UPCALL_PID holds the handlers'
//   port ids; the kernel picks one by the packet's skb hash, so a flow stays
//   on one socket. Vports added later need the same (see upcall-watch.ts).
// - per-CPU (Linux 5.14+): OVS_DP_F_DISPATCH_UPCALL_PER_CPU on the datapath
//   and OVS_DP_ATTR_PER_CPU_PIDS, one pid per CPU id; the kernel sends an
//   upcall to the pid of the CPU that received the packet, for every vport
//   and for userspace actions too (it then ignores the action's own pid).
//
// The datapath's user features are a whole that a SET replaces, so every
// change here re-sends the current ones with only the dispatch bits changed,
// and reads the result back rather than trusting the request.
import { NetlinkError } from '../netlink/errors.js';
import * as U from '../ovs/uapi.js';
import type { Datapath, Dpif, Vport } from './dpif.js';
import { perCpuPidArray } from './upcall-cpus.js';

export type DispatchMode = 'per-cpu' | 'per-vport';

/** What openUpcalls set up, and what close() restores. */
export interface DispatchState {
  mode: DispatchMode;
  dpIfindex: number;
  /** User features before we changed them. */
  originalFeatures: number;
  /** User features in force while we listen. */
  features: number;
  /** per-CPU: the array set, indexed by CPU id. */
  perCpuPids?: number[];
  /** The handlers' port ids; per-vport, every vport gets all of them. */
  handlerPids: number[];
}

/** The kernel did not take per-CPU dispatch; the message says how it refused. */
export class PerCpuRefusedError extends Error {
  override readonly name = 'PerCpuRefusedError';
  readonly code = 'EPERCPU';
}

const sameArray = (a: readonly number[] | undefined, b: readonly number[]): boolean => !!a && a.length === b.length && a.every((x, i) => x === b[i]);

/** The user features per-vport dispatch needs, given the current ones. */
export function perVportFeatures(current: number, handlers: number): number {
  // The per-CPU bit makes the kernel ignore vport pids altogether (the trap
  // ovs-dpctl sets: any command of it switches the bit on). VPORT_PIDS only
  // changes how the kernel reports a vport's pids (all of them, not the
  // first), which the read-back below relies on.
  let f = current & ~U.OVS_DP_F_DISPATCH_UPCALL_PER_CPU;
  if (handlers > 1) f |= U.OVS_DP_F_VPORT_PIDS;
  return f >>> 0;
}

/** Whether a datapath as reported still dispatches the way `state` set up. */
export function datapathInForce(state: DispatchState, dp: Pick<Datapath, 'userFeatures' | 'perCpuPids'>): boolean {
  const f = dp.userFeatures ?? 0;
  if (state.mode === 'per-cpu') {
    // Kernels before 6.1 do not report the array; the bit is all there is to check.
    return (f & U.OVS_DP_F_DISPATCH_UPCALL_PER_CPU) !== 0 && (dp.perCpuPids === undefined || sameArray(dp.perCpuPids, state.perCpuPids ?? []));
  }
  return (f & U.OVS_DP_F_DISPATCH_UPCALL_PER_CPU) === 0 && (state.handlerPids.length === 1 || (f & U.OVS_DP_F_VPORT_PIDS) !== 0);
}

/** Whether a vport as reported sends its upcalls to our handlers. */
export function vportInForce(state: DispatchState, v: Pick<Vport, 'upcallPids'>): boolean {
  return sameArray(v.upcallPids, state.handlerPids);
}

/**
 * Switches the datapath to per-CPU dispatch to these handlers. Throws
 * PerCpuRefusedError, with the datapath's features as they were, when the
 * kernel refuses or the read-back shows it did not take.
 */
export async function applyPerCpu(dpif: Dpif, dp: Datapath, handlerPids: number[], cpus: readonly number[]): Promise<DispatchState> {
  const originalFeatures = dp.userFeatures ?? 0;
  const state: DispatchState = {
    mode: 'per-cpu',
    dpIfindex: dp.dpIfindex,
    originalFeatures,
    features: (originalFeatures | U.OVS_DP_F_DISPATCH_UPCALL_PER_CPU) >>> 0,
    perCpuPids: perCpuPidArray(cpus, handlerPids),
    handlerPids,
  };
  try {
    await dpif.setDatapath(dp.dpIfindex, { userFeatures: state.features, perCpuPids: state.perCpuPids });
  } catch (err) {
    // Kernels before 5.14 refuse the unknown feature bit (EOPNOTSUPP).
    if (err instanceof NetlinkError) throw new PerCpuRefusedError(`the kernel refused per-CPU upcall dispatch: ${err.message}`, { cause: err });
    throw err;
  }
  const after = await dpif.getDatapath(dp.dpIfindex);
  if (!datapathInForce(state, after)) {
    await dpif.setDatapath(dp.dpIfindex, { userFeatures: originalFeatures }).catch(() => undefined);
    throw new PerCpuRefusedError(
      `per-CPU upcall dispatch did not take: features read back 0x${(after.userFeatures ?? 0).toString(16)}` +
        (after.perCpuPids ? `, per-CPU pids [${after.perCpuPids.join(',')}]` : ''),
    );
  }
  return state;
}

/** A vport deleted between listing and setting it is no failure. */
export function ignoreGone(err: unknown): undefined {
  if (err instanceof NetlinkError && (err.code === 'ENODEV' || err.code === 'ENOENT')) return undefined;
  throw err;
}

/** Points one vport's upcalls at the handlers; returns the vport as the kernel now reports it. */
export function registerVport(dpif: Dpif, state: DispatchState, portNo: number): Promise<Vport> {
  return dpif.setVport(state.dpIfindex, portNo, { upcallPids: state.handlerPids });
}

/** Per-vport dispatch to these handlers, on every vport the datapath has now. */
export async function applyPerVport(dpif: Dpif, dp: Datapath, handlerPids: number[]): Promise<DispatchState> {
  const originalFeatures = dp.userFeatures ?? 0;
  const state: DispatchState = { mode: 'per-vport', dpIfindex: dp.dpIfindex, originalFeatures, features: perVportFeatures(originalFeatures, handlerPids.length), handlerPids };
  if (state.features !== originalFeatures) await dpif.setDatapath(dp.dpIfindex, { userFeatures: state.features });
  const vports = await dpif.listVports(dp.dpIfindex);
  const set = await Promise.all(vports.map((v) => registerVport(dpif, state, v.portNo).catch(ignoreGone)));
  const stray = set.find((v) => v && !vportInForce(state, v));
  if (stray) throw new Error(`per-vport upcall dispatch did not take: vport ${stray.name} reports upcall pids [${(stray.upcallPids ?? []).join(',')}] after being set to [${handlerPids.join(',')}]`);
  return state;
}

/**
 * Undoes what apply* did: the datapath's features as they were, and no pid
 * of ours left anywhere. Port ids are recycled when sockets close, so a pid
 * left behind would send upcalls to whichever socket gets it next; 0 makes
 * the kernel drop (and count) them instead.
 */
export async function restoreDispatch(dpif: Dpif, state: DispatchState): Promise<void> {
  const dp = state.dpIfindex;
  if (state.mode === 'per-cpu') {
    const zeros = (state.perCpuPids ?? [0]).map(() => 0);
    // The kernel takes the pid array only while the per-CPU bit is on.
    await dpif.setDatapath(dp, { userFeatures: (state.originalFeatures | U.OVS_DP_F_DISPATCH_UPCALL_PER_CPU) >>> 0, perCpuPids: zeros });
    if (!(state.originalFeatures & U.OVS_DP_F_DISPATCH_UPCALL_PER_CPU)) await dpif.setDatapath(dp, { userFeatures: state.originalFeatures });
    return;
  }
  const ours = new Set(state.handlerPids);
  const vports = await dpif.listVports(dp);
  const mine = vports.filter((v) => (v.upcallPids ?? []).some((p) => ours.has(p)));
  await Promise.all(mine.map((v) => dpif.setVport(dp, v.portNo, { upcallPids: [0] }).catch(ignoreGone)));
  // Compared with what is there now, not with what we set: the guard may have re-set it since.
  if (((await dpif.getDatapath(dp)).userFeatures ?? 0) !== state.originalFeatures) await dpif.setDatapath(dp, { userFeatures: state.originalFeatures });
}
