// Flows out, as ovs-dpctl prints them and as --json does: the stats text
// and the JSON object. Apart from flow-text.ts (flows in) so that dump-flows
// and get-flow load no parser.
import type { Flow } from '../dpif/dpif.js';
import { formatUfid } from '../ovs/ufid.js';
import { formatTcpFlagLetters } from '../odp/flags.js';
import type { DumpFormatter } from '../odp/dump-format.js';

/** The kernel's monotonic clock in ms, which flows' `used` times are on. */
export function monotonicMs(): bigint {
  return process.hrtime.bigint() / 1_000_000n;
}

/** dpif_flow_stats_format: `packets:N, bytes:N, used:(never|S.SSSs)[, flags:F]`. */
export function formatStats(f: Pick<Flow, 'stats' | 'used' | 'tcpFlags'>, now = monotonicMs()): string {
  const used = f.used ? `${(Number(now - f.used) / 1000).toFixed(3)}s` : 'never';
  let s = `packets:${f.stats?.packets ?? 0n}, bytes:${f.stats?.bytes ?? 0n}, used:${used}`;
  if (f.tcpFlags) s += `, flags:${formatTcpFlagLetters(f.tcpFlags)}`;
  return s;
}

/** A flow in --json output (docs/cli-json.md). */
export function flowJson(f: Flow, fmt: { terse: DumpFormatter; verbose: DumpFormatter }, now: bigint): unknown {
  return {
    ufid: f.ufid ? formatUfid(f.ufid).slice(5) : null,
    key: fmt.terse.key(f.key, f.mask),
    key_verbose: fmt.verbose.key(f.key, f.mask),
    packets: Number(f.stats?.packets ?? 0n),
    bytes: Number(f.stats?.bytes ?? 0n),
    used_ms_ago: f.used ? Number(now - f.used) : null,
    tcp_flags: f.tcpFlags ?? 0,
    tcp_flags_text: f.tcpFlags ? formatTcpFlagLetters(f.tcpFlags) : null,
    actions: fmt.terse.actions(f.actions),
    dp: 'ovs',
  };
}
