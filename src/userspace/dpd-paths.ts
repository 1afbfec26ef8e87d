// Where the fallback daemon keeps its socket, pid file, state and log. The
// defaults follow the FHS (runtime data in /run, state in /var/lib, logs in
// /var/log); each can be moved by its own variable, or all at once with
// OVSNL_DPD_DIR (tests and unprivileged experiments use that).
import { join, resolve } from 'node:path';

export interface DpdPaths {
  socket: string;
  pidFile: string;
  stateFile: string;
  logFile: string;
}

export const DEFAULT_DPD_PATHS: Readonly<DpdPaths> = {
  socket: '/run/ovsnl/dpd.sock',
  pidFile: '/run/ovsnl/dpd.pid',
  stateFile: '/var/lib/ovsnl/dpd.json',
  logFile: '/var/log/ovsnl/dpd.log',
};

/** The variables that move the daemon's files, by field. */
export const DPD_PATH_VARIABLES: Readonly<Record<keyof DpdPaths, string>> = {
  socket: 'OVSNL_DPD_SOCKET',
  pidFile: 'OVSNL_DPD_PIDFILE',
  stateFile: 'OVSNL_DPD_STATE',
  logFile: 'OVSNL_DPD_LOG',
};

/** The paths from the environment: a variable of its own wins over OVSNL_DPD_DIR, which wins over the default. */
export function dpdPaths(env: NodeJS.ProcessEnv = process.env, overrides: Partial<DpdPaths> = {}): DpdPaths {
  const dir = env.OVSNL_DPD_DIR;
  const base: DpdPaths = dir
    ? { socket: join(dir, 'dpd.sock'), pidFile: join(dir, 'dpd.pid'), stateFile: join(dir, 'dpd.json'), logFile: join(dir, 'dpd.log') }
    : { ...DEFAULT_DPD_PATHS };
  for (const k of Object.keys(DPD_PATH_VARIABLES) as (keyof DpdPaths)[]) {
    const v = env[DPD_PATH_VARIABLES[k]];
    if (v) base[k] = v;
  }
  const p = { ...base, ...overrides };
  // Absolute, since the daemon runs in / and clients anywhere.
  return { socket: resolve(p.socket), pidFile: resolve(p.pidFile), stateFile: resolve(p.stateFile), logFile: resolve(p.logFile) };
}

/** The environment that gives a child process these same paths. */
export function dpdPathEnv(paths: DpdPaths): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of Object.keys(DPD_PATH_VARIABLES) as (keyof DpdPaths)[]) env[DPD_PATH_VARIABLES[k]] = paths[k];
  return env;
}
