// del-flows: with a FILE, the flows it names (flows.ts, which loads the flow
// parser); without one, a flush, which needs no parser: it is all process
// start, and under emulation loading the parser was a third of it.
import type { Ctx } from './context.js';
import { dpctlError } from './errors.js';
import { dpArgExists, optDatapath } from './dpname.js';

export async function delFlows(ctx: Ctx, args: string[]): Promise<void> {
  // dpctl_del_flows: a lone argument that is no datapath is a file.
  const exists = await dpArgExists(ctx, args[0]);
  if ((!exists && args.length === 1) || args.length > 1) return (await import('./flows.js')).delFlowsFromFile(ctx, args);
  const { dp } = await optDatapath(ctx, args, 2);
  try {
    await (await ctx.dpif()).flushFlows(dp.dpIfindex);
  } catch (err) {
    throw dpctlError('deleting all flows', err);
  }
}
