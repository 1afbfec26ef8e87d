// The conntrack commands of ovs-dpctl: the same arguments, output and errors
// as OVS 3.1 (lib/dpctl.c), over ctnetlink: the kernel's for the kernel
// datapath, the daemon's (its own tracker, on its socket) for the userspace one.
// Two deliberate differences: `flush-conntrack DP zone=N` works (3.1 takes
// the datapath name for a tuple and fails), and a kernel without ctnetlink is
// reported as an error instead of an empty dump with exit status 0.
import type { Command } from 'commander';
import {
  ctStats,
  formatCtEntry,
  formatCtLabels,
  formatCtStats,
  formatCtStatus,
  formatIpProto,
  ovsSctpState,
  ovsTcpState,
  OVS_SCTP_STATES,
  OVS_TCP_STATES,
  type CtStats,
} from '../conntrack/format.js';
import { dumpConntrack, flushConntrack, withConntrack } from '../conntrack/client.js';
import { CtTupleError, emptyCtMatch, parseCtTuple, type CtMatch } from '../conntrack/match.js';
import type { CtEntry, CtTuple } from '../conntrack/entry.js';
import type { OpenedDpif } from '../dpif/open.js';
import type { Connection } from '../netlink/connection.js';
import { NetlinkError } from '../netlink/errors.js';
import { CliError } from './errors.js';

/** Where the commands write; the CLI passes process.stdout/stderr. */
export interface ConntrackIO {
  out(text: string): void;
  err(text: string): void;
}

const stdio: ConntrackIO = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
};

const EINVAL = 'Invalid argument';
const EOPNOTSUPP = 'Operation not supported';

/** ovs-dpctl's "MESSAGE (strerror)" form. */
const withErrno = (message: string, errnoText: string): string => `${message} (${errnoText})`;

/**
 * The datapath side a command works on: the kernel's, whose tracker is
 * netfilter's (its own ctnetlink socket), or the userspace daemon's, which
 * answers ctnetlink for its own tracker on its socket. Opened on first use,
 * closed when the command ends.
 */
let side: Promise<OpenedDpif> | undefined;

function openSide(): Promise<OpenedDpif> {
  side ??= import('../dpif/open.js').then(({ openDpifSide }) =>
    openDpifSide({
      kernelLog: false,
      hostWarnings: { disabled: true },
      onDaemonStart: ({ pid }) => process.stderr.write(`ovsnl: no openvswitch kernel module; using the userspace datapath (ovsnl dpd${pid ? `, pid ${pid}` : ''})\n`),
    }),
  );
  return side;
}

async function closeSide(): Promise<void> {
  const s = side;
  side = undefined;
  if (s) (await s.catch(() => undefined))?.dpif.close();
}

/** Runs fn over a ctnetlink connection to the tracker of the side the command works on. */
async function withTracker<T>(fn: (conn: Connection) => Promise<T>): Promise<T> {
  const { dpif, side: where } = await openSide();
  return where === 'userspace' ? fn(dpif.conn) : withConntrack(fn);
}

/** Dumps for a command: a kernel refusal becomes OVS's "dumping conntrack entry (strerror)". */
async function dumpFor(zone: number | undefined): Promise<CtEntry[]> {
  try {
    return await withTracker((conn) => dumpConntrack(conn, { zone }));
  } catch (err) {
    if (err instanceof NetlinkError) throw new CliError(withErrno('dumping conntrack entry', err.description));
    throw err;
  }
}

/** ovs_scan(s, "zone=%"SCNu16): a prefix scan; trailing text is ignored as sscanf does. */
export function scanZone(arg: string): number | undefined {
  const m = /^zone=[ \t]*\+?(\d+)/.exec(arg);
  if (!m) return undefined;
  const v = Number(m[1]);
  return v <= 0xffff ? v : undefined;
}

/** ovs_scan(s, "%"SCNu32) */
function scanU32(arg: string): number | undefined {
  const m = /^[ \t]*\+?(\d+)/.exec(arg);
  if (!m) return undefined;
  const v = Number(m[1]);
  return v <= 0xffffffff ? v : undefined;
}

