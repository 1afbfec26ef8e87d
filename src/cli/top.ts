// top: the flows of a datapath by packet or byte rate, from successive dumps
// (like ovs-dpctl-top). On a terminal the screen is redrawn each interval
// with the busiest flows that fit; otherwise one whole table is printed per
// interval (or one JSON object per line with --json). Reads only: dumps, no
// change to the datapath.
import type { Flow } from '../dpif/dpif.js';
import { formatUfid } from '../ovs/ufid.js';
import type { Ctx } from './context.js';
import { fullName, optDatapath } from './dpname.js';
import { CliError, dpctlError } from './errors.js';
import { DumpFormatter } from '../odp/dump-format.js';
import { eachFlow } from './flow-walk.js';
import { portMaps } from './dump-flows.js';
import { parseCount, parseInterval, sleepUnless, stopper } from './live.js';
import { countersOf, flowRates, formatTopTable, parseSort, topJson, type Counters, type FlowSample } from './top-rates.js';

const CLEAR = '\x1b[H\x1b[2J';

const flowId = (f: Flow): string =>
  f.ufid ? 'u' + Buffer.from(f.ufid.buffer, f.ufid.byteOffset, f.ufid.byteLength).toString('hex') : 'k' + (f.key ? Buffer.from(f.key.buffer, f.key.byteOffset, f.key.byteLength).toString('latin1') : '');

export async function top(ctx: Ctx, args: string[]): Promise<void> {
  const limit = parseCount(ctx.opts.count);
  const intervalMs = parseInterval(ctx.opts.interval, 1);
  let sort;
  try {
    sort = parseSort(ctx.opts.sort);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  const { dp } = await optDatapath(ctx, args, 2);
  const names = ctx.names ? (await portMaps(ctx, dp)).byNumber : undefined;
  const dpif = await ctx.dpif();
  const fmt = new DumpFormatter(ctx.verbosity > 0, names);
  const datapath = fullName(dp);

  const sample = async (): Promise<{ samples: FlowSample[]; at: bigint }> => {
    const at = process.hrtime.bigint();
    const samples: FlowSample[] = [];
    try {
      await eachFlow(dpif, dp.dpIfindex, (f) => {
        // Views of the reply: everything kept is copied out here (text, counters, id).
        samples.push({
          id: flowId(f),
          packets: f.stats?.packets ?? 0n,
          bytes: f.stats?.bytes ?? 0n,
          ufid: f.ufid ? formatUfid(f.ufid).slice(5) : null,
          key: fmt.key(f.key, f.mask),
          actions: fmt.actions(f.actions),
        });
      });
    } catch (err) {
      throw dpctlError('Failed to dump flows from datapath', err);
    }
    return { samples, at };
  };

  const stop = stopper(ctx.io);
  const tty = ctx.out.isTTY && !ctx.json;
  try {
    let prev: { counters: Counters; at: bigint } = await sample().then((s) => ({ counters: countersOf(s.samples), at: s.at }));
    for (let n = 0; limit === undefined || n < limit; n++) {
      await sleepUnless(intervalMs, stop);
      if (stop.isStopped) break;
      const now = await sample();
      const ms = Number(now.at - prev.at) / 1e6;
      const rows = flowRates(now.samples, prev.counters, ms, sort);
      prev = { counters: countersOf(now.samples), at: now.at };
      const o = { datapath, sort, ms, time: new Date() };
      if (ctx.json) {
        ctx.out.line(JSON.stringify(topJson(rows, o)));
      } else if (tty) {
        // The heading, the column line and "(N more)" take three rows.
        ctx.out.write(CLEAR + formatTopTable(rows, { ...o, maxRows: (ctx.io.rows ?? 24) - 4, width: ctx.io.columns ?? 80 }));
      } else {
        ctx.out.write((n ? '\n' : '') + formatTopTable(rows, o));
      }
      ctx.out.flush();
    }
  } finally {
    stop.dispose();
  }
}
