// ct-set-tp, ct-get-tp, ct-del-tp (ovsnl): the conntrack timeout policies
// that ct(timeout=NAME) names. ovs-dpctl has no such commands (ovs-vswitchd
// makes the policies from OVSDB); these speak nfnetlink_cttimeout to the
// kernel, or to the userspace datapath's daemon, which serves the same
// messages. Policies belong to the network namespace (or the daemon), not
// to a datapath, so the commands take none.
import { existsSync } from 'node:fs';
import { AF_INET, AF_INET6, IPPROTO_GENERIC_CT, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE, TIMEOUT_ATTRS } from '../conntrack/constants.js';
import type { TimeoutPolicy } from '../conntrack/timeout.js';
import type { Connection } from '../netlink/connection.js';
import { NetlinkError } from '../netlink/errors.js';
import type { Ctx } from './context.js';
import { CliError, dpctlMessage } from './errors.js';

const EINVAL = { code: 'EINVAL' };

const PROTOS: Record<string, number> = { tcp: IPPROTO_TCP, udp: IPPROTO_UDP, udplite: IPPROTO_UDPLITE, icmp: IPPROTO_ICMP, icmpv6: IPPROTO_ICMPV6, generic: IPPROTO_GENERIC_CT };
const PROTO_NAMES = new Map(Object.entries(PROTOS).map(([k, v]) => [v, k]));
const FAMILIES: Record<string, number> = { ipv4: AF_INET, ipv6: AF_INET6 };

/** The kernel's timeout policies live in nfnetlink_cttimeout: a request to a missing subsystem is EINVAL. */
function explain(ctx: Ctx, err: unknown, what: string): CliError {
  const kernel = ctx.side !== 'userspace';
  if (kernel && err instanceof NetlinkError && (err.code === 'EINVAL' || err.code === 'EOPNOTSUPP') && existsSync('/sys/module') && !existsSync('/sys/module/nfnetlink_cttimeout')) {
    return new CliError(`${what}: the nfnetlink_cttimeout module is not loaded (modprobe nfnetlink_cttimeout), so this kernel has no timeout policies`);
  }
  return new CliError(dpctlMessage(what, err));
}

/** A netfilter connection to the side the command works on: the kernel's (its own socket) or the daemon's. */
async function withPolicies<T>(ctx: Ctx, fn: (conn: Connection) => Promise<T>): Promise<T> {
  const dpif = await ctx.dpif();
  if (ctx.side === 'userspace') return fn(dpif.conn);
  const { withConntrack } = await import('../conntrack/client.js');
  return withConntrack(fn);
}

/** ct-set-tp NAME ipv4|ipv6 PROTO [STATE=SECONDS]...: makes the policy, or replaces one of that name and protocol. */
export async function setPolicy(ctx: Ctx, args: string[]): Promise<void> {
  const [name, family, proto, ...states] = args;
  const l3proto = FAMILIES[family];
  if (l3proto === undefined) throw new CliError(dpctlMessage(`${family}: the family is ipv4 or ipv6`, EINVAL));
  const l4proto = PROTOS[proto] ?? (/^\d+$/.test(proto) && Number(proto) <= 255 ? Number(proto) : undefined);
  if (l4proto === undefined || !TIMEOUT_ATTRS[l4proto]) throw new CliError(dpctlMessage(`${proto}: the protocol is one of ${Object.keys(PROTOS).join(', ')}`, EINVAL));
  const timeouts: Record<string, number> = {};
  const known = TIMEOUT_ATTRS[l4proto];
  for (const s of states) {
    const m = /^([A-Za-z0-9_]+)=(\d+)$/.exec(s);
    const key = m && known.find((k) => k.toLowerCase() === m[1].replace(/_/g, '').toLowerCase());
    if (!m || !key || Number(m[2]) > 0xffffffff) throw new CliError(dpctlMessage(`${s}: expected STATE=SECONDS, STATE one of ${known.join(', ')}`, EINVAL));
    timeouts[key] = Number(m[2]);
  }
  const { putTimeoutPolicy } = await import('../conntrack/timeout.js');
  try {
    await withPolicies(ctx, (conn) => putTimeoutPolicy(conn, { name, l3proto, l4proto, timeouts }, { replace: true }));
  } catch (err) {
    throw explain(ctx, err, `failed to set timeout policy ${name}`);
  }
}

/** The family and protocol as the commands name them (numbers for the ones they have no name for). */
const familyName = (l3proto: number): string | number => (l3proto === AF_INET ? 'ipv4' : l3proto === AF_INET6 ? 'ipv6' : l3proto);
const protoName = (l4proto: number): string | number => PROTO_NAMES.get(l4proto) ?? l4proto;

function describe(p: TimeoutPolicy): string {
  const family = familyName(p.l3proto);
  const states = Object.entries(p.timeouts).map(([k, v]) => ` ${k}=${v}`);
  return `${p.name}: ${typeof family === 'number' ? `family ${family}` : family} ${protoName(p.l4proto)} use=${p.use ?? 0}${states.join('')}`;
}

/** ct-get-tp [NAME]: one policy, or all, with every state's seconds and the use count. */
export async function getPolicies(ctx: Ctx, args: string[]): Promise<void> {
  const { dumpTimeoutPolicies, getTimeoutPolicy } = await import('../conntrack/timeout.js');
  let list: TimeoutPolicy[];
  try {
    list = await withPolicies(ctx, async (conn) => (args[0] !== undefined ? [await getTimeoutPolicy(conn, args[0])] : dumpTimeoutPolicies(conn)));
  } catch (err) {
    throw explain(ctx, err, args[0] !== undefined ? `failed to get timeout policy ${args[0]}` : 'failed to dump timeout policies');
  }
  if (ctx.json) {
    ctx.out.line(JSON.stringify(list.map((p) => ({ name: p.name, family: familyName(p.l3proto), proto: protoName(p.l4proto), use: p.use, timeouts: p.timeouts }))));
    return;
  }
  for (const p of list) ctx.out.line(describe(p));
}

/** ct-del-tp [NAME]: one policy, or every one. */
export async function delPolicy(ctx: Ctx, args: string[]): Promise<void> {
  const { deleteTimeoutPolicy } = await import('../conntrack/timeout.js');
  try {
    await withPolicies(ctx, (conn) => deleteTimeoutPolicy(conn, args[0]));
  } catch (err) {
    throw explain(ctx, err, args[0] !== undefined ? `failed to delete timeout policy ${args[0]}` : 'failed to delete timeout policies');
  }
}