/** Datapath names as ovs-dpctl takes them, [type@]name; only the kernel's ("system") type is here. */
function parseDpName(arg: string): { type: string; name: string } {
  const at = arg.indexOf('@');
  return at < 0 ? { type: 'system', name: arg } : { type: arg.slice(0, at), name: arg.slice(at + 1) };
}

/** Lists the datapaths with GETs only (ovs-dpctl also re-sets their features; ovsnl does not). */
async function datapathNames(): Promise<string[]> {
  const { dpif } = await openSide();
  return (await dpif.listDatapaths()).map((d) => d.name);
}

/**
 * OVS's opt_dpif_open: args[0] names the datapath if one by that name exists;
 * otherwise, unless all `maxArgs` arguments were given, the only datapath.
 * Failures print OVS's lines and exit 1.
 */
export async function resolveDatapath(args: string[], maxArgs: number, io: ConntrackIO, failure?: string): Promise<string> {
  const names = await datapathNames();
  const fail = (lines: string[]): never => {
    const all = failure ? [...lines, failure] : lines;
    for (const l of all.slice(0, -1)) io.err(`ovsnl: ${l}\n`);
    throw new CliError(all[all.length - 1]);
  };
  if (args.length > 0) {
    const { type, name } = parseDpName(args[0]);
    if (type === 'system' && names.includes(name)) return name;
  }
  if (args.length !== maxArgs) {
    if (names.length === 1) return names[0];
    return fail([names.length ? 'multiple datapaths, specify one' : 'no datapaths exist', withErrno('datapath not found', EINVAL)]);
  }
  return fail([withErrno('datapath not found', EINVAL)]);
}

function checkArgCount(command: string, args: string[], min: number, max: number): void {
  if (args.length < min) throw new CliError(`'${command}' command requires at least ${min} arguments`);
  if (args.length > max) throw new CliError(`'${command}' command takes at most ${max} arguments`);
}

// ---- JSON -----------------------------------------------------------------

function tupleJson(t: CtTuple): Record<string, unknown> {
  return { src: t.src, dst: t.dst, srcPort: t.srcPort, dstPort: t.dstPort, icmpId: t.icmpId, icmpType: t.icmpType, icmpCode: t.icmpCode };
}

/** The stable JSON form of an entry (`--json`): names as in the text form, numbers as numbers. */
export function ctEntryJson(e: CtEntry): Record<string, unknown> {
  const j: Record<string, unknown> = {
    proto: formatIpProto(e.orig.proto),
    family: e.family === 10 ? 'ipv6' : 'ipv4',
    orig: tupleJson(e.orig),
    reply: tupleJson(e.reply),
    id: e.id,
    zone: e.zone,
    status: formatCtStatus(e.status).split('|').filter((s) => s !== '0'),
    timeout: e.timeout,
    mark: e.mark ?? 0,
  };
  const labels = e.labels && formatCtLabels(e.labels);
  if (labels) j.labels = labels;
  if (e.countersOrig) j.countersOrig = { packets: Number(e.countersOrig.packets), bytes: Number(e.countersOrig.bytes) };
  if (e.countersReply) j.countersReply = { packets: Number(e.countersReply.packets), bytes: Number(e.countersReply.bytes) };
  if (e.start) j.start = new Date(Number(e.start / 1_000_000n)).toISOString();
  if (e.stop) j.stop = new Date(Number(e.stop / 1_000_000n)).toISOString();
  if (e.tcp) j.tcpState = OVS_TCP_STATES[ovsTcpState(e.tcp.state)];
  if (e.sctp) j.sctpState = OVS_SCTP_STATES[ovsSctpState(e.sctp.state)];
  if (e.helper !== undefined) j.helper = e.helper;
  if (e.master) j.parent = tupleJson(e.master);
  return j;
}

function statsJson(st: CtStats): Record<string, unknown> {
  return { ...st };
}

// ---- commands -------------------------------------------------------------

export interface DumpOptions {
  more?: boolean;
  statistics?: boolean;
  json?: boolean;
}

