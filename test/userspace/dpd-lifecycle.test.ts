// The daemon as a process: where its files go, concurrent commands that all
// want it started, a daemon killed hard, and the choice of side.
// The process tests need root and `npm run build:ts` (bin/ovsnl.js runs dist/).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatUptime } from '../../src/cli/dpd.js';
import { datapathSideFromEnv } from '../../src/dpif/open.js';
import { UnixTransport } from '../../src/netlink/unix-transport.js';
import { startDaemon, type Daemon } from '../../src/userspace/daemon.js';
import { dpdPaths } from '../../src/userspace/dpd-paths.js';
import { quiet, readDaemonPid, requireBuiltDist, requireRoot } from './helpers.js';

const BIN = fileURLToPath(new URL('../../bin/ovsnl.js', import.meta.url));
const moduleLoaded = existsSync('/sys/module/openvswitch');

describe('the daemon files and the side, from the environment', () => {
  it('defaults under /run, /var/lib and /var/log; OVSNL_DPD_DIR moves all; a variable of its own wins', () => {
    expect(dpdPaths({})).toEqual({ socket: '/run/ovsnl/dpd.sock', pidFile: '/run/ovsnl/dpd.pid', stateFile: '/var/lib/ovsnl/dpd.json', logFile: '/var/log/ovsnl/dpd.log' });
    expect(dpdPaths({ OVSNL_DPD_DIR: '/x' })).toEqual({ socket: '/x/dpd.sock', pidFile: '/x/dpd.pid', stateFile: '/x/dpd.json', logFile: '/x/dpd.log' });
    expect(dpdPaths({ OVSNL_DPD_DIR: '/x', OVSNL_DPD_STATE: '/etc/s.json' }).stateFile).toBe('/etc/s.json');
    expect(dpdPaths({ OVSNL_DPD_SOCKET: '/s' }, { socket: '/o' }).socket).toBe('/o');
    // Relative ones are made absolute: the daemon runs in /.
    expect(dpdPaths({ OVSNL_DPD_DIR: 'rel' }).socket).toBe(join(process.cwd(), 'rel', 'dpd.sock'));
  });

  it('OVSNL_DATAPATH: auto by default, kernel or userspace, nothing else', () => {
    expect(datapathSideFromEnv({})).toBe('auto');
    expect(datapathSideFromEnv({ OVSNL_DATAPATH: 'kernel' })).toBe('kernel');
    expect(datapathSideFromEnv({ OVSNL_DATAPATH: 'userspace' })).toBe('userspace');
    expect(() => datapathSideFromEnv({ OVSNL_DATAPATH: 'netdev' })).toThrow('OVSNL_DATAPATH=netdev: expected auto, kernel or userspace');
  });

  it('formats uptime as status prints it', () => {
    expect(formatUptime(0)).toBe('00:00:00');
    expect(formatUptime(3 * 3600 + 62.9)).toBe('03:01:02');
    expect(formatUptime(2 * 86400 + 5)).toBe('2d 00:00:05');
  });
});

