// Reaching the userspace datapath daemon as a client: connect to its socket,
// starting the daemon first when nobody answers there (and we may).
import { UnixTransport } from '../netlink/unix-transport.js';
import { isServing } from './control-server.js';
import type { DpdPaths } from './dpd-paths.js';
import { startDaemonProcess } from './launcher.js';

export class DaemonUnavailableError extends Error {
  override readonly name = 'DaemonUnavailableError';
}

export interface ConnectDaemonOptions {
  /** Start the daemon if nobody answers on the socket (default true). */
  start?: boolean;
  /** Called after this call started the daemon. */
  onStart?: (pid: number | undefined) => void;
  /** The kernel module is missing (said in errors, so the user knows why the daemon was wanted). */
  noModule?: boolean;
}

export async function connectDaemon(paths: DpdPaths, opts: ConnectDaemonOptions = {}): Promise<UnixTransport> {
  const why = opts.noModule ? 'no openvswitch kernel module, and ' : '';
  if (!(await isServing(paths.socket))) {
    if (opts.start === false) throw new DaemonUnavailableError(`${why}the userspace datapath daemon is not running (${paths.socket}): start it with 'ovsnl dpd start'`);
    if (process.getuid?.() !== 0) {
      throw new DaemonUnavailableError(`${why}the userspace datapath daemon is not running (${paths.socket}); only root can start it: 'sudo ovsnl dpd start'`);
    }
    let d;
    try {
      d = await startDaemonProcess(paths);
    } catch (err) {
      throw new DaemonUnavailableError(`${why}the userspace datapath daemon could not be started: ${(err as Error).message}`, { cause: err });
    }
    // Another command that started it at the same moment says so; this one need not.
    if (d.started) opts.onStart?.(d.pid);
  }
  return UnixTransport.connect(paths.socket);
}
