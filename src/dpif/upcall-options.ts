// The options and counters of an upcall channel (see upcalls.ts).
import type { Upcall } from '../ovs/packet.js';
import type { DispatchMode } from './upcall-dispatch.js';

/**
 * Called with the upcalls of one receive. The array and the byte views in
 * it are reused by the next receive: copy (copyUpcall) what is kept past
 * the synchronous part of the callback. A returned promise counts against
 * maxPendingBatches until it settles.
 */
export type UpcallBatchHandler = (batch: readonly Upcall[], handler: number) => void | Promise<void>;

export interface UpcallOptions {
  /** 'auto' (default): per-CPU where the kernel takes it, else per-vport. */
  dispatch?: DispatchMode | 'auto';
  /** Handler sockets; default min(4, possible CPUs). */
  handlers?: number;
  /** Per socket, forced past rmem_max when permitted; default 8 MiB. */
  receiveBufferBytes?: number;
  /** Datagrams per recvmmsg; default 64. */
  batch?: number;
  /** Room per datagram; default 64 KiB of packet plus 8 KiB for key and attributes. */
  slotBytes?: number;
  /** recvmmsg calls per socket per event-loop turn before others get their turn; default 16. */
  maxBatchesPerWake?: number;
  /** Iterator mode: upcalls queued before reading stops; default 4096. */
  queueLimit?: number;
  /** Callback mode (no iterator): see UpcallBatchHandler. */
  onBatch?: UpcallBatchHandler;
  /** Callback mode: unsettled batch promises before reading stops; default 8. */
  maxPendingBatches?: number;
  /** Re-assert dispatch when vports are added or someone re-sets it (kernel Dpif only); default true. */
  guard?: boolean;
  /** Whether open sockets keep the process alive; default true. */
  keepAlive?: boolean;
  /** Errors after open: a handler's callback throwing, a failed re-assert. Default: iterator fails / rethrown. */
  onError?: (err: Error) => void;
  /** CPU ids per-CPU dispatch covers; default the host's possible CPUs. */
  cpus?: readonly number[];
}

/** Counters since open. */
export interface UpcallStats {
  /** Upcalls received and decoded. */
  received: number;
  /** Upcalls the consumer took (iterator) or whose batch callback finished. */
  handled: number;
  /** Waiting in the iterator's queue. */
  queued: number;
  /** ENOBUFS reports: the kernel dropped upcalls (at least one each; the exact count is kernelStats().lost). */
  lost: number;
  /** Messages that did not decode as upcalls. */
  malformed: number;
  /** Datagrams longer than a slot, dropped. */
  truncated: number;
  /** Datagrams or messages that were not upcalls from the kernel. */
  foreign: number;
  /** Times reading stopped for backpressure. */
  pauses: number;
  /** Dispatch settings found drifted and re-asserted. */
  reasserted: number;
}

/** The datapath's own counters, as deltas since open. */
export interface KernelUpcallStats {
  /** Packets that matched a flow. */
  hit: bigint;
  /** Packets that matched none (each a MISS upcall, or an attempt at one). */
  missed: bigint;
  /** Upcalls the kernel could not queue (full receive buffer, pid 0, no memory). */
  lost: bigint;
}

export const UPCALL_DEFAULTS = {
  receiveBufferBytes: 8 << 20,
  batch: 64,
  slotBytes: 65536 + 8192,
  maxBatchesPerWake: 16,
  queueLimit: 4096,
  maxPendingBatches: 8,
};

/** Options with every size filled in. */
export type ResolvedUpcallOptions = UpcallOptions & typeof UPCALL_DEFAULTS;
