// Datapath commands: add-dp, del-dp, dump-dps, show, cache-get-size,
// cache-set-size. Reads are GETs only: ovs-dpctl's open rewrites a datapath's
// user features on every command, `show` included (and so switches upcalls
// to per-CPU dispatch under a listener's feet); ovsnl's do not.
import type { Datapath } from '../dpif/dpif.js';
import type { Ctx } from './context.js';
import { CliError, dpctlError, dpctlMessage, strerror } from './errors.js';
import { checkType, fullName, listDatapaths, openDatapath, parseDpName } from './dpname.js';
import { addIfaces } from './ports.js';
import { removeTunnelDevice, isKernelTunnelType } from './netdev.js';
import { portType, tunnelTypeFromName } from './port-types.js';
import { formatCaches, formatShow, showJson } from './show.js';

export async function addDp(ctx: Ctx, args: string[]): Promise<void> {
  const [arg, ...ifaces] = args;
  const name = parseDpName(arg);
  checkType(name, arg);
  const dpif = await ctx.dpif();
  let dp: Datapath;
  try {
    dp = await dpif.createDatapath({ name: name.name });
  } catch (err) {
    throw dpctlError('add_dp', err);
  }
  if (ifaces.length) await addIfaces(ctx, dp, arg, ifaces);
}

/** Tunnel devices behind a datapath's ports, named as OVS names the ones it makes. */
function tunnelDevices(vports: { name: string; type: number }[]): string[] {
  return vports.filter((v) => tunnelTypeFromName(v.name) && isKernelTunnelType(portType(v))).map((v) => v.name);
}

export async function delDp(ctx: Ctx, args: string[]): Promise<void> {
  const dp = await openDatapath(ctx, args[0], 'opening datapath');
  const dpif = await ctx.dpif();
  const vports = await dpif.listVports(dp.dpIfindex).catch(() => []);
  try {
    await dpif.deleteDatapath(dp.dpIfindex);
  } catch (err) {
    throw dpctlError('del_dp', err);
  }
  // ovs-dpctl leaves the vxlan_sys_4789 & co it made behind; ovsnl removes them.
  for (const name of tunnelDevices(vports)) {
    await removeTunnelDevice(name).catch((err: unknown) => ctx.warn(`${name}: could not remove the tunnel device (${strerror(err)})`));
  }
}

export async function dumpDps(ctx: Ctx): Promise<void> {
  const dps = await listDatapaths(ctx);
  if (ctx.json) {
    ctx.out.line(JSON.stringify(dps.map((d) => ({ name: fullName(d), base_name: d.name, dp_ifindex: d.dpIfindex }))));
    return;
  }
  for (const d of dps) ctx.out.line(fullName(d));
}

export async function show(ctx: Ctx, args: string[]): Promise<void> {
  const dpif = await ctx.dpif();
  const stats = !!ctx.opts.statistics;
  const out: unknown[] = [];
  const showOne = async (dp: Datapath): Promise<void> => {
    const vports = await dpif.listVports(dp.dpIfindex);
    if (ctx.json) out.push(showJson(dp, vports, stats));
    else ctx.out.write(formatShow(dp, vports, stats));
  };
  if (args.length) {
    // One datapath after the other, errors in their place, as ovs-dpctl does.
    for (const arg of args) {
      let dp: Datapath;
      try {
        dp = await openDatapath(ctx, arg, `opening datapath ${arg} failed`);
      } catch (err) {
        if (!(err instanceof CliError)) throw err;
        ctx.error(err.message);
        continue;
      }
      await showOne(dp);
    }
  } else {
    for (const dp of await listDatapaths(ctx)) await showOne(dp);
  }
  if (ctx.json) ctx.out.line(JSON.stringify(out));
}

export async function cacheGetSize(ctx: Ctx, args: string[]): Promise<void> {
  const dps = args.length ? [await openDatapath(ctx, args[0], `Opening datapath ${args[0]} failed`)] : await listDatapaths(ctx);
  if (ctx.json) {
    ctx.out.line(JSON.stringify(dps.map((d) => ({ name: fullName(d), caches: d.masksCacheSize === undefined ? {} : { 'masks-cache': d.masksCacheSize } }))));
    return;
  }
  for (const d of dps) ctx.out.write(`${fullName(d)}:\n${formatCaches(d)}`);
}

/** ROUND_UP_POW2 on a u32 (0 and overflow give 0). */
function roundUpPow2(n: number): number {
  if (n === 0) return 0;
  let v = (n - 1) >>> 0;
  v |= v >>> 1;
  v |= v >>> 2;
  v |= v >>> 4;
  v |= v >>> 8;
  v |= v >>> 16;
  return (v + 1) >>> 0;
}

export async function cacheSetSize(ctx: Ctx, args: string[]): Promise<void> {
  const [dpArg, cache, sizeArg] = args;
  const m = /^\s*\+?(\d+)/.exec(sizeArg);
  if (!m || Number(m[1]) > 0xffffffff) throw new CliError(dpctlMessage('size is malformed', { code: 'EINVAL' }));
  const dp = await openDatapath(ctx, dpArg, `Opening datapath ${dpArg} failed`);
  if (dp.masksCacheSize === undefined) {
    // ovs-dpctl says so with no errno and exits 0.
    const before = ctx.status;
    ctx.error('Setting caches not supported');
    ctx.status = before;
    return;
  }
  if (cache !== 'masks-cache') throw new CliError(dpctlMessage(`Cache name "${cache}" not found on dpif`, { code: 'EINVAL' }));
  const dpif = await ctx.dpif();
  try {
    await dpif.setDatapath(dp.dpIfindex, { masksCacheSize: roundUpPow2(Number(m[1])) });
  } catch (err) {
    throw dpctlError('Setting cache size failed', err);
  }
  const after = await dpif.getDatapath(dp.dpIfindex);
  ctx.out.line(`Setting cache size successful, new size ${after.masksCacheSize}`);
}
