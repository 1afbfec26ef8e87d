// add-flows / mod-flows / del-flows FILE (lib/dpctl.c dpctl_process_flows):
// one flow per line, optionally led by add, modify or delete; `#` starts a
// comment; `-` reads stdin as a stream. Every bad line gets its error line
// and the rest go on; the exit status stays 0, as ovs-dpctl's does.
// ovs-dpctl does one round trip per flow (and a port dump per flow);
// ovsnl parses a batch and sends it pipelined on one socket, then prints the
// per-line results in file order.
import { createReadStream, statSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { Datapath, Flow, FlowPut, FlowPutMode } from '../dpif/dpif.js';
import type { Ufid } from '../ovs/ufid.js';
import type { Ctx } from './context.js';
import { dpctlMessage, errnoOf, errorDetail, strerror } from './errors.js';
import { formatStats, parseDel, parsePutRange } from './flow-text.js';
import { portMaps } from './flows.js';
import { Progress } from './progress.js';

type Command = 'add' | 'modify' | 'delete';

/** One line of the file, parsed. */
type Op =
  | { kind: 'error'; message: string }
  | { kind: 'put'; mode: FlowPutMode; flow: FlowPut }
  | { kind: 'del'; id: { ufid?: Ufid; key?: Uint8Array } };

const isWs = (c: number): boolean => c === 32 || c === 9 || c === 13 || c === 10;

/** Where a line's parts are, as dpctl_parse_flow_line splits it; empty ranges where a part is missing. */
export interface LineParts {
  cmd: Command;
  flowStart: number;
  flowEnd: number;
  actionsStart: number;
  actionsEnd: number;
}

/** Whether s[at, at+len) is a prefix of word. */
function prefixOf(word: string, s: string, at: number, len: number): boolean {
  if (len > word.length) return false;
  for (let k = 0; k < len; k++) if (s.charCodeAt(at + k) !== word.charCodeAt(k)) return false;
  return true;
}

/**
 * dpctl_parse_flow_line over s[start, end) (a line inside a chunk of the
 * file): the command word (a prefix of add/delete/modify), the flow, the
 * actions, as offsets into s, so that a line costs no copies.
 */
export function scanFlowLine(s: string, start: number, end: number, def: Command, out: LineParts): void {
  let i = start;
  while (i < end && isWs(s.charCodeAt(i))) i++;
  let len = 0;
  while (i + len < end && !isWs(s.charCodeAt(i + len)) && s.charCodeAt(i + len) !== 44) len++;
  let cmd = def;
  // strncmp(line, WORD, len) == 0: the first word is a prefix of WORD (the empty one included).
  if (len <= 3 && prefixOf('add', s, i, len)) cmd = 'add';
  else if (prefixOf('delete', s, i, len)) cmd = 'delete';
  else if (prefixOf('modify', s, i, len)) cmd = 'modify';
  else len = 0;
  i += len;
  while (i < end && isWs(s.charCodeAt(i))) i++;
  const flowStart = i;
  while (i < end && !isWs(s.charCodeAt(i))) i++;
  const flowEnd = i;
  while (i < end && isWs(s.charCodeAt(i))) i++;
  out.cmd = cmd;
  out.flowStart = flowStart;
  out.flowEnd = flowEnd;
  // With no flow there are no actions either.
  out.actionsStart = flowEnd > flowStart ? i : end;
  out.actionsEnd = end;
}

/** dpctl_parse_flow_line: the command word (a prefix of add/delete/modify), the flow, the actions. */
export function parseFlowLine(line: string, def: Command): { cmd: Command; flow?: string; actions?: string } {
  const p: LineParts = { cmd: def, flowStart: 0, flowEnd: 0, actionsStart: 0, actionsEnd: 0 };
  scanFlowLine(line, 0, line.length, def, p);
  if (p.flowEnd === p.flowStart) return { cmd: p.cmd };
  const flow = line.slice(p.flowStart, p.flowEnd);
  return p.actionsStart < p.actionsEnd ? { cmd: p.cmd, flow, actions: line.slice(p.actionsStart) } : { cmd: p.cmd, flow };
}

/** s[start, end) holds spaces, tabs and newlines only (ds_get_preprocessed_line skips such a line). */
function blank(s: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 10) return false;
  }
  return true;
}

const BATCH = 8192;

