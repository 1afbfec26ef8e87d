// Which datapath a Dpif talks to: the kernel module when it is there, else
// ovsnl's userspace datapath daemon, started on demand. Both speak the same
// generic netlink messages, so the one Dpif class serves either; only the
// transport differs (a netlink socket, or the daemon's unix socket).
import { ModuleMissingError } from '../ovs/families.js';
import { dpdPaths, type DpdPaths } from '../userspace/dpd-paths.js';
import { markUserspaceDpif } from './daemon-link.js';
import { KernelDpif, type KernelDpifOptions } from './kernel.js';

/** auto: the kernel module if loaded, else the userspace daemon. */
export type DatapathSide = 'auto' | 'kernel' | 'userspace';

export const DATAPATH_SIDES: readonly DatapathSide[] = ['auto', 'kernel', 'userspace'];

export interface OpenDpifOptions extends Omit<KernelDpifOptions, 'connection' | 'socket'> {
  /** Default: OVSNL_DATAPATH, else 'auto'. */
  datapath?: DatapathSide;
  /** The daemon's files; default from the environment (dpdPaths()). */
  daemon?: Partial<DpdPaths>;
  /** Start the daemon when it is not running (default true). */
  startDaemon?: boolean;
  /** Called when this call started the daemon. */
  onDaemonStart?: (info: { pid?: number; socket: string; reason: 'no-module' | 'asked' }) => void;
}

/** An opened Dpif and the side it is on. */
export interface OpenedDpif {
  dpif: KernelDpif;
  side: 'kernel' | 'userspace';
}

export class DatapathSideError extends Error {
  override readonly name = 'DatapathSideError';
}

/** OVSNL_DATAPATH's value, checked. */
export function datapathSideFromEnv(env: NodeJS.ProcessEnv = process.env): DatapathSide {
  const v = env.OVSNL_DATAPATH;
  if (v === undefined || v === '') return 'auto';
  if ((DATAPATH_SIDES as readonly string[]).includes(v)) return v as DatapathSide;
  throw new DatapathSideError(`OVSNL_DATAPATH=${v}: expected auto, kernel or userspace`);
}

/** A Dpif on the userspace daemon at these paths, starting the daemon if asked to. */
export async function openUserspaceDpif(opts: OpenDpifOptions = {}, reason: 'no-module' | 'asked' = 'asked'): Promise<KernelDpif> {
  const { connectDaemon } = await import('../userspace/client.js');
  const paths = dpdPaths(process.env, opts.daemon);
  const socket = await connectDaemon(paths, {
    start: opts.startDaemon ?? true,
    onStart: (pid) => opts.onDaemonStart?.({ pid, socket: paths.socket, reason }),
    noModule: reason === 'no-module',
  });
  // The daemon has no kernel log to read reasons from: its replies carry them.
  // An ovs-vswitchd on the host manages kernel datapaths, not the daemon's: no warning about it.
  const dpif = await KernelDpif.open({ ...opts, socket, kernelLog: false, hostWarnings: { ...opts.hostWarnings, disabled: true } });
  markUserspaceDpif(dpif, paths.socket);
  return dpif;
}

/**
 * Opens a Dpif on the side asked for. In 'auto', a missing openvswitch module
 * sends it to the userspace daemon; any other kernel failure is reported as is.
 */
export async function openDpifSide(opts: OpenDpifOptions = {}): Promise<OpenedDpif> {
  const side = opts.datapath ?? datapathSideFromEnv();
  if (side === 'userspace') return { dpif: await openUserspaceDpif(opts, 'asked'), side: 'userspace' };
  try {
    return { dpif: await KernelDpif.open(opts), side: 'kernel' };
  } catch (err) {
    if (side === 'kernel' || !(err instanceof ModuleMissingError)) throw err;
  }
  return { dpif: await openUserspaceDpif(opts, 'no-module'), side: 'userspace' };
}

/** openDpifSide() for callers that do not care which side they got. */
export async function openDpif(opts: OpenDpifOptions = {}): Promise<KernelDpif> {
  return (await openDpifSide(opts)).dpif;
}
