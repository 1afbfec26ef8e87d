// Host facts the kernel Dpif reports alongside errors, tested on this host.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KmsgReader, parseKmsgRecord } from '../../src/dpif/kmsg.js';
import { findVswitchd, vswitchdWarning } from '../../src/dpif/vswitchd.js';

describe('ovs-vswitchd detection', () => {
  it('finds a running process named ovs-vswitchd, and only while it runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ovsnl-vsd-'));
    const fake = join(dir, 'ovs-vswitchd');
    copyFileSync('/bin/sleep', fake);
    const child = spawn(fake, ['30'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 100));
      expect(findVswitchd()).toContain(child.pid);
      expect(vswitchdWarning()).toMatch(new RegExp(`ovs-vswitchd is running \\(pid .*${child.pid}.*deletes kernel datapaths it does not own`));
    } finally {
      child.kill();
      await new Promise((r) => child.on('exit', r));
      rmSync(dir, { recursive: true, force: true });
    }
    expect(findVswitchd()).not.toContain(child.pid);
  });

  it('reads a given proc tree and ignores what is not a process', () => {
    const root = mkdtempSync(join(tmpdir(), 'ovsnl-proc-'));
    for (const [pid, comm] of [['12', 'bash'], ['34', 'ovs-vswitchd'], ['self', 'ovs-vswitchd']]) {
      mkdirSync(join(root, pid));
      writeFileSync(join(root, pid, 'comm'), `${comm}\n`);
    }
    expect(findVswitchd(root)).toEqual([34]);
    expect(findVswitchd(join(root, 'missing'))).toEqual([]);
    rmSync(root, { recursive: true, force: true });
  });
});

describe('kernel log reader', () => {
  it('parses /dev/kmsg records', () => {
    expect(parseKmsgRecord('4,1234,5678,-;openvswitch: netlink: Missing key (keys=40, expected=80)\n')).toEqual({
      seq: 1234,
      message: 'openvswitch: netlink: Missing key (keys=40, expected=80)',
    });
    expect(parseKmsgRecord('6,7,8,c,more;text\n SUBSYSTEM=net\n')).toEqual({ seq: 7, message: 'text' });
    expect(parseKmsgRecord('garbage')).toBeUndefined();
  });

  it('returns nothing, without failing, where the log cannot be read', () => {
    const r = KmsgReader.open('/nonexistent/kmsg');
    expect(r.available).toBe(false);
    expect(r.readOvs()).toEqual([]);
    r.close();
  });
});
