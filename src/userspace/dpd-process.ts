// The daemon's process: `ovsnl dpd run` runs this in the foreground (what
// `dpd start` detaches, and what a service manager would run). It owns the
// pid file while it serves and removes it, with the socket, when it is told
// to stop. The state file stays: it is what the next start restores.
import { unlinkSync } from 'node:fs';
import { startDaemon, type Daemon } from './daemon.js';
import type { DpdPaths } from './dpd-paths.js';
import { writePidFile } from './pid-file.js';

export interface DaemonProcessOptions {
  log?: (line: string) => void;
}

const stamp = (line: string): string => `${new Date().toISOString()} ${line}\n`;

/** Serves until SIGTERM, SIGINT or SIGHUP; resolves with the exit status. */
export async function runDaemonProcess(paths: DpdPaths, opts: DaemonProcessOptions = {}): Promise<number> {
  const log = opts.log ?? ((line: string) => process.stderr.write(stamp(line)));
  let daemon: Daemon;
  try {
    daemon = await startDaemon({ path: paths.socket, statePath: paths.stateFile, log });
  } catch (err) {
    log(`not starting: ${(err as Error).message}`);
    return 1;
  }
  writePidFile(paths.pidFile, process.pid);
  const r = daemon.restored;
  log(`serving ${paths.socket} (pid ${process.pid}); ${r ? `restored ${r.datapaths} datapath(s) with ${r.ports} port(s) from ${paths.stateFile}` : 'no state file'}`);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log(`${signal}: stopping`);
      daemon
        .close()
        .catch((err: unknown) => log(`while stopping: ${(err as Error).message}`))
        .finally(() => {
          try {
            unlinkSync(paths.pidFile);
          } catch {
            // someone removed it already
          }
          resolve(0);
        });
    };
    for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(s, () => stop(s));
  });
}
