// One line of `ovs-dpctl dump-flows` (lib/dpctl.c format_dpif_flow):
//   [ufid:UUID, ]KEY, packets:N, bytes:N, used:(never|S.SSSs)[, flags:F][, offloaded:..][, dp:..], actions:ACTIONS
import type { Action } from '../ovs/actions.js';
import type { FlowKey } from '../ovs/keys.js';
import { formatUfid, parseUfid, type Ufid } from '../ovs/ufid.js';
import { OdpParseError } from './errors.js';
import { formatOdpActions, type FormatActionsOptions } from './format-actions.js';
import { formatOdpFlow } from './format-key.js';
import { parseOdpActions } from './parse-actions.js';
import { parseOdpFlow } from './parse-key.js';
import { formatTcpFlagLetters } from './flags.js';

export { formatTcpFlagLetters };

export interface FlowDumpEntry {
  ufid?: Ufid;
  key: FlowKey;
  mask?: FlowKey;
  packets: bigint;
  bytes: bigint;
  /** Last use in ms of the kernel's monotonic clock; 0 or undefined = never. */
  used?: bigint;
  /** OR of the TCP flags seen. */
  tcpFlags?: number;
  actions: Action[];
  /** Shown with verbose: "yes" or "partial". */
  offloaded?: 'yes' | 'partial';
  /** Shown with verbose: the datapath layer ("ovs", "tc", ...). */
  dpLayer?: string;
  dpExtraInfo?: string;
}

export interface FormatDumpOptions extends FormatActionsOptions {
  /** ovs-dpctl -m */
  verbose?: boolean;
  /** The monotonic clock now, in ms (to print "used:" as seconds ago). */
  now?: bigint;
}

function usedText(used: bigint | undefined, now: bigint | undefined): string {
  if (!used) return 'never';
  const ms = Number((now ?? used) - used);
  return `${(ms / 1000).toFixed(3)}s`;
}

export function formatFlowDump(e: FlowDumpEntry, opts: FormatDumpOptions = {}): string {
  const verbose = !!opts.verbose;
  let s = '';
  if (verbose && e.ufid) s += formatUfid(e.ufid) + ', ';
  s += formatOdpFlow(e.key, e.mask, { verbose, portNames: opts.portNames });
  s += `, packets:${e.packets}, bytes:${e.bytes}, used:${usedText(e.used, opts.now)}`;
  if (e.tcpFlags) s += `, flags:${formatTcpFlagLetters(e.tcpFlags)}`;
  if (verbose && e.offloaded) s += `, offloaded:${e.offloaded}`;
  if (verbose && e.dpLayer) s += `, dp:${e.dpLayer}`;
  s += ', actions:' + formatOdpActions(e.actions, opts);
  if (verbose && e.dpExtraInfo) s += `, dp-extra-info:${e.dpExtraInfo}`;
  return s;
}

export interface ParsedDumpLine {
  ufid?: Ufid;
  key: FlowKey;
  mask: FlowKey;
  packets: bigint;
  bytes: bigint;
  /** Seconds since last use as printed, or undefined for "never". */
  usedSecondsAgo?: number;
  /** The flags letters as printed ("S.", "none"...). */
  flags?: string;
  actions: Action[];
}

const STATS_RE = /, packets:(\d+), bytes:(\d+), used:(never|[\d.]+s)(?:, flags:([^,]+))?(?:, offloaded:[a-z]+)?(?:, dp:[^,]+)?, actions:/;

/** Reads a dump-flows line back. Throws OdpParseError. */
export function parseFlowDump(line: string, opts: { portNames?: ReadonlyMap<string, number> } = {}): ParsedDumpLine {
  let text = line.trim();
  let ufid: Ufid | undefined;
  const u = /^ufid:([0-9a-fA-F-]{36}), /.exec(text);
  if (u) {
    ufid = parseUfid(`ufid:${u[1]}`);
    text = text.slice(u[0].length);
  }
  const m = STATS_RE.exec(text);
  if (!m) throw new OdpParseError('not a dump-flows line (no ", packets:..., actions:")', 0, line, line);
  const flow = parseOdpFlow(text.slice(0, m.index), { dumpSyntax: true, portNames: opts.portNames });
  let actionsText = text.slice(m.index + m[0].length);
  const extra = actionsText.indexOf(', dp-extra-info:');
  if (extra >= 0) actionsText = actionsText.slice(0, extra);
  const out: ParsedDumpLine = {
    key: flow.key,
    mask: flow.mask,
    packets: BigInt(m[1]),
    bytes: BigInt(m[2]),
    actions: parseOdpActions(actionsText, { portNames: opts.portNames }),
  };
  if (ufid) out.ufid = ufid;
  if (m[3] !== 'never') out.usedSecondsAgo = Number(m[3].slice(0, -1));
  if (m[4] !== undefined) out.flags = m[4];
  return out;
}
