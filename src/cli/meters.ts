// Meters (beyond ovs-dpctl, which has none): add-meter, del-meter,
// dump-meters, meter-features. The kernel has one band type (drop), no meter
// dump (dump-meters asks for each id: 0-1023 unless ids are given), and
// reports a meter's counters only, not its rates: those are what add-meter set.
import type { Meter } from '../dpif/dpif.js';
import type { Ctx } from './context.js';
import { CliError, dpctlMessage } from './errors.js';
import { dpArgExists, optDatapath } from './dpname.js';
import { monotonicMs } from './flow-text.js';

const EINVAL = { code: 'EINVAL' };
const DEFAULT_SCAN = 1024;

function uint(s: string, what: string, max = 0xffffffff): number {
  if (!/^(0x[0-9a-fA-F]+|\d+)$/.test(s) || Number(s) > max) throw new CliError(dpctlMessage(`${what}: "${s}" is not a number (0-${max})`, EINVAL));
  return Number(s);
}

/** `rate=R[,burst=B][,type=drop]` */
function parseBand(s: string): { rate: number; burst: number } {
  let rate: number | undefined;
  let burst: number | undefined;
  for (const part of s.split(',').filter(Boolean)) {
    const [k, v = ''] = part.split('=', 2);
    if (k === 'rate') rate = uint(v, 'rate');
    else if (k === 'burst' || k === 'burst_size') burst = uint(v, 'burst');
    else if (k === 'type') {
      if (v !== 'drop') throw new CliError(dpctlMessage(`band type ${v}: the kernel datapath has drop bands only`, { code: 'EOPNOTSUPP' }));
    } else throw new CliError(dpctlMessage(`unknown band field ${k} (rate, burst, type)`, EINVAL));
  }
  if (!rate) throw new CliError(dpctlMessage(`band "${s}": rate=N is required and must not be 0`, EINVAL));
  // Without a burst size OVS uses the rate (one second's worth).
  return { rate, burst: burst ?? rate };
}

export async function addMeter(ctx: Ctx, args: string[]): Promise<void> {
  const { dp } = await optDatapath(ctx, args, Infinity);
  const rest = (await dpArgExists(ctx, args[0])) ? args.slice(1) : args;
  const [idText, ...opts] = rest;
  if (idText === undefined) throw new CliError(dpctlMessage('add-meter needs a meter id', EINVAL));
  const id = uint(idText, 'meter id');
  let kbps = false;
  const bands: { rate: number; burst: number }[] = [];
  for (const o of opts) {
    if (o === 'kbps') kbps = true;
    else if (o === 'pktps') kbps = false;
    else bands.push(parseBand(o));
  }
  if (!bands.length) throw new CliError(dpctlMessage('add-meter needs at least one band (rate=N[,burst=N])', EINVAL));
  const dpif = await ctx.dpif();
  try {
    const old = await dpif.setMeter(dp.dpIfindex, { id, kbps, bands, clear: !!ctx.opts.clear });
    if (ctx.opts.statistics && old) ctx.out.line(formatMeter(old, monotonicMs()));
  } catch (err) {
    throw new CliError(dpctlMessage(`setting meter ${id}`, err));
  }
}

export async function delMeter(ctx: Ctx, args: string[]): Promise<void> {
  const { dp } = await optDatapath(ctx, args, Infinity);
  const ids = ((await dpArgExists(ctx, args[0])) ? args.slice(1) : args).map((s) => uint(s, 'meter id'));
  if (!ids.length) throw new CliError(dpctlMessage('del-meter needs meter ids', EINVAL));
  const dpif = await ctx.dpif();
  for (const id of ids) {
    try {
      const gone = await dpif.deleteMeter(dp.dpIfindex, id);
      if (!gone) ctx.error(dpctlMessage(`deleting meter ${id}`, { code: 'ENOENT' }));
      else if (ctx.opts.statistics) ctx.out.line(formatMeter(gone, monotonicMs()));
    } catch (err) {
      ctx.error(dpctlMessage(`deleting meter ${id}`, err));
    }
  }
}

/** `meter:ID packets:N bytes:N used:T` and a line per band; the kernel's replies carry counters only. */
function formatMeter(m: Meter, now: bigint): string {
  const used = m.used ? `${(Number(now - m.used) / 1000).toFixed(3)}s` : 'never';
  let s = `meter:${m.id} packets:${m.stats?.packets ?? 0n} bytes:${m.stats?.bytes ?? 0n} used:${used}`;
  (m.bands ?? []).forEach((b, i) => {
    s += `\n  band ${i}: packets:${b.stats?.packets ?? 0n} bytes:${b.stats?.bytes ?? 0n}`;
  });
  return s;
}

function meterJson(m: Meter, now: bigint): unknown {
  return {
    id: m.id,
    packets: Number(m.stats?.packets ?? 0n),
    bytes: Number(m.stats?.bytes ?? 0n),
    used_ms_ago: m.used ? Number(now - m.used) : null,
    bands: (m.bands ?? []).map((b) => ({ packets: Number(b.stats?.packets ?? 0n), bytes: Number(b.stats?.bytes ?? 0n) })),
  };
}

export async function dumpMeters(ctx: Ctx, args: string[]): Promise<void> {
  const { dp } = await optDatapath(ctx, args, Infinity);
  const given = ((await dpArgExists(ctx, args[0])) ? args.slice(1) : args).map((s) => uint(s, 'meter id'));
  const dpif = await ctx.dpif();
  let ids = given;
  if (!ids.length) {
    const f = await dpif.meterFeatures(dp.dpIfindex).catch((err: unknown) => {
      throw new CliError(dpctlMessage('getting meter features', err));
    });
    ids = Array.from({ length: Math.min(f.maxMeters, DEFAULT_SCAN) }, (_, i) => i);
  }
  let meters: Meter[];
  try {
    meters = await dpif.getMeters(dp.dpIfindex, ids);
  } catch (err) {
    throw new CliError(dpctlMessage('dumping meters', err));
  }
  const now = monotonicMs();
  if (ctx.json) ctx.out.line(JSON.stringify(meters.map((m) => meterJson(m, now))));
  else for (const m of meters) ctx.out.line(formatMeter(m, now));
}

export async function meterFeatures(ctx: Ctx, args: string[]): Promise<void> {
  const { dp } = await optDatapath(ctx, args, 2);
  let f;
  try {
    f = await (await ctx.dpif()).meterFeatures(dp.dpIfindex);
  } catch (err) {
    throw new CliError(dpctlMessage('getting meter features', err));
  }
  const types = f.bandTypes.map((t) => (t === 1 ? 'drop' : `type${t}`));
  if (ctx.json) ctx.out.line(JSON.stringify({ max_meters: f.maxMeters, max_bands: f.maxBands, band_types: types }));
  else ctx.out.line(`max_meters:${f.maxMeters} max_bands:${f.maxBands} band_types:${types.join(',') || 'none'}`);
}