/** dump-conntrack [-m] [-s] [dp] [zone=N] */
export async function dumpConntrackCommand(argv: string[], opts: DumpOptions, io: ConntrackIO = stdio): Promise<void> {
  checkArgCount('dump-conntrack', argv, 0, 4);
  const args = [...argv];
  let zone: number | undefined;
  if (args.length > 0) {
    const z = scanZone(args[args.length - 1]);
    if (z !== undefined) {
      zone = z;
      args.pop();
    }
  }
  await resolveDatapath(args, 1, io);
  const entries = await dumpFor(zone);
  if (opts.json) {
    io.out(JSON.stringify(entries.map(ctEntryJson), null, 2) + '\n');
    return;
  }
  let text = '';
  for (const e of entries) text += formatCtEntry(e, { verbose: opts.more, stats: opts.statistics }) + '\n';
  io.out(text);
}

/** flush-conntrack [dp] [zone=N] [ct-orig-tuple [ct-reply-tuple]] */
export async function flushConntrackCommand(argv: string[], io: ConntrackIO = stdio): Promise<void> {
  checkArgCount('flush-conntrack', argv, 0, 4);
  const args = [...argv];
  // Unlike 3.1, a first argument that is not key=value is the datapath, so
  // `flush-conntrack DP zone=N` works. Tuples are always key=value lists.
  const dpArgs: string[] = [];
  if (args.length > 0 && !args[0].includes('=')) dpArgs.push(args.shift()!);
  let zone: number | undefined;
  if (args.length > 0 && args[0].startsWith('zone=')) {
    zone = scanZone(args[0]);
    if (zone === undefined) throw new CliError(withErrno('failed to parse zone', EINVAL));
    args.shift();
  }
  const match: CtMatch = emptyCtMatch();
  for (const side of ['orig', 'reply'] as const) {
    if (!args.length) break;
    const arg = args.shift()!;
    if (!arg) continue;
    try {
      parseCtTuple(arg, match, side);
    } catch (err) {
      if (err instanceof CtTupleError) throw new CliError(withErrno(err.message, EINVAL));
      throw err;
    }
  }
  if (args.length > 0) throw new CliError(withErrno('invalid arguments', EINVAL));
  await resolveDatapath(dpArgs, 1, io, withErrno('Cannot open dpif', EINVAL));
  try {
    await withTracker((conn) => flushConntrack(conn, { zone, match }));
  } catch (err) {
    if (err instanceof NetlinkError) throw new CliError(withErrno('failed to flush conntrack', err.description));
    throw err;
  }
}

export interface StatsOptions {
  more?: boolean;
  json?: boolean;
}

/** ct-stats-show [dp] [zone=N] [verbose] */
export async function ctStatsShowCommand(argv: string[], opts: StatsOptions, io: ConntrackIO = stdio): Promise<void> {
  checkArgCount('ct-stats-show', argv, 0, 3);
  const args = [...argv];
  let verbose = !!opts.more;
  let zone: number | undefined;
  // OVS peels "verbose" and "zone=N" off the end, in either order.
  for (let last = -1; args.length > 0 && last !== args.length; ) {
    last = args.length;
    const a = args[args.length - 1];
    if (a.startsWith('verbose')) {
      verbose = true;
      args.pop();
    } else if (a.startsWith('zone=')) {
      const z = scanZone(a);
      if (z !== undefined) {
        zone = z;
        args.pop();
      }
    }
  }
  await resolveDatapath(args, 1, io);
  const st = ctStats(await dumpFor(zone));
  io.out(opts.json ? JSON.stringify(statsJson(st), null, 2) + '\n' : formatCtStats(st, verbose));
}

/** ct-bkts [dp] [gt=N]: buckets are the userspace tracker's; the kernel's has none to show. */
export async function ctBktsCommand(argv: string[], io: ConntrackIO = stdio): Promise<void> {
  checkArgCount('ct-bkts', argv, 0, 2);
  const args = [...argv];
  if (args.length > 0 && args[args.length - 1].startsWith('gt=') && /^gt=[ \t]*\+?\d+/.test(args[args.length - 1])) args.pop();
  await resolveDatapath(args, 1, io);
  io.out('Command is available for UserSpace ConnTracker only.\n');
}

