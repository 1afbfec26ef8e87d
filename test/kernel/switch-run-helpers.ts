// Shared by the `ovsnl run` kernel tests: the built CLI as a child process,
// and the datapath's flows decoded for field-by-field checks.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { KernelDpif } from '../../src/dpif/kernel.js';
import { NetlinkError } from '../../src/netlink/errors.js';
import { decodeActions } from '../../src/ovs/action-codec.js';
import { decodeKey } from '../../src/ovs/key-codec.js';
import type { FlowKey } from '../../src/ovs/keys.js';
import { waitFor } from './ovs-helpers.js';

const BIN = fileURLToPath(new URL('../../bin/ovsnl.js', import.meta.url));

/** A running `ovsnl run` and what it has written to stderr so far. */
export interface Runner {
  child: ChildProcess;
  err: () => string;
  exited: Promise<number | null>;
}

export function startRun(args: string[], env: NodeJS.ProcessEnv = {}): Runner {
  const child = spawn(process.execPath, [BIN, 'run', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, err: () => err, exited };
}

export async function waitReady(r: Runner): Promise<void> {
  const ok = await waitFor(() => /ovsnl run: switching /.test(r.err()) || r.child.exitCode !== null, 60_000);
  if (!ok || r.child.exitCode !== null) throw new Error(`ovsnl run did not start: ${r.err()}`);
}

/** The mask's fields that have a bit set. */
export function significant(mask: FlowKey): Record<string, unknown> {
  const zero = (v: unknown): boolean =>
    v === 0 || v === 0n || v === '00:00:00:00:00:00' || v === '0.0.0.0' || v === '::' || (typeof v === 'object' && v !== null && Object.values(v).every(zero));
  return Object.fromEntries(Object.entries(mask).filter(([, v]) => !zero(v)));
}

export interface Dumped {
  key: FlowKey;
  mask: FlowKey;
  actions: ReturnType<typeof decodeActions>;
}

/** The datapath's flows, decoded; retried while another dump holds the socket (EBUSY). */
export async function dump(dpif: KernelDpif, dp: string): Promise<Dumped[]> {
  for (let attempt = 0; ; attempt++) {
    try {
      const out: Dumped[] = [];
      for await (const f of dpif.dumpFlows(dp)) out.push({ key: decodeKey(f.key!), mask: decodeKey(f.mask!), actions: decodeActions(f.actions!) });
      return out;
    } catch (err) {
      if (!(err instanceof NetlinkError && err.code === 'EBUSY') || attempt > 50) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}


/** Two network namespaces whose eth0 is the other end of the datapath's ports 1 and 2. */
export interface TwoHosts {
  dp: string;
  ns: [string, string];
  /** The datapath's ends of the veth pairs (ports 1 and 2). */
  ports: [string, string];
  macs: [string, string];
  ips: [string, string];
  cleanup(): Promise<void>;
}

function shell(cmd: string): void {
  const r = spawnSync('bash', ['-c', cmd], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${cmd}: status ${r.status}: ${r.stderr}`);
}

/**
 * A datapath with two veth ports whose peers are eth0 in two namespaces,
 * 10.NET.0.1 and .2, IPv6 off (no autoconfiguration chatter). With
 * `staticNeighbours` the hosts know each other's MAC and send no ARP.
 */
export async function twoHosts(dpif: KernelDpif, prefix: string, net: number, staticNeighbours: boolean): Promise<TwoHosts> {
  const id = process.pid % 1000;
  const hex = net.toString(16).padStart(2, '0');
  const h: TwoHosts = {
    dp: `${prefix}${id}`,
    ns: [`${prefix}-a-${id}`, `${prefix}-b-${id}`],
    ports: [`${prefix}a${id}`.slice(0, 15), `${prefix}b${id}`.slice(0, 15)],
    macs: [`02:${hex}:00:00:00:01`, `02:${hex}:00:00:00:02`],
    ips: [`10.${net}.0.1`, `10.${net}.0.2`],
    async cleanup() {
      await dpif.deleteDatapath(this.dp).catch(() => undefined);
      for (const l of this.ports) spawnSync('ip', ['link', 'del', l]);
      for (const n of this.ns) spawnSync('ip', ['netns', 'del', n]);
    },
  };
  await h.cleanup();
  await dpif.createDatapath({ name: h.dp });
  for (let i = 0; i < 2; i++) {
    const [ns, port, other] = [h.ns[i], h.ports[i], 1 - i];
    shell(
      [
        `ip netns add ${ns}`,
        `ip link add name ${port} type veth peer name eth0 netns ${ns}`,
        `sysctl -qw net.ipv6.conf.${port}.disable_ipv6=1`,
        `ip link set ${port} up`,
        `ip netns exec ${ns} sysctl -qw net.ipv6.conf.all.disable_ipv6=1`,
        `ip netns exec ${ns} ip link set eth0 address ${h.macs[i]}`,
        `ip netns exec ${ns} ip addr add ${h.ips[i]}/24 dev eth0`,
        `ip netns exec ${ns} ip link set eth0 up`,
        `ip netns exec ${ns} ip link set lo up`,
        ...(staticNeighbours ? [`ip netns exec ${ns} ip neigh replace ${h.ips[other]} lladdr ${h.macs[other]} dev eth0 nud permanent`] : []),
      ].join(' && '),
    );
    await dpif.createVport(h.dp, { name: port, type: 'netdev', portNo: i + 1 });
  }
  return h;
}
