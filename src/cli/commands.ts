// The command table, in ovs-dpctl's order (lib/dpctl.c all_commands), then
// ovsnl's own. Implementations load when their command runs.
import { lazy, type CommandSpec } from './command.js';

const dp = () => import('./datapath.js');
const ports = () => import('./ports.js');
const flows = () => import('./flows.js');
const ct = () => import('./ct-limits.js');
const ctTimeouts = () => import('./ct-timeouts.js');
const meters = () => import('./meters.js');

export const COMMANDS: readonly CommandSpec[] = [
  lazy({ name: 'add-dp', usage: 'dp [iface...]', min: 1, max: Infinity, mode: 'rw', description: 'add new datapath DP (with IFACEs)' }, async () => (await dp()).addDp),
  lazy({ name: 'del-dp', usage: 'dp', min: 1, max: 1, mode: 'rw', description: 'delete local datapath DP (and the tunnel devices of its tunnel ports)' }, async () => (await dp()).delDp),
  lazy({ name: 'add-if', usage: 'dp iface...', min: 2, max: Infinity, mode: 'rw', description: 'add each IFACE as a port on DP' }, async () => (await ports()).addIf),
  lazy({ name: 'del-if', usage: 'dp iface...', min: 2, max: Infinity, mode: 'rw', description: 'delete each IFACE from DP' }, async () => (await ports()).delIf),
  lazy({ name: 'set-if', usage: 'dp iface...', min: 2, max: Infinity, mode: 'rw', description: 'reconfigure each IFACE within DP' }, async () => (await ports()).setIf),
  lazy({ name: 'dump-dps', usage: '', min: 0, max: 0, mode: 'ro', json: true, description: 'display names of all datapaths' }, async () => (await dp()).dumpDps),
  lazy({ name: 'show', usage: '[-s] [dp...]', min: 0, max: Infinity, mode: 'ro', json: true, description: 'show basic info on all datapaths, or on each DP' }, async () => (await dp()).show),
  lazy(
    { name: 'dump-flows', usage: '[-m] [--names] [dp] [filter=..] [type=..] [pmd=..]', min: 0, max: 6, mode: 'ro', json: true, description: 'display flows in DP' },
    // Its own module: no flow parser to load.
    async () => (await import('./dump-flows.js')).dumpFlows,
  ),
  lazy({ name: 'add-flow', usage: '[dp] flow actions', min: 2, max: 3, mode: 'rw', description: 'add FLOW with ACTIONS to DP' }, async () => (await flows()).addFlow),
  lazy({ name: 'mod-flow', usage: '[dp] flow actions', min: 2, max: 3, mode: 'rw', description: 'change FLOW actions to ACTIONS in DP' }, async () => (await flows()).modFlow),
  lazy({ name: 'get-flow', usage: '[dp] ufid', min: 1, max: 2, mode: 'ro', json: true, description: 'fetch flow corresponding to UFID' }, async () => (await flows()).getFlow),
  lazy({ name: 'del-flow', usage: '[dp] flow', min: 1, max: 2, mode: 'rw', description: 'delete FLOW from DP' }, async () => (await flows()).delFlow),
  lazy({ name: 'add-flows', usage: '[dp] file', min: 1, max: 2, mode: 'rw', description: 'add flows from FILE (- for stdin)' }, async () => (await flows()).addFlows),
  lazy({ name: 'mod-flows', usage: '[dp] file', min: 1, max: 2, mode: 'rw', description: 'change flows from FILE (- for stdin)' }, async () => (await flows()).modFlows),
  lazy({ name: 'del-flows', usage: '[dp] [file]', min: 0, max: 2, mode: 'rw', description: 'delete all or specified flows from DP' }, async () => (await import('./del-flows.js')).delFlows),
  lazy({ name: 'cache-get-size', usage: '[dp]', min: 0, max: 1, mode: 'ro', json: true, description: 'show the current size for all caches' }, async () => (await dp()).cacheGetSize),
  lazy({ name: 'cache-set-size', usage: 'dp cache <size>', min: 3, max: 3, mode: 'rw', description: 'set cache size for a specific cache (masks-cache)' }, async () => (await dp()).cacheSetSize),
  lazy(
    { name: 'ct-set-limits', usage: '[dp] [default=L] [zone=N,limit=L]...', min: 1, max: Infinity, mode: 'ro', description: 'set the default and per-zone conntrack limits' },
    async () => (await ct()).setLimits,
  ),
  lazy({ name: 'ct-del-limits', usage: '[dp] zone=N1[,N2]...', min: 1, max: 2, mode: 'ro', description: 'remove the limits of these zones' }, async () => (await ct()).delLimits),
  lazy(
    { name: 'ct-get-limits', usage: '[dp] [zone=N1[,N2]...]', min: 0, max: 2, mode: 'ro', json: true, description: 'show the default and per-zone conntrack limits' },
    async () => (await ct()).getLimits,
  ),
  lazy(
    { name: 'ct-set-tp', usage: 'name ipv4|ipv6 proto [state=seconds]...', min: 3, max: Infinity, mode: 'rw', description: 'make or change the conntrack timeout policy ct(timeout=NAME) uses (ovsnl)' },
    async () => (await ctTimeouts()).setPolicy,
  ),
  lazy({ name: 'ct-get-tp', usage: '[name]', min: 0, max: 1, mode: 'ro', json: true, description: 'show conntrack timeout policies (ovsnl)' }, async () => (await ctTimeouts()).getPolicies),
  lazy({ name: 'ct-del-tp', usage: '[name]', min: 0, max: 1, mode: 'rw', description: 'delete a conntrack timeout policy, or all (ovsnl)' }, async () => (await ctTimeouts()).delPolicy),
  lazy({ name: 'parse-actions', usage: 'actions', min: 1, max: Infinity, mode: 'ro', json: true, hidden: true, description: 'parse ACTIONS and print them back' }, async () => (await flows()).parseActions),
  lazy(
    { name: 'add-meter', usage: '[dp] id [kbps|pktps] rate=R[,burst=B]...', min: 2, max: Infinity, mode: 'rw', description: 'add or replace meter ID with drop bands (ovsnl)' },
    async () => (await meters()).addMeter,
  ),
  lazy({ name: 'del-meter', usage: '[dp] id...', min: 1, max: Infinity, mode: 'rw', description: 'delete meters (ovsnl)' }, async () => (await meters()).delMeter),
  lazy(
    { name: 'dump-meters', usage: '[dp] [id...]', min: 0, max: Infinity, mode: 'ro', json: true, description: 'show meters with their counters: ids 0-1023, or those given (ovsnl)' },
    async () => (await meters()).dumpMeters,
  ),
  lazy({ name: 'meter-features', usage: '[dp]', min: 0, max: 1, mode: 'ro', json: true, description: 'show what meters the datapath supports (ovsnl)' }, async () => (await meters()).meterFeatures),
  lazy(
    { name: 'execute', usage: '[dp] packet actions', min: 2, max: 3, mode: 'rw', description: 'send PACKET (hex, or a flow to build it from) through DP with ACTIONS (ovsnl)' },
    async () => (await import('./execute.js')).execute,
  ),
  lazy(
    { name: 'dpd', usage: 'start|stop|status|run', min: 1, max: 1, mode: 'ro', json: true, description: 'manage the userspace datapath daemon used without the kernel module (ovsnl)' },
    async () => (await import('./dpd.js')).dpd,
  ),
  lazy(
    {
      name: 'upcall-monitor',
      usage: '[dp] [--count N] [--pcap FILE]',
      min: 0,
      max: 1,
      mode: 'rw',
      json: true,
      description: "take over DP's upcalls (as ovs-vswitchd would: they reach nothing else meanwhile) and print each MISS/ACTION upcall (ovsnl)",
    },
    async () => (await import('./monitor.js')).upcallMonitor,
  ),
  lazy(
    { name: 'top', usage: '[dp] [--sort packets|bytes] [--interval SECS] [--count N]', min: 0, max: 1, mode: 'ro', json: true, description: 'flows by packet or byte rate, refreshed live (ovsnl)' },
    async () => (await import('./top.js')).top,
  ),
  lazy(
    { name: 'run', usage: 'dp [--rules FILE] [--learning] [--idle-timeout S] [--flow-limit N] [--handlers N]', min: 1, max: 1, mode: 'rw', description: 'switch the datapath\'s upcalls in the foreground: megaflows from rules or a learning switch (ovsnl)' },
    async () => (await import('./run.js')).run,
  ),
];
