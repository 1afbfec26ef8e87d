// The CLI as an operator runs it, on this host (which has no openvswitch module).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import { describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../../bin/ovsnl.js', import.meta.url));
const ovsnl = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 15_000, env: { ...process.env, OVSNL_DATAPATH: 'kernel' } });

describe('ovsnl CLI', () => {
  it('--help lists the commands and exits 0', () => {
    const r = ovsnl('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: ovsnl/);
    expect(r.stdout).toContain('dump-dps');
  });

  it('says clearly that the module is missing (OVSNL_DATAPATH=kernel), with one line and exit 1', () => {
    if (existsSync('/sys/module/openvswitch')) return; // this host has it; the kernel suite covers that case
    const r = ovsnl('show');
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^ovsnl: the openvswitch kernel module is not loaded .*modprobe openvswitch/);
    expect(r.stderr).toMatch(/fallback datapath/);
  });

  it('rejects an unknown command with a non-zero exit', () => {
    const r = ovsnl('no-such-command');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("unknown command 'no-such-command'");
  });

  it('families --json lists nlctrl from the real kernel', () => {
    const r = ovsnl('families', '--json');
    expect(r.status).toBe(0);
    const fams = JSON.parse(r.stdout) as { id: number; name: string }[];
    expect(fams.find((f) => f.name === 'nlctrl')).toMatchObject({ id: 16 });
  });

  it('runs from its bundle, whose V8 code cache this Node accepts (npm run build:ts makes both)', async () => {
    const bundle = fileURLToPath(new URL('../../dist/bundle/ovsnl.cjs', import.meta.url));
    expect(existsSync(bundle)).toBe(true);
    // The same wrapper and file name as bin/ovsnl.js: V8 checks the source against the cache.
    const script = new Script(Module.wrap(readFileSync(bundle, 'utf8')), {
      filename: bundle,
      cachedData: readFileSync(bundle.replace(/\.cjs$/, '.cache')),
    });
    expect(script.cachedDataRejected).toBe(false);
    const mod = { exports: {} as { runCli(args: string[], io: object): Promise<number> } };
    script.runInThisContext().call(mod.exports, mod.exports, createRequire(bundle), mod, bundle, dirname(bundle));
    let out = '';
    const sink = { write: (t: string) => (out += t) };
    expect(await mod.exports.runCli(['--help'], { stdout: sink, stderr: sink })).toBe(0);
    expect(out).toBe(ovsnl('--help').stdout);
  });
});