describe('one daemon per socket', () => {
  it('two daemons starting at once over a stale socket file: one serves, the other is refused', async () => {
    requireRoot('the daemon tests');
    const d = mkdtempSync(join(tmpdir(), 'ovsnl-lock-'));
    const path = join(d, 'dpd.sock');
    try {
      writeFileSync(path, '');
      const starts = await Promise.allSettled([0, 1].map(() => startDaemon({ path, log: () => {} })));
      const ok = starts.filter((s): s is PromiseFulfilledResult<Daemon> => s.status === 'fulfilled');
      expect(ok).toHaveLength(1);
      expect((starts.find((s) => s.status === 'rejected') as PromiseRejectedResult).reason.message).toMatch(/another ovsnl datapath daemon is serving/);
      // The one that serves is the one whose socket is on disk.
      const t = await UnixTransport.connect(path);
      t.close();
      await ok[0].value.close();
      // The lock goes with the daemon: the next one starts.
      const again = await startDaemon({ path, log: () => {} });
      await again.close();
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('the daemon process', () => {
  let dir: string;
  const env = (extra: Record<string, string> = {}) => ({ ...process.env, OVSNL_DPD_DIR: dir, OVSNL_DATAPATH: moduleLoaded ? 'userspace' : 'auto', ...extra });
  const ovsnl = (args: string[], extra?: Record<string, string>) => {
    const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000, env: env(extra) });
    return { out: r.stdout, err: r.stderr, status: r.status ?? -1 };
  };
  /** Several commands at the same moment, each its own process. */
  const together = (n: number, args: string[]) =>
    Promise.all(
      Array.from({ length: n }, () => {
        const c = spawn(process.execPath, [BIN, ...args], { env: env() });
        let err = '';
        c.stderr.on('data', (d: Buffer) => (err += d.toString()));
        return new Promise<{ err: string; status: number }>((resolve) => c.on('close', (status) => resolve({ err, status: status ?? -1 })));
      }),
    );

  beforeAll(() => {
    requireRoot('the daemon process tests');
    requireBuiltDist();
    dir = mkdtempSync(join(tmpdir(), 'ovsnl-life-'));
  });
  afterAll(() => {
    spawnSync(process.execPath, [BIN, 'dpd', 'stop'], { env: env(), timeout: 30_000 });
    const pid = dir ? readDaemonPid(join(dir, 'dpd.pid')) : undefined;
    if (pid) quiet('kill', '-9', String(pid));
    quiet('ip', 'link', 'del', 'ovsnllife0');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('commands that all need the daemon at once start exactly one, and one of them says so', async () => {
    const runs = await together(4, ['dump-dps']);
    expect(runs.map((r) => r.status)).toEqual([0, 0, 0, 0]);
    expect(runs.filter((r) => r.err !== '')).toHaveLength(1);
    const pid = readDaemonPid(join(dir, 'dpd.pid'))!;
    expect(runs.find((r) => r.err)!.err).toContain(`pid ${pid})`);
    // One daemon served; the others, if they got that far, refused the taken socket.
    const log = readFileSync(join(dir, 'dpd.log'), 'utf8');
    expect(log.match(/^\S+ serving .*dpd\.sock/gm)).toHaveLength(1);
    expect(log.match(/^\S+ not starting: another ovsnl datapath daemon is serving/gm)?.length ?? 0).toBeLessThanOrEqual(3);
  });

  it('after a hard kill: status says not running, the next command starts it again with the datapath restored', () => {
    expect(ovsnl(['add-dp', 'ovsnllife0']).status).toBe(0);
    const pid = readDaemonPid(join(dir, 'dpd.pid'))!;
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 100 && existsSync(`/proc/${pid}`); i++) spawnSync('sleep', ['0.05']);
    const st = ovsnl(['dpd', 'status']);
    expect(st.status).toBe(3);
    expect(st.out).toMatch(/^ovsnl dpd: not running \(socket .*, stale files left by a previous run\)\n$/);
    const r = ovsnl(['dump-dps']);
    expect(r).toMatchObject({ out: 'system@ovsnllife0\n', status: 0 });
    expect(r.err).toMatch(/using the userspace datapath|started the userspace datapath daemon/);
    expect(readDaemonPid(join(dir, 'dpd.pid'))).not.toBe(pid);
  });

  it('stop, then stop again: the second says it is not running, and both exit 0', () => {
    expect(ovsnl(['dpd', 'stop'])).toMatchObject({ status: 0, out: expect.stringMatching(/^ovsnl dpd: stopped pid \d+\n$/) });
    expect(ovsnl(['dpd', 'stop'])).toEqual({ out: 'ovsnl dpd: not running\n', err: '', status: 0 });
    expect(existsSync(join(dir, 'dpd.sock'))).toBe(false);
    expect(existsSync(join(dir, 'dpd.pid'))).toBe(false);
  });

  it('with OVSNL_DATAPATH=kernel and no module, nothing starts and the error says why', () => {
    if (moduleLoaded) return;
    const r = ovsnl(['show'], { OVSNL_DATAPATH: 'kernel' });
    expect(r.status).toBe(1);
    expect(r.err).toMatch(/^ovsnl: the openvswitch kernel module is not loaded/);
    expect(existsSync(join(dir, 'dpd.sock'))).toBe(false);
    expect(ovsnl(['show'], { OVSNL_DATAPATH: 'bogus' })).toEqual({ out: '', err: 'ovsnl: OVSNL_DATAPATH=bogus: expected auto, kernel or userspace\n', status: 1 });
  });

  it('dpd start refuses --json and unknown subcommands', () => {
    expect(ovsnl(['dpd', 'restart'])).toEqual({ out: '', err: "ovsnl: dpd: unknown subcommand 'restart' (start, stop, status or run)\n", status: 1 });
    expect(ovsnl(['dpd', 'start', '--json']).status).toBe(1);
  });
});
