// `ovsnl dpd start|stop|status|run`: the userspace datapath daemon, managed
// by hand. Other commands start it on their own when the kernel module is
// missing; these are for starting it early, stopping it, and looking at it.
import type { Vport } from '../dpif/dpif.js';
import { dpdPaths, type DpdPaths } from '../userspace/dpd-paths.js';
import { daemonState, startDaemonProcess, stopDaemonProcess } from '../userspace/launcher.js';
import type { Ctx } from './context.js';
import { CliError } from './errors.js';

/** LSB's status for "program is not running", which `status` exits with, as init scripts do. */
export const NOT_RUNNING_STATUS = 3;

const SUBCOMMANDS = ['start', 'stop', 'status', 'run'] as const;
type Sub = (typeof SUBCOMMANDS)[number];

function needRoot(what: string): void {
  if (process.getuid?.() !== 0) throw new CliError(`dpd ${what}: only root can manage the userspace datapath daemon`);
}

export function formatUptime(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400);
  const hms = [Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60), s % 60].map((n) => String(n).padStart(2, '0')).join(':');
  return d ? `${d}d ${hms}` : hms;
}

interface ServedDatapath {
  name: string;
  dp_ifindex: number;
  ports: { port_no: number; name: string; type: string }[];
}

const TYPE_NAMES: Record<number, string> = { 1: 'netdev', 2: 'internal' };

async function served(paths: DpdPaths): Promise<ServedDatapath[]> {
  const { UnixTransport } = await import('../netlink/unix-transport.js');
  const { KernelDpif } = await import('../dpif/kernel.js');
  const dpif = await KernelDpif.open({ socket: await UnixTransport.connect(paths.socket), kernelLog: false });
  try {
    const out: ServedDatapath[] = [];
    for (const dp of await dpif.listDatapaths()) {
      const vports: Vport[] = await dpif.listVports(dp.dpIfindex);
      out.push({
        name: dp.name,
        dp_ifindex: dp.dpIfindex,
        ports: vports.map((v) => ({ port_no: v.portNo, name: v.name, type: TYPE_NAMES[v.type] ?? String(v.type) })),
      });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } finally {
    dpif.close();
  }
}

async function status(ctx: Ctx, paths: DpdPaths): Promise<void> {
  const st = await daemonState(paths);
  const files = { socket: paths.socket, state_file: paths.stateFile, log_file: paths.logFile, pid_file: paths.pidFile };
  if (!st.running) {
    if (ctx.json) ctx.out.line(JSON.stringify({ running: false, ...files }));
    else ctx.out.line(`ovsnl dpd: not running (socket ${paths.socket}${st.staleSocket || st.stalePid !== undefined ? ', stale files left by a previous run' : ''})`);
    ctx.status = NOT_RUNNING_STATUS;
    return;
  }
  const uptime = st.since ? (Date.now() - st.since.getTime()) / 1000 : undefined;
  let dps: ServedDatapath[] | undefined;
  let why: string | undefined;
  try {
    dps = await served(paths);
  } catch (err) {
    why = (err as Error).message;
  }
  if (ctx.json) {
    ctx.out.line(JSON.stringify({ running: true, pid: st.pid ?? null, uptime_s: uptime === undefined ? null : Math.floor(uptime), ...files, datapaths: dps ?? null }));
    return;
  }
  ctx.out.line(`ovsnl dpd: running${st.pid ? `, pid ${st.pid}` : ''}${uptime !== undefined ? `, up ${formatUptime(uptime)}` : ''}`);
  ctx.out.line(`  socket: ${paths.socket}`);
  ctx.out.line(`  state:  ${paths.stateFile}`);
  ctx.out.line(`  log:    ${paths.logFile}`);
  if (!dps) {
    ctx.out.line(`  datapaths: unknown (${why})`);
    return;
  }
  ctx.out.line(`  datapaths: ${dps.length}`);
  for (const dp of dps) {
    ctx.out.line(`    system@${dp.name}: ${dp.ports.length} port${dp.ports.length === 1 ? '' : 's'}`);
    for (const p of dp.ports) ctx.out.line(`      port ${p.port_no}: ${p.name} (${p.type})`);
  }
}

async function start(ctx: Ctx, paths: DpdPaths): Promise<void> {
  needRoot('start');
  const st = await daemonState(paths);
  if (st.running) throw new CliError(`dpd start: already running${st.pid ? ` (pid ${st.pid})` : ''} on ${paths.socket}`);
  const d = await startDaemonProcess(paths);
  if (!d.started) throw new CliError(`dpd start: another daemon${d.pid ? ` (pid ${d.pid})` : ''} started on ${paths.socket} at the same time`);
  ctx.out.line(`ovsnl dpd: started${d.pid ? `, pid ${d.pid}` : ''}, socket ${paths.socket}`);
}

async function stop(ctx: Ctx, paths: DpdPaths): Promise<void> {
  needRoot('stop');
  const r = await stopDaemonProcess(paths);
  if (r.stopped) ctx.out.line(`ovsnl dpd: stopped pid ${r.pid}${r.forced ? ' (killed: it did not stop on SIGTERM)' : ''}`);
  else if (r.reason === 'no-pid') throw new CliError(`dpd stop: a daemon answers on ${paths.socket} but its pid file ${paths.pidFile} names no live process`);
  else ctx.out.line('ovsnl dpd: not running');
}

export async function dpd(ctx: Ctx, args: string[]): Promise<void> {
  const sub = args[0] as Sub;
  if (!SUBCOMMANDS.includes(sub)) throw new CliError(`dpd: unknown subcommand '${args[0]}' (start, stop, status or run)`);
  if (ctx.json && sub !== 'status') throw new CliError(`--json: 'dpd ${sub}' prints no data to format (JSON is for dpd status)`);
  if (ctx.opts.readOnly && sub !== 'status') throw new CliError(`'dpd ${sub}' command does not work in read only mode`);
  const paths = dpdPaths();
  switch (sub) {
    case 'status':
      return status(ctx, paths);
    case 'start':
      return start(ctx, paths);
    case 'stop':
      return stop(ctx, paths);
    case 'run': {
      needRoot('run');
      const { runDaemonProcess } = await import('../userspace/dpd-process.js');
      ctx.status = await runDaemonProcess(paths);
    }
  }
}
