// Flow commands: dump-flows, add-flow, mod-flow, get-flow, del-flow, and the
// hidden parse-actions. Keys take port names (`in_port(eth0)`), actions port
// numbers, as in ovs-dpctl. Without `ufid:` a flow is added without a UFID,
// as ovs-dpctl does (lib/dpctl.c computes one only under ovs-appctl): the
// kernel then knows it by its key, and `del-flow KEY` finds it.
import type { Flow, FlowPutMode } from '../dpif/dpif.js';
import { parseOdpActions, formatOdpActions } from '../odp/index.js';
import type { Ctx } from './context.js';
import { CliError, dpctlMessage, errnoOf, dpctlError } from './errors.js';
import { optDatapath } from './dpname.js';
import { flowJson, formatStats, monotonicMs, parseDel, parsePut, splitUfid } from './flow-text.js';
import { DumpFormatter } from '../odp/dump-format.js';
import { processFlowFile } from './flow-file.js';
import { portMaps } from './dump-flows.js';

export { dumpFlows, portMaps, type PortMaps } from './dump-flows.js';

/** Prints the flow's stats line (-s). */
function printStats(ctx: Ctx, f: Pick<Flow, 'stats' | 'used' | 'tcpFlags'> | undefined): void {
  ctx.out.line(formatStats(f ?? {}));
}

async function putFlow(ctx: Ctx, args: string[], mode: FlowPutMode, clear: boolean): Promise<void> {
  const { dp } = await optDatapath(ctx, args, 4);
  const [keyText, actionsText] = args.slice(-2);
  const ports = await portMaps(ctx, dp);
  const p = parsePut(keyText, actionsText, ports.byName);
  if ('error' in p) throw new CliError(p.error);
  const dpif = await ctx.dpif();
  let flow: Flow | undefined;
  try {
    flow = await dpif.putFlow(dp.dpIfindex, { ...p, mode, clear, echo: !!ctx.opts.statistics });
  } catch (err) {
    throw dpctlError('updating flow table', err);
  }
  if (ctx.opts.statistics) printStats(ctx, flow);
}

export async function addFlow(ctx: Ctx, args: string[]): Promise<void> {
  await putFlow(ctx, args, 'create', false);
}

export async function modFlow(ctx: Ctx, args: string[]): Promise<void> {
  // --may-create: NEW without NLM_F_CREATE, which creates or replaces.
  await putFlow(ctx, args, ctx.opts.mayCreate ? 'upsert' : 'modify', !!ctx.opts.clear);
}

export async function getFlow(ctx: Ctx, args: string[]): Promise<void> {
  const { dp } = await optDatapath(ctx, args, 3);
  const text = args[args.length - 1];
  const ports = ctx.names ? (await portMaps(ctx, dp)).byNumber : undefined;
  const u = splitUfid(text);
  // ovs-dpctl prints these and still exits 0; ovsnl exits 1.
  if (u.error) throw new CliError(dpctlMessage('parsing flow ufid', { code: 'EINVAL' }));
  if (!u.ufid) throw new CliError('parsing flow ufid');
  const dpif = await ctx.dpif();
  let f: Flow;
  try {
    f = await dpif.getFlow(dp.dpIfindex, { ufid: u.ufid });
  } catch (err) {
    throw dpctlError('getting flow', err);
  }
  const now = monotonicMs();
  if (ctx.json) ctx.out.line(JSON.stringify(flowJson(f, { terse: new DumpFormatter(false, ports), verbose: new DumpFormatter(true, ports) }, now)));
  else ctx.out.line(new DumpFormatter(ctx.verbosity > 0, ports).line(f, now));
}

export async function delFlow(ctx: Ctx, args: string[]): Promise<void> {
  const { dp } = await optDatapath(ctx, args, 3);
  const text = args[args.length - 1];
  const ports = await portMaps(ctx, dp);
  const id = parseDel(text, ports.byName);
  if ('error' in id) throw new CliError(id.error);
  const dpif = await ctx.dpif();
  let f: Flow;
  try {
    f = await dpif.deleteFlow(dp.dpIfindex, id);
  } catch (err) {
    ctx.error(dpctlMessage('deleting flow', err));
    // On stdout, as ovs-dpctl prints it.
    if (errnoOf(err) === 'ENOENT' && !id.ufid) ctx.out.line('Perhaps you need to specify a UFID?');
    return;
  }
  if (ctx.opts.statistics) printStats(ctx, f);
}

async function flowsFromFile(ctx: Ctx, args: string[], defaultCommand: 'add' | 'modify' | 'delete'): Promise<void> {
  const { dp } = await optDatapath(ctx, args, 4);
  await processFlowFile(ctx, dp, args[args.length - 1], defaultCommand);
}

/** del-flows FILE (del-flows.ts decides between a file and a flush). */
export const delFlowsFromFile = (ctx: Ctx, args: string[]): Promise<void> => flowsFromFile(ctx, args, 'delete');

export async function parseActions(ctx: Ctx, args: string[]): Promise<void> {
  const out: string[] = [];
  for (const a of args) {
    try {
      out.push(formatOdpActions(parseOdpActions(a)));
    } catch {
      ctx.out.write(out.map((s) => s + '\n').join(''));
      throw new CliError(dpctlMessage('odp_actions_from_string', { code: 'EINVAL' }));
    }
  }
  if (ctx.json) ctx.out.line(JSON.stringify(out));
  else for (const s of out) ctx.out.line(s);
}

export const addFlows = (ctx: Ctx, args: string[]): Promise<void> => flowsFromFile(ctx, args, 'add');
export const modFlows = (ctx: Ctx, args: string[]): Promise<void> => flowsFromFile(ctx, args, 'modify');
