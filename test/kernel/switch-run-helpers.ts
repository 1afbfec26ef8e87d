// Shared by the `ovsnl run` kernel tests: the built CLI as a child process,
// and the datapath's flows decoded for field-by-field checks.
import { spawn, type ChildProcess } from 'node:child_process';
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

