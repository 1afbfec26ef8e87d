// `ovsnl run --rules FILE` as a process between two namespaces: the rules
// forward, a changed file and SIGHUP take effect on the megaflows already
// installed (the revalidator modifies them in place, same UFIDs), a file that
// does not parse keeps the old rules, and SIGTERM leaves no flow.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KernelDpif } from '../../src/dpif/kernel.js';
import { decodeActions } from '../../src/ovs/action-codec.js';
import { decodeKey } from '../../src/ovs/key-codec.js';
import { formatUfid } from '../../src/ovs/ufid.js';
import { requireOvsModule } from './setup.js';
import { openDpif, waitFor } from './ovs-helpers.js';
import { dump, significant, startRun, twoHosts, waitReady, type Runner, type TwoHosts } from './switch-run-helpers.js';

function ping(h: TwoHosts, from: 0 | 1, count = 2): string {
  const r = spawnSync('ip', ['netns', 'exec', h.ns[from], 'ping', '-n', '-c', String(count), '-i', '0.3', '-W', '2', h.ips[1 - from]], { encoding: 'utf8', timeout: 60_000 });
  return r.stdout + r.stderr;
}

async function ufidsByInPort(dpif: KernelDpif, dp: string): Promise<Map<number, { ufids: string[]; actions: string[] }>> {
  const out = new Map<number, { ufids: string[]; actions: string[] }>();
  for await (const f of dpif.dumpFlows(dp)) {
    const port = decodeKey(f.key!).inPort!;
    const e = out.get(port) ?? { ufids: [], actions: [] };
    e.ufids.push(formatUfid(f.ufid!));
    e.actions.push(JSON.stringify(decodeActions(f.actions!)));
    out.set(port, e);
  }
  return out;
}

describe('ovsnl run --rules', () => {
  let h: TwoHosts;
  let dpif: KernelDpif;
  let dir: string;
  let file: string;
  let run: Runner | undefined;
  beforeAll(async () => {
    requireOvsModule();
    // Static neighbours (twoHosts): only IPv4 between the hosts crosses.
    dpif = await openDpif();
    h = await twoHosts(dpif, 'swh', 84, true);
    dir = mkdtempSync(join(tmpdir(), 'ovsnl-run-rules-'));
    file = join(dir, 'rules');
  }, 120_000);
  afterAll(async () => {
    if (run && run.child.exitCode === null) run.child.kill('SIGKILL');
    await h?.cleanup();
    dpif?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('forwards by the rules, with megaflows masked on what the rules read', async () => {
    writeFileSync(file, `# both ways by port (names work too)\nname=a-to-b in_port(${h.ports[0]}) actions:2\nname=b-to-a in_port(2) actions:1\n`);
    run = startRun([h.dp, '--rules', file, '--idle-timeout', '60']);
    await waitReady(run);
    expect(run.err()).toMatch(/rule table \(2 rules\)/);
    expect(ping(h, 0)).toMatch(/2 received/);
    const flows = await dump(dpif, h.dp);
    expect(flows).toHaveLength(2);
    for (const f of flows) {
      expect(significant(f.mask)).toEqual({ recircId: 0xffffffff, inPort: 0xffffffff });
      expect(f.actions).toEqual([{ type: 'output', port: f.key.inPort === 1 ? 2 : 1 }]);
    }
  });

  it('a changed file and SIGHUP modify the installed flows in place', async () => {
    const before = await ufidsByInPort(dpif, h.dp);
    writeFileSync(file, 'name=a-to-b in_port(1) actions:drop\nname=b-to-a in_port(2) actions:1\n');
    const at = run!.err().length;
    run!.child.kill('SIGHUP');
    expect(await waitFor(() => /reloaded 2 rules/.test(run!.err().slice(at)), 20_000)).toBe(true);
    // The reload revalidates at once: the flow from port 1 now drops, under the same UFID.
    let after = await ufidsByInPort(dpif, h.dp);
    await waitFor(() => after.get(1)?.actions[0] === '[]', 10_000);
    after = await ufidsByInPort(dpif, h.dp);
    expect(after.get(1)).toEqual({ ufids: before.get(1)!.ufids, actions: ['[]'] });
    expect(after.get(2)).toEqual(before.get(2));
    expect(ping(h, 0)).toMatch(/0 received/);
    const s = run!.err().length;
    run!.child.kill('SIGUSR1');
    expect(await waitFor(() => /revalidator: .*modified=1/.test(run!.err().slice(s)), 20_000)).toBe(true);
  });

  it('a file that does not parse keeps the old rules', async () => {
    writeFileSync(file, 'name=a-to-b in_port(1) actions:output(\n');
    const at = run!.err().length;
    run!.child.kill('SIGHUP');
    expect(await waitFor(() => /reload failed, keeping the previous rules: .*rules:1:/.test(run!.err().slice(at)), 20_000)).toBe(true);
    expect(ping(h, 0)).toMatch(/0 received/);
    writeFileSync(file, 'name=a-to-b in_port(1) actions:2\nname=b-to-a in_port(2) actions:1\n');
    run!.child.kill('SIGHUP');
    expect(await waitFor(() => /reloaded 2 rules/.test(run!.err().slice(at)), 20_000)).toBe(true);
    expect(ping(h, 0, 3)).toMatch(/3 received/);
  });

  it('SIGTERM exits 0 and leaves no flow', async () => {
    run!.child.kill('SIGTERM');
    expect(await run!.exited).toBe(0);
    expect(await dump(dpif, h.dp)).toEqual([]);
  });
});