/**
 * The userspace tracker's settings, which the kernel datapath lacks: after
 * OVS's datapath and argument checks, OVS's EOPNOTSUPP message.
 */
interface UserspaceOnly {
  name: string;
  usage: string;
  description: string;
  min: number;
  max: number;
  /** OVS's max_args for opt_dpif_open (counting the command name), minus one. */
  dpArgs: number;
  rw: boolean;
  /** Argument checks that come before the failure; return an error message or undefined. */
  check?: (args: string[], command: string) => string | undefined;
  failure: string;
}

/** ovs_scan(s, "%2s") then strncmp with "v4" / "v6". */
const v4v6 = (s: string | undefined): boolean => s !== undefined && /^\s*v[46]/.test(s);

const USERSPACE_ONLY: UserspaceOnly[] = [
  {
    name: 'ct-set-maxconns',
    usage: '[dp] maxconns',
    description: 'set the maximum number of connections (userspace datapath only)',
    min: 1,
    max: 2,
    dpArgs: 2,
    rw: true,
    check: (a) => (scanU32(a[a.length - 1]) === undefined ? withErrno('maxconns missing or malformed', EINVAL) : undefined),
    failure: 'ct set maxconns failed',
  },
  { name: 'ct-get-maxconns', usage: '[dp]', description: 'get the maximum number of connections (userspace datapath only)', min: 0, max: 1, dpArgs: 1, rw: false, failure: 'maxconns could not be retrieved' },
  { name: 'ct-get-nconns', usage: '[dp]', description: 'get the number of connections (userspace datapath only)', min: 0, max: 1, dpArgs: 1, rw: false, failure: 'nconns could not be retrieved' },
  { name: 'ct-enable-tcp-seq-chk', usage: '[dp]', description: 'enable TCP sequence checking (userspace datapath only)', min: 0, max: 1, dpArgs: 2, rw: true, failure: 'enabling TCP sequence checking failed' },
  { name: 'ct-disable-tcp-seq-chk', usage: '[dp]', description: 'disable TCP sequence checking (userspace datapath only)', min: 0, max: 1, dpArgs: 2, rw: true, failure: 'disabling TCP sequence checking failed' },
  { name: 'ct-get-tcp-seq-chk', usage: '[dp]', description: 'get whether TCP sequence checking is on (userspace datapath only)', min: 0, max: 1, dpArgs: 1, rw: false, failure: 'TCP sequence checking query failed' },
  {
    name: 'ipf-set-enabled',
    usage: '[dp] v4|v6',
    description: 'enable fragmentation reassembly (userspace datapath only)',
    min: 1,
    max: 2,
    dpArgs: 3,
    rw: true,
    check: (a) => (v4v6(a[a.length - 1]) ? undefined : withErrno("parameter missing: 'v4' for IPv4 or 'v6' for IPv6", EINVAL)),
    failure: 'enabling fragmentation reassembly failed',
  },
  {
    name: 'ipf-set-disabled',
    usage: '[dp] v4|v6',
    description: 'disable fragmentation reassembly (userspace datapath only)',
    min: 1,
    max: 2,
    dpArgs: 3,
    rw: true,
    check: (a) => (v4v6(a[a.length - 1]) ? undefined : withErrno("parameter missing: 'v4' for IPv4 or 'v6' for IPv6", EINVAL)),
    failure: 'disabling fragmentation reassembly failed',
  },
  {
    name: 'ipf-set-min-frag',
    usage: '[dp] v4|v6 minfragment',
    description: 'set the minimum fragment size (userspace datapath only)',
    min: 2,
    max: 3,
    dpArgs: 3,
    rw: true,
    // argv[argc - 2] in OVS: with the command name counted, so the command itself when only one argument follows.
    check: (a, command) => {
      const all = [command, ...a];
      if (!v4v6(all[all.length - 2])) return withErrno('parameter missing: v4 for IPv4 or v6 for IPv6', EINVAL);
      if (scanU32(all[all.length - 1]) === undefined) return withErrno('parameter missing for minimum fragment size', EINVAL);
      return undefined;
    },
    failure: 'requested minimum fragment size too small; see documentation',
  },
  {
    name: 'ipf-set-max-nfrags',
    usage: '[dp] maxfrags',
    description: 'set the maximum number of fragments (userspace datapath only)',
    min: 1,
    max: 2,
    dpArgs: 2,
    rw: true,
    check: (a) => (scanU32(a[a.length - 1]) === undefined ? withErrno('parameter missing for maximum fragments', EINVAL) : undefined),
    failure: 'setting maximum fragments failed',
  },
  { name: 'ipf-get-status', usage: '[dp]', description: 'show fragmentation reassembly status (userspace datapath only)', min: 0, max: 1, dpArgs: 1, rw: false, failure: 'ipf status could not be retrieved' },
];

