// ct-set-limits, ct-get-limits, ct-del-limits: per-zone conntrack connection
// limits (the ovs_ct_limit family). They belong to the network namespace; the
// datapath argument only has to exist, as in ovs-dpctl.
import type { Ctx } from './context.js';
import { CliError, dpctlMessage, strerror } from './errors.js';
import { dpArgExists, optDatapath } from './dpname.js';

const EINVAL = { code: 'EINVAL' };

/** OVS's str_to_u32 / str_to_u16: strtoull base 0, the whole string. */
function strToUint(s: string, max: number): number | undefined {
  if (!/^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9]\d*)$/.test(s)) return undefined;
  const v = s.length > 1 && s[0] === '0' && !/[xX]/.test(s[1]) ? Number.parseInt(s, 8) : Number(s);
  return v <= max ? v : undefined;
}

/** ovs_scan("%"SCNu16): leading digits, anything after ignored. */
function scanU16(s: string): number | undefined {
  const m = /^\s*\+?(\d+)/.exec(s);
  if (!m) return undefined;
  return Number(m[1]) & 0xffff;
}

/** ct_dpif_parse_zone_limit_tuple: `zone=N,limit=L`. */
function parseZoneLimit(s: string): { zoneId: number; limit: number } | string {
  let zone: number | undefined;
  let limit: number | undefined;
  for (const part of s.split(',').filter(Boolean)) {
    const eq = part.search(/[=:]/);
    const key = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    if (!value) return `field ${key} missing value`;
    if (key === 'zone') {
      zone = strToUint(value, 0xffff);
      if (zone === undefined) return `failed to parse field ${key}`;
    } else if (key === 'limit') {
      limit = strToUint(value, 0xffffffff);
      if (limit === undefined) return `failed to parse field ${key}`;
    } else {
      return `invalid zone limit field: ${key}`;
    }
  }
  if (zone === undefined || limit === undefined) return 'failed to parse zone limit';
  return { zoneId: zone, limit };
}

/** parse_ct_limit_zones: `zone=N1[,N2]...`. */
function parseZones(s: string | undefined): number[] | string {
  if (s === undefined || !s.startsWith('zone=')) return `invalid argument ${s ?? ''}`;
  const zones: number[] = [];
  for (const z of s.slice(5).split(',').filter(Boolean)) {
    const v = scanU16(z);
    if (v === undefined) return 'invalid zone';
    zones.push(v);
  }
  if (!zones.length) return 'invalid zone';
  return zones;
}

export async function setLimits(ctx: Ctx, args: string[]): Promise<void> {
  await optDatapath(ctx, args, Infinity);
  let i = (await dpArgExists(ctx, args[0])) ? 1 : 0;
  let defaultLimit: number | undefined;
  if (args[i]?.startsWith('default=')) {
    const m = /^default=\s*\+?(\d+)/.exec(args[i]);
    if (!m || Number(m[1]) > 0xffffffff) throw new CliError(dpctlMessage('invalid default limit', EINVAL));
    defaultLimit = Number(m[1]);
    i++;
  }
  const zones: { zoneId: number; limit: number }[] = [];
  for (; i < args.length; i++) {
    const z = parseZoneLimit(args[i]);
    if (typeof z === 'string') throw new CliError(dpctlMessage(z, EINVAL));
    zones.push(z);
  }
  if (defaultLimit === undefined && !zones.length) return;
  try {
    await (await ctx.dpif()).setCtLimits({ defaultLimit, zones });
  } catch (err) {
    throw new CliError(dpctlMessage('failed to set conntrack limit', err));
  }
}

export async function delLimits(ctx: Ctx, args: string[]): Promise<void> {
  await optDatapath(ctx, args, 3);
  const i = (await dpArgExists(ctx, args[0])) ? 1 : 0;
  const zones = parseZones(args[i]);
  if (typeof zones === 'string') throw new CliError(dpctlMessage(zones, EINVAL));
  try {
    await (await ctx.dpif()).deleteCtLimits(zones);
  } catch (err) {
    throw new CliError(dpctlMessage('failed to delete conntrack limit', err));
  }
}

export async function getLimits(ctx: Ctx, args: string[]): Promise<void> {
  await optDatapath(ctx, args, 3);
  const i = (await dpArgExists(ctx, args[0])) ? 1 : 0;
  let query: number[] | undefined;
  if (args.length > i) {
    const z = parseZones(args[i]);
    if (typeof z === 'string') throw new CliError(dpctlMessage(z, EINVAL));
    query = z;
  }
  let limits;
  try {
    limits = await (await ctx.dpif()).getCtLimits(query);
  } catch (err) {
    throw new CliError(dpctlMessage(`failed to get conntrack limit ${strerror(err)}`, err));
  }
  if (ctx.json) {
    ctx.out.line(JSON.stringify({ default_limit: limits.defaultLimit, zones: limits.zones.map((z) => ({ zone: z.zoneId, limit: z.limit, count: z.count })) }));
    return;
  }
  let s = `default limit=${limits.defaultLimit}`;
  for (const z of limits.zones) s += `\nzone=${z.zoneId},limit=${z.limit},count=${z.count}`;
  ctx.out.line(s);
}
