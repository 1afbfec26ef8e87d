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
import type { GenlFamily } from '../netlink/genl.js';
import type { Dpif, DpRef } from './dpif.js';
import { possibleCpus } from './upcall-cpus.js';
import { PerCpuRefusedError, applyPerCpu, applyPerVport, restoreDispatch, type DispatchState } from './upcall-dispatch.js';
import { DispatchGuard } from './upcall-guard.js';
import { Upcalls } from './upcall-channel.js';
import { UPCALL_DEFAULTS, type UpcallOptions } from './upcall-options.js';
import { HandlerSocket, type HandlerTally, type UpcallHandler } from './upcall-socket.js';
import { StreamHandlerSocket } from './upcall-stream.js';
import { userspaceSocketOf } from './daemon-link.js';
import { DispatchWatch } from './upcall-watch.js';

export { Upcalls } from './upcall-channel.js';
export { copyUpcall } from './upcall-decode.js';
export { PerCpuRefusedError, type DispatchMode } from './upcall-dispatch.js';
export type { KernelUpcallStats, UpcallBatchHandler, UpcallOptions, UpcallStats } from './upcall-options.js';

/** A Dpif that knows its generic netlink families (KernelDpif). */
interface FamilyAware {
  readonly families: { datapath: GenlFamily; vport: GenlFamily; packet: GenlFamily };
}

const hasFamilies = (d: Dpif): d is Dpif & FamilyAware => 'families' in d && typeof (d as Partial<FamilyAware>).families === 'object';

/**
 * Opens handler sockets for a datapath's upcalls and registers them with the
 * kernel (see UpcallOptions.dispatch). Close the result to give the datapath
 * back as it was.
 */
export async function openUpcalls(dpif: Dpif, datapath: DpRef, options: UpcallOptions = {}): Promise<Upcalls> {
  const cpus = options.cpus ?? possibleCpus();
  const opts = { ...UPCALL_DEFAULTS, ...definedOnly(options) };
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
  // On the userspace daemon, handler sockets are connections to it; the dispatch watch (which reads a
  // kernel socket) is not set up there.
  const daemonSocket = userspaceSocketOf(dpif);
  const handlers: UpcallHandler[] = [];
  const tally: HandlerTally = { received: 0, lost: 0, truncated: 0, foreign: 0, malformed: 0 };
  let watch: DispatchWatch | undefined;
  let state: DispatchState | undefined;
  // Events that arrive while dispatch is being set up are judged once it is.
  let early = false;
  let channel: Upcalls | undefined;
  let guard: DispatchGuard | undefined;
  try {
    for (let i = 0; i < count; i++) {
      const hopts = { receiveBufferBytes: opts.receiveBufferBytes, batch: opts.batch, slotBytes: opts.slotBytes, familyId: families?.packet.id };
      handlers.push(daemonSocket ? await StreamHandlerSocket.connect(daemonSocket, i, hopts, tally) : new HandlerSocket(i, hopts, tally));
    }
    const pids = handlers.map((h) => h.portId);
    // Listening before any vport is listed, so that none added meanwhile is missed.
    if (families && opts.guard !== false && !daemonSocket) {
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