export async function userspaceOnlyCommand(name: string, argv: string[], io: ConntrackIO = stdio): Promise<void> {
  const c = USERSPACE_ONLY.find((u) => u.name === name);
  if (!c) throw new CliError(`unknown command '${name}'`);
  checkArgCount(c.name, argv, c.min, c.max);
  await resolveDatapath(argv, c.dpArgs, io);
  const bad = c.check?.(argv, c.name);
  if (bad) throw new CliError(bad);
  throw new CliError(withErrno(c.failure, EOPNOTSUPP));
}

/**
 * The command's options merged with the program's: ovs-dpctl's -m, -s and
 * --read-only are global, so a program may define them before the command.
 */
function options(cmd: Command): DumpOptions & StatsOptions {
  const o = cmd.optsWithGlobals() as { more?: boolean | number; statistics?: boolean; json?: boolean };
  return { more: !!o.more, statistics: !!o.statistics, json: !!o.json };
}

/** Refuses writes under a global --read-only, as ovs-dpctl does. */
function checkWritable(cmd: Command, name: string): void {
  const globals = cmd.optsWithGlobals() as { readOnly?: boolean };
  if (globals.readOnly) throw new CliError(`'${name}' command does not work in read only mode`);
}

export function registerConntrack(program: Command, runCommand: (fn: () => Promise<void>) => Promise<void>): void {
  const run = (fn: () => Promise<void>): Promise<void> =>
    runCommand(async () => {
      try {
        await fn();
      } finally {
        await closeSide();
      }
    });
  program
    .command('dump-conntrack')
    .description("display conntrack entries (the kernel's tracker over ctnetlink, or the userspace datapath's)")
    .argument('[args...]', '[dp] [zone=N]')
    .option('-m, --more', 'more detail: id, status, verbose TCP state')
    .option('-s, --statistics', 'counters, timestamps and timeouts')
    .option('--json', 'print JSON')
    .action(function (this: Command, args: string[]) {
      return run(() => dumpConntrackCommand(args, options(this)));
    });

  program
    .command('flush-conntrack')
    .description('delete conntrack entries: all, a zone, or those matching the tuples')
    .argument('[args...]', '[dp] [zone=N] [ct-orig-tuple [ct-reply-tuple]]')
    .action(function (this: Command, args: string[]) {
      return run(async () => {
        checkWritable(this, 'flush-conntrack');
        await flushConntrackCommand(args);
      });
    });

  program
    .command('ct-stats-show')
    .description('show conntrack statistics by protocol')
    .argument('[args...]', '[dp] [zone=N] [verbose]')
    .option('-m, --more', 'TCP connections per state')
    .option('--json', 'print JSON')
    .action(function (this: Command, args: string[]) {
      return run(() => ctStatsShowCommand(args, options(this)));
    });

  program
    .command('ct-bkts')
    .description('show connections per bucket (userspace datapath only)')
    .argument('[args...]', '[dp] [gt=N]')
    .action((args: string[]) => run(() => ctBktsCommand(args)));

  for (const c of USERSPACE_ONLY) {
    program
      .command(c.name)
      .description(c.description)
      .argument('[args...]', c.usage)
      .option('-m, --more', 'more detail')
      .action(function (this: Command, args: string[]) {
        return run(async () => {
          if (c.rw) checkWritable(this, c.name);
          await userspaceOnlyCommand(c.name, args);
        });
      });
  }
}
