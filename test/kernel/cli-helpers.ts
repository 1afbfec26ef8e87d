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

export interface TwoHosts {
  dp: string;
  /** Namespaces whose eth0 is the other end of the datapath's ports 1 and 2. */
  ns: [string, string];
  ports: [string, string];
  macs: [string, string];
  ips: [string, string];
  /** Removes the datapath, links and namespaces (also safe before setup). */
  cleanup(): void;
}

/**
 * A datapath with two veth ports (1 and 2) whose other ends are eth0 in two
 * network namespaces, addressed 10.N.0.1 and .2 with static neighbours (no
 * ARP) and IPv6 off (no router solicitations): the only packets are the test's.
 */
export async function twoHosts(prefix: string, net: number): Promise<TwoHosts> {
  const id = process.pid % 1000;
  const h: TwoHosts = {
    dp: dpName(prefix),
    ns: [`${prefix}-a-${id}`, `${prefix}-b-${id}`],
    ports: [`${prefix}a${id}`.slice(0, 15), `${prefix}b${id}`.slice(0, 15)],
    macs: [`02:${net.toString(16).padStart(2, '0')}:00:00:00:01`, `02:${net.toString(16).padStart(2, '0')}:00:00:00:02`],
    ips: [`10.${net}.0.1`, `10.${net}.0.2`],
    cleanup() {
      spawnSync(process.execPath, [new URL('../../bin/ovsnl.js', import.meta.url).pathname, 'del-dp', this.dp]);
      for (const l of this.ports) spawnSync('ip', ['link', 'del', l]);
      for (const n of this.ns) spawnSync('ip', ['netns', 'del', n]);
    },
  };
  for (const l of h.ports) spawnSync('ip', ['link', 'del', l]);
  for (const n of h.ns) spawnSync('ip', ['netns', 'del', n]);
  const sh = (cmd: string): void => {
    const r = spawnSync('bash', ['-c', cmd], { encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`${cmd}: status ${r.status}: ${r.stderr}`);
  };
  const add = await ovsnl(['add-dp', h.dp]);
  if (add.status !== 0) throw new Error(`add-dp: ${add.err}`);
  for (let i = 0; i < 2; i++) {
    const [ns, port, other] = [h.ns[i], h.ports[i], 1 - i];
    sh(
      [
        `ip netns add ${ns}`,
        `ip link add name ${port} type veth peer name eth0 netns ${ns}`,
        `sysctl -qw net.ipv6.conf.${port}.disable_ipv6=1`,
        `ip netns exec ${ns} sysctl -qw net.ipv6.conf.all.disable_ipv6=1`,
        `ip netns exec ${ns} ip link set eth0 address ${h.macs[i]}`,
        `ip netns exec ${ns} ip addr add ${h.ips[i]}/24 dev eth0`,
        `ip netns exec ${ns} ip link set eth0 up`,
        `ip netns exec ${ns} ip link set lo up`,
        `ip netns exec ${ns} ip neigh replace ${h.ips[other]} lladdr ${h.macs[other]} dev eth0 nud permanent`,
      ].join(' && '),
    );
    const r = await ovsnl(['add-if', h.dp, port]);
    if (r.status !== 0) throw new Error(`add-if: ${r.err}`);
  }
  return h;
}
