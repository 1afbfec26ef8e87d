// Shared by the CLI kernel tests: ovsnl run in-process (one long-lived test
// process; a process per command is slow under emulation) and the real
// ovs-dpctl 3.1 run as a process, with the normalisations the comparisons
// allow, each one named here and nowhere else.
import { spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { runCli } from '../../src/cli/main.js';
import { bufferIo } from '../../src/cli/io.js';
import { dpctlPath } from './peer.js';

export interface Run {
  out: string;
  err: string;
  status: number;
}

/** ovsnl ARGS, in this process; `stdin` feeds `-` file arguments. */
export async function ovsnl(args: string[], stdin?: string): Promise<Run> {
  const io = bufferIo(stdin === undefined ? undefined : Readable.from([Buffer.from(stdin)]));
  const status = await runCli(args, io);
  return { out: io.out(), err: io.err(), status };
}

/** The real ovs-dpctl ARGS. */
export function dpctlRun(args: string[], stdin?: string): Run {
  const r = spawnSync(dpctlPath(), args, { encoding: 'utf8', input: stdin ?? '', timeout: 120_000, maxBuffer: 1 << 30 });
  return { out: r.stdout, err: r.stderr, status: r.status ?? -1 };
}

/**
 * ovs-dpctl's output made comparable with ovsnl's, and nothing more:
 * - its program name in error lines ("ovs-dpctl: " → "ovsnl: ");
 * - vlog lines, which carry a timestamp and a counter
 *   ("2026-11-22T02:51:59Z|00001|dpif|WARN|..."): ovsnl prints no log lines.
 */
export function fromDpctl(r: Run): Run {
  const err = r.err
    .split('\n')
    .filter((l) => !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z\|\d+\|/.test(l))
    .join('\n')
    .replace(/^ovs-dpctl: /gm, 'ovsnl: ');
  return { ...r, err };
}

/**
 * `used:` times differ between two reads of the same flow (they are "seconds
 * ago"): both sides get `used:S.SSSs` replaced by `used:*`. `never` stays.
 */
export function normalizeUsed(text: string): string {
  return text.replace(/used:-?\d+\.\d{3}s/g, 'used:*');
}

/**
 * Documented differences between OVS 3.1's ODP printing and the newest
 * OVS's (which ovsnl follows), applied to ovs-dpctl's text: none remain for
 * kernel flows at present (key32(...) for IPv6 extension headers is printed
 * by both, since no OVS release knows attribute 32 by name).
 */
export function normalize31(text: string): string {
  return text;
}

/** ovsnl's error text, with ovsnl's additions after ovs-dpctl's line (": kernel reason") cut off. */
export function withoutDetail(err: string): string {
  return err.replace(/^(ovsnl: .*?\([A-Z][^()]*\)): .*$/gm, '$1');
}

let n = 0;
/** A datapath name unique to this run (at most 15 characters). */
export function dpName(prefix: string): string {
  return `${prefix}${process.pid % 1000}${(n++).toString(36)}`.slice(0, 15);
}
