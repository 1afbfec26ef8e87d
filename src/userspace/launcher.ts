// The daemon as a process seen from outside: is it there, start it detached
// and wait until its socket answers, stop it. The socket is the truth about
// whether a daemon runs; the pid file only says which process to signal.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isServing } from './control-server.js';
import { dpdPathEnv, type DpdPaths } from './dpd-paths.js';

/** bin/ovsnl.js, from src/userspace or dist/userspace alike. */
const OVSNL_BIN = fileURLToPath(new URL('../../bin/ovsnl.js', import.meta.url));

export class DaemonStartError extends Error {
  override readonly name = 'DaemonStartError';
}

export type DaemonState =
  | { running: true; pid?: number; since?: Date }
  | { running: false; stalePid?: number; staleSocket: boolean };

/** The pid in the pid file, if the file holds one. */
export function readPidFile(path: string): number | undefined {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the process is an ovsnl daemon (a recycled pid must not be signalled). */
function isDaemonProcess(pid: number): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.includes('dpd') && argv.includes('run');
  } catch {
    return false;
  }
}

export async function daemonState(paths: DpdPaths): Promise<DaemonState> {
  const pid = readPidFile(paths.pidFile);
  if (await isServing(paths.socket)) {
    let since: Date | undefined;
    try {
      since = statSync(paths.pidFile).mtime;
    } catch {
      since = undefined;
    }
    return { running: true, pid: pid !== undefined && processAlive(pid) ? pid : undefined, since };
  }
  return { running: false, stalePid: pid, staleSocket: existsSync(paths.socket) };
}

/** Removes a pid file and socket no live daemon answers for. */
export function removeStaleFiles(paths: DpdPaths): void {
  for (const f of [paths.pidFile, paths.socket]) {
    try {
      unlinkSync(f);
    } catch {
      // already gone
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function logTail(path: string, lines = 5): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** A daemon answering on the socket: the one this call spawned (`started`), or one that won the race to it. */
export interface StartedDaemon {
  pid?: number;
  started: boolean;
}

/**
 * Starts `ovsnl dpd run` detached (its own session, output to the log file)
 * and resolves once its socket answers. If another daemon wins a race to the
 * socket, that one is as good: resolves all the same, with started false.
 */
export async function startDaemonProcess(paths: DpdPaths, timeoutMs = 15_000): Promise<StartedDaemon> {
  for (const f of [paths.logFile, paths.socket, paths.pidFile]) mkdirSync(dirname(f), { recursive: true, mode: 0o755 });
  const log = openSync(paths.logFile, 'a', 0o600);
  let exited: number | null | undefined;
  let pid: number | undefined;
  try {
    const child = spawn(process.execPath, [OVSNL_BIN, 'dpd', 'run'], {
      detached: true,
      // A daemon keeps no directory busy (the caller's may be a mount point or a temporary one).
      cwd: '/',
      stdio: ['ignore', log, log],
      env: { ...process.env, ...dpdPathEnv(paths) },
    });
    pid = child.pid;
    child.once('exit', (code) => (exited = code ?? -1));
    child.unref();
  } finally {
    closeSync(log);
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited === undefined && (await isServing(paths.socket))) {
      // The daemon writes its pid file just after it starts listening: until a
      // live pid is there, this caller cannot tell whether its child won the race.
      const serving = readPidFile(paths.pidFile);
      if (serving !== undefined && processAlive(serving)) return { pid: serving, started: serving === pid };
    }
    if (exited !== undefined) {
      // It may have lost the race to a daemon that now serves.
      if (await isServing(paths.socket)) return { pid: readPidFile(paths.pidFile), started: false };
      const tail = logTail(paths.logFile);
      throw new DaemonStartError(`the userspace datapath daemon exited (status ${exited}) before serving ${paths.socket}${tail ? `; its log ${paths.logFile} ends:\n${tail}` : ''}`);
    }
    await sleep(50);
  }
  throw new DaemonStartError(`the userspace datapath daemon did not answer on ${paths.socket} within ${timeoutMs} ms (see ${paths.logFile})`);
}

export type StopResult = { stopped: true; pid: number; forced: boolean } | { stopped: false; reason: 'not-running' | 'no-pid' };

/** SIGTERM, wait for the process to go (SIGKILL after the grace time), then clean up what it left. */
export async function stopDaemonProcess(paths: DpdPaths, graceMs = 10_000): Promise<StopResult> {
  const st = await daemonState(paths);
  const pid = st.running ? st.pid : st.stalePid !== undefined && processAlive(st.stalePid) && isDaemonProcess(st.stalePid) ? st.stalePid : undefined;
  if (pid === undefined) {
    removeStaleFiles(paths);
    return { stopped: false, reason: st.running ? 'no-pid' : 'not-running' };
  }
  process.kill(pid, 'SIGTERM');
  let forced = false;
  const deadline = Date.now() + graceMs;
  while (processAlive(pid)) {
    if (Date.now() > deadline && !forced) {
      process.kill(pid, 'SIGKILL');
      forced = true;
    }
    await sleep(50);
  }
  removeStaleFiles(paths);
  return { stopped: true, pid, forced };
}
