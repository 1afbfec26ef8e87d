// dump-flows, in a module of its own: it imports the formatters and none of
// the flow parsers, which under emulation take seconds to load (filter=
// loads its parser when given). Replies are read in place (flow-walk.ts)
// and formatted from their bytes (odp/dump-format.ts).
import type { Datapath } from '../dpif/dpif.js';
import type { Ctx } from './context.js';
import { CliError, dpctlError } from './errors.js';
import { fullName, optDatapath } from './dpname.js';
import type { FlowFilter } from './filter.js';
import { flowJson, monotonicMs } from './flow-out.js';
import { DumpFormatter } from '../odp/dump-format.js';
import { eachFlow } from './flow-walk.js';
import { decodeKey } from '../ovs/key-codec.js';

export interface PortMaps {
  byName: Map<string, number>;
  byNumber: Map<number, string>;
}

export async function portMaps(ctx: Ctx, dp: Datapath): Promise<PortMaps> {
  const vports = await (await ctx.dpif()).listVports(dp.dpIfindex);
  return { byName: new Map(vports.map((v) => [v.name, v.portNo])), byNumber: new Map(vports.map((v) => [v.portNo, v.name])) };
}

export async function dumpFlows(ctx: Ctx, argsIn: string[]): Promise<void> {
  const args = [...argsIn];
  let filterText: string | undefined;
  let pmdFilter = false;
  // Trailing filter=, type=, pmd= in any order (dpctl_dump_flows).
  for (let last = -1; args.length && last !== args.length; ) {
    last = args.length;
    const a = args[args.length - 1];
    if (a.startsWith('filter=') && filterText === undefined) {
      filterText = a.slice(7);
      args.pop();
    } else if (a.startsWith('type=')) {
      throw new CliError("Invalid argument 'type'. Use 'ovs-appctl dpctl/dump-flows' instead.");
    } else if (a.startsWith('pmd=')) {
      // Only the userspace datapath has PMD threads: no kernel flow is on one.
      if (!/^pmd=\s*[+-]?\d+/.test(a)) throw new CliError('', 1);
      pmdFilter = true;
      args.pop();
    }
  }
  const { dp } = await optDatapath(ctx, args, 2);
  const ports = await portMaps(ctx, dp);
  const names = ctx.names ? ports.byNumber : undefined;
  let filter: FlowFilter | undefined;
  if (filterText !== undefined) {
    const { compileFilter } = await import('./filter.js');
    try {
      filter = compileFilter(filterText, ports.byName);
    } catch (err) {
      throw new CliError(`Failed to parse filter (${(err as Error).message})`);
    }
  }
  if (pmdFilter) return;
  const dpif = await ctx.dpif();
  const json: unknown[] = [];
  const fmt = new DumpFormatter(ctx.verbosity > 0, names);
  const jsonFmt = ctx.json ? { terse: new DumpFormatter(false, names), verbose: new DumpFormatter(true, names) } : undefined;
  let now = 0n;
  let n = 0;
  try {
    await eachFlow(dpif, dp.dpIfindex, (f) => {
      if (filter && !filter(f.key ? decodeKey(f.key) : {}, f.mask ? decodeKey(f.mask) : {})) return;
      // The clock, for "used:" (seconds ago), read every 64 flows: well within its millisecond.
      if ((n++ & 63) === 0) now = monotonicMs();
      if (jsonFmt) json.push(flowJson(f, jsonFmt, now));
      else ctx.out.line(fmt.line(f, now));
    });
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw dpctlError('Failed to dump flows from datapath', err);
  }
  if (ctx.json) ctx.out.line(JSON.stringify({ datapath: fullName(dp), flows: json }));
}