export async function processFlowFile(ctx: Ctx, dp: Datapath, file: string, def: Command): Promise<void> {
  let stream: NodeJS.ReadableStream;
  let total: number | undefined;
  if (file === '-') {
    stream = ctx.io.stdin ?? process.stdin;
  } else {
    try {
      total = statSync(file).size;
      stream = createReadStream(file, { highWaterMark: 1 << 20 });
    } catch (err) {
      // ovs-dpctl exits 0 here too; a file that cannot be read is an error worth a status.
      ctx.error(dpctlMessage(`Opening file "${file}" failed`, err));
      return;
    }
  }
  const ports = (await portMaps(ctx, dp)).byName;
  const dpif = await ctx.dpif();
  const stats = !!ctx.opts.statistics;
  const progress = Progress.maybe(ctx.io, def === 'delete' ? 'del-flows' : def === 'modify' ? 'mod-flows' : 'add-flows', total);

  let ops: Op[] = [];
  let lineNo = 0;
  let bytes = 0;

  const parts: LineParts = { cmd: def, flowStart: 0, flowEnd: 0, actionsStart: 0, actionsEnd: 0 };
  // The first '#' at or after the current line of the current chunk (lines
  // come in order): one search per comment rather than a scan per line. Reset per chunk.
  let hashAt = -1;
  /** The line s[start, end), without its newline. */
  const toOp = (s: string, start: number, end: number): Op | undefined => {
    lineNo++;
    if (hashAt < start) {
      hashAt = s.indexOf('#', start);
      if (hashAt < 0) hashAt = s.length;
    }
    if (hashAt < end) end = hashAt;
    if (blank(s, start, end)) return undefined;
    scanFlowLine(s, start, end, def, parts);
    const { cmd, flowStart, flowEnd, actionsStart, actionsEnd } = parts;
    const flow = flowEnd > flowStart;
    const actions = actionsEnd > actionsStart;
    if ((!flow && !actions) || ((cmd === 'add' || cmd === 'modify') && !actions) || (cmd === 'delete' && actions)) {
      return { kind: 'error', message: `Failed parsing line number ${lineNo}, skipped!` };
    }
    if (cmd === 'delete') {
      const id = parseDel(s.slice(flowStart, flowEnd), ports);
      return 'error' in id ? { kind: 'error', message: id.error } : { kind: 'del', id };
    }
    const p = parsePutRange(s, flowStart, flowEnd, s.slice(actionsStart, actionsEnd), ports);
    if ('error' in p) return { kind: 'error', message: p.error };
    // mod-flows and "modify" lines modify only (no --may-create, no --clear), as in OVS.
    const mode: FlowPutMode = cmd === 'add' ? 'create' : 'modify';
    return { kind: 'put', mode, flow: { ufid: p.ufid, key: p.key, mask: p.mask, actions: p.actions, mode, echo: stats, kernelChecked: p.kernelChecked } };
  };

  const run = async (batch: Op[]): Promise<void> => {
    // Consecutive operations of one kind go out together; kinds stay in file order.
    const results: (Flow | undefined | Error | null)[] = new Array(batch.length).fill(null);
    for (let i = 0; i < batch.length; ) {
      const kind = batch[i].kind;
      let j = i;
      while (j < batch.length && batch[j].kind === kind) j++;
      if (kind === 'put') {
        const flows = batch.slice(i, j).map((op) => (op as Extract<Op, { kind: 'put' }>).flow);
        const r = await dpif.putFlows(dp.dpIfindex, flows);
        r.forEach((x, n) => (results[i + n] = x.ok ? x.flow : x.error));
      } else if (kind === 'del') {
        const ids = batch.slice(i, j).map((op) => (op as Extract<Op, { kind: 'del' }>).id);
        const r = await dpif.deleteFlows(dp.dpIfindex, ids, { stats });
        r.forEach((x, n) => (results[i + n] = x));
      }
      i = j;
    }
    progress?.clear();
    // The module's log lines come for the whole batch: name them once when several flows failed.
    const invalid = results.filter((r) => r instanceof Error && errnoOf(r) === 'EINVAL') as Error[];
    const shared = invalid.length > 1;
    batch.forEach((op, n) => {
      const r = results[n];
      if (op.kind === 'error') {
        ctx.error(op.message);
      } else if (r instanceof Error) {
        const context = op.kind === 'put' ? 'updating flow table' : 'deleting flow';
        ctx.error(shared && errnoOf(r) === 'EINVAL' ? `${context} (${strerror(r)})` : dpctlMessage(context, r));
        if (op.kind === 'del' && errnoOf(r) === 'ENOENT' && !op.id.ufid) ctx.out.line('Perhaps you need to specify a UFID?');
      } else if (stats) {
        ctx.out.line(formatStats(r ?? {}));
      }
    });
    if (shared) {
      const details = [...new Set(invalid.map((e) => errorDetail(e)).filter((d): d is string => !!d))];
      for (const d of details) ctx.warn(d);
    }
  };

  const decoder = new StringDecoder('utf8');
  let pending = '';
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    bytes += chunk.length;
    pending += typeof chunk === 'string' ? chunk : decoder.write(chunk);
    let nl: number;
    let start = 0;
    hashAt = -1;
    while ((nl = pending.indexOf('\n', start)) >= 0) {
      const op = toOp(pending, start, nl);
      if (op) ops.push(op);
      start = nl + 1;
      if (ops.length >= BATCH) {
        await run(ops);
        ops = [];
      }
    }
    pending = pending.slice(start);
    // A stream read as it comes (stdin): act on each piece, as ovs-dpctl acts on each line.
    if (file === '-' && ops.length) {
      await run(ops);
      ops = [];
    }
    progress?.update(bytes, lineNo);
  }
  pending += decoder.end();
  if (pending.length) {
    hashAt = -1;
    const op = toOp(pending, 0, pending.length);
    if (op) ops.push(op);
  }
  if (ops.length) await run(ops);
  ctx.out.flush();
  // Per-line failures do not change ovs-dpctl's exit status (0).
  ctx.status = 0;
  progress?.clear();
}
