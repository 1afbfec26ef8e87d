// Datapath names as ovs-dpctl takes them, `[type@]name`, and its rule for the
// optional datapath argument: the first argument is the datapath if one of
// that name exists; otherwise, unless all arguments are given, the only
// datapath there is (lib/dpctl.c opt_dpif_open). ovsnl drives the kernel
// datapath, type `system`; other types get a clear error instead of OVS's
// in-process userspace datapath, which would vanish with the process.
import type { Datapath } from '../dpif/dpif.js';
import type { Ctx } from './context.js';
import { CliError, dpctlMessage } from './errors.js';
import { ssetOrder } from './ovs-order.js';

export interface DpName {
  type: string;
  name: string;
}

/** dp_parse_name: "type@name" or "name" (type "system"); an empty part is "system", as in OVS. */
export function parseDpName(arg: string): DpName {
  const at = arg.indexOf('@');
  if (at < 0) return { type: 'system', name: arg };
  const type = arg.slice(0, at);
  const rest = arg.slice(at + 1);
  return { type, name: rest === '' ? 'system' : rest };
}

export const fullName = (dp: { name: string }): string => `system@${dp.name}`;

/** Refuses datapath types other than the kernel's. */
export function checkType(dp: DpName, arg: string): void {
  if (dp.type !== 'system') {
    throw new CliError(
      `${arg}: datapath type '${dp.type}' is not supported: ovsnl manages the kernel datapath (type 'system', written 'system@NAME' or just 'NAME')`,
    );
  }
}

/** All datapaths, in the order ovs-dpctl lists them. */
export async function listDatapaths(ctx: Ctx): Promise<Datapath[]> {
  const dpif = await ctx.dpif();
  const dps = await dpif.listDatapaths();
  const byName = new Map(dps.map((d) => [d.name, d]));
  return ssetOrder(dps.map((d) => d.name)).map((n) => byName.get(n)!);
}

/** dpif_open: the datapath of this name, or a CliError with `context (strerror)`. */
export async function openDatapath(ctx: Ctx, arg: string, context: string): Promise<Datapath> {
  const dp = parseDpName(arg);
  checkType(dp, arg);
  const dpif = await ctx.dpif();
  try {
    return await dpif.getDatapath(dp.name);
  } catch (err) {
    throw new CliError(dpctlMessage(context, err));
  }
}

/** dp_arg_exists: whether this argument names an existing (kernel) datapath. */
export async function dpArgExists(ctx: Ctx, arg: string | undefined): Promise<boolean> {
  if (arg === undefined) return false;
  const dp = parseDpName(arg);
  if (dp.type !== 'system') return false;
  return (await (await ctx.dpif()).listDatapaths()).some((d) => d.name === dp.name);
}

/**
 * opt_dpif_open: the datapath the arguments name, and the arguments after it.
 * `maxArgs` counts the command name, as in OVS's table.
 */
export async function optDatapath(ctx: Ctx, args: string[], maxArgs: number): Promise<{ dp: Datapath; rest: string[] }> {
  const all = await listDatapaths(ctx);
  if (args.length >= 1) {
    const first = parseDpName(args[0]);
    if (first.type === 'system') {
      const dp = all.find((d) => d.name === first.name);
      if (dp) return { dp, rest: args.slice(1) };
    } else if (args[0].includes('@') && /^[A-Za-z0-9_-]+@/.test(args[0]) && !args[0].includes('(')) {
      checkType(first, args[0]);
    }
  }
  if (args.length + 1 !== maxArgs) {
    if (all.length === 1) return { dp: all[0], rest: args };
    ctx.error(all.length ? 'multiple datapaths, specify one' : 'no datapaths exist');
  }
  throw new CliError(dpctlMessage('datapath not found', { code: 'EINVAL' }));
}
