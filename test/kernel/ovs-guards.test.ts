// The kernel Dpif's guards on the real module: the module's own reason for
// an EINVAL read back from the kernel log and put on the error; attributes
// of OVS's userspace datapath refused before anything is sent; a warning,
// not a refusal, when an ovs-vswitchd runs.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttrWriter, parseAttrs } from '../../src/netlink/attr.js';
import { NetlinkError } from '../../src/netlink/errors.js';
import { KernelDpif } from '../../src/dpif/kernel.js';
import { KernelRejectError } from '../../src/dpif/kernel-log.js';
import { randomUfid } from '../../src/ovs/ufid.js';
import { requireOvsModule } from './setup.js';
import { ACTION_OUTPUT, KEY_ETHERNET, KEY_ETHERTYPE, KEY_IN_PORT, KEY_IPV4, arpKey, dropDatapath, outputActions, udpKey, uniqueName, waitFor, useDatapath } from './ovs-helpers.js';

const KEY_TCP = 9;
const KEY_PACKET_TYPE = 29;
const ACTION_CLONE = 20;
const ACTION_TUNNEL_PUSH = 26;
const ACTION_LB_OUTPUT = 28;

/** in_port + eth + ipv4(proto 6) + tcp, without the tcp_flags the kernel insists on. */
function tcpKeyWithoutFlags(): Uint8Array {
  const w = new AttrWriter();
  w.u32(KEY_IN_PORT, 1);
  w.bytes(KEY_ETHERNET, new Uint8Array([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]));
  w.be16(KEY_ETHERTYPE, 0x0800);
  w.bytes(KEY_IPV4, new Uint8Array([10, 0, 0, 1, 10, 0, 0, 2, 6, 0, 64, 0]));
  w.bytes(KEY_TCP, new Uint8Array([0, 1, 0, 2]));
  return w.finish().slice();
}

function commOf(pid: number | undefined): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function withAttr(stream: Uint8Array, type: number, payload: Uint8Array): Uint8Array {
  const w = new AttrWriter();
  for (const a of parseAttrs(stream)) w.attr(a);
  w.bytes(type, payload);
  return w.finish().slice();
}

describe('EINVAL with the module reason from the kernel log', () => {
  let dpif!: KernelDpif;
  const dp = uniqueName('ovsgd');
  useDatapath(dp, (d) => (dpif = d));

  it("puts the module's 'Missing key' on a TCP key without tcp_flags", async () => {
    const err = await dpif.putFlow(dp, { key: tcpKeyWithoutFlags(), actions: outputActions(2) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetlinkError);
    expect(err).toBeInstanceOf(KernelRejectError);
    const e = err as KernelRejectError;
    expect(e.code).toBe('EINVAL');
    expect(e.message).toMatch(/Missing key \(keys=[0-9a-f]+, expected=[0-9a-f]+\)/);
    expect(e.kernelLog.some((l) => /^Missing key/.test(l))).toBe(true);
  });

  it('gives the failed flow of a batch the reason, while the good ones go in', async () => {
    const good = Array.from({ length: 20 }, (_, i) => ({
      key: udpKey({ inPort: 1, src: `10.7.0.${i}`, dst: '10.4.0.1', sport: 1, dport: 2 }),
      ufid: randomUfid(),
      actions: outputActions(2),
    }));
    const results = await dpif.putFlows(dp, [...good.slice(0, 10), { key: tcpKeyWithoutFlags(), actions: outputActions(2) }, ...good.slice(10)]);
    expect(results.filter((r) => r.ok)).toHaveLength(20);
    const bad = results[10];
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.message).toContain('Missing key');
    await dpif.flushFlows(dp);
  });

  it('leaves other errors alone', async () => {
    const ufid = randomUfid();
    const key = arpKey({ inPort: 2 });
    await dpif.putFlow(dp, { key, ufid, actions: outputActions(2) });
    const err = await dpif.putFlow(dp, { key, ufid, actions: outputActions(2) }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'EEXIST' });
    expect(err).not.toBeInstanceOf(KernelRejectError);
    await dpif.flushFlows(dp);
  });

  it('says where to look when it may not read the log', async () => {
    const blind = await KernelDpif.open({ kernelLog: '/nonexistent/kmsg' });
    try {
      const err = await blind.putFlow(dp, { key: tcpKeyWithoutFlags(), actions: outputActions(2) }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'EINVAL', kernelLog: [], message: expect.stringContaining('dmesg') });
    } finally {
      blind.close();
    }
  });
});

describe('attributes of the userspace datapath only', () => {
  let dpif!: KernelDpif;
  const dp = uniqueName('ovsgu');
  useDatapath(dp, (d) => (dpif = d));

  const key = (): Uint8Array => udpKey({ inPort: 1, src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2 });

  it('refuses a packet_type key, naming it, and sends nothing', async () => {
    const sent = dpif.conn.stats.sent;
    const err = await dpif.putFlow(dp, { key: withAttr(key(), KEY_PACKET_TYPE, new Uint8Array(4)), actions: outputActions(2) }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'EOPNOTSUPP', errno: 95 });
    expect((err as Error).message).toMatch(/packet_type \(key attribute 29\).*only in OVS's userspace datapath/);
    expect(dpif.conn.stats.sent).toBe(sent);
  });

  it('finds tnl_push nested in a clone and lb_output at the top', async () => {
    const w = new AttrWriter();
    const c = w.nestStart(ACTION_CLONE);
    w.bytes(ACTION_TUNNEL_PUSH, new Uint8Array(528));
    w.nestEnd(c);
    w.u32(ACTION_LB_OUTPUT, 1);
    w.u32(ACTION_OUTPUT, 2);
    const err = await dpif.putFlow(dp, { key: key(), actions: w.finish().slice() }).catch((e: unknown) => e);
    expect((err as Error).message).toContain('actions clone.tnl_push (action 26), actions lb_output (action 28)');
  });

  it('refuses them in an execute too', async () => {
    const w = new AttrWriter();
    w.u32(ACTION_LB_OUTPUT, 1);
    const frame = new Uint8Array(60);
    frame.set([0x08, 0x00], 12);
    await expect(dpif.execute(dp, { packet: frame, key: new Uint8Array(0), actions: w.finish().slice() })).rejects.toMatchObject({
      code: 'EOPNOTSUPP',
      message: expect.stringContaining('lb_output'),
    });
  });
});

describe('an ovs-vswitchd on the host', () => {
  let dir: string;
  let fake: ChildProcess;
  let dpif: KernelDpif;
  const dp = uniqueName('ovsgv');
  const given: string[] = [];

  beforeAll(async () => {
    requireOvsModule();
    // A process the kernel names ovs-vswitchd: `sleep` run through a link of that name.
    dir = mkdtempSync(join(tmpdir(), 'ovsnl-vsw-'));
    symlinkSync('/bin/sleep', join(dir, 'ovs-vswitchd'));
    fake = spawn(join(dir, 'ovs-vswitchd'), ['60'], { stdio: 'ignore' });
    dpif = await KernelDpif.open({ onWarning: (w) => given.push(w) });
  });
  afterAll(async () => {
    await dropDatapath(dpif, dp);
    dpif.close();
    fake.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('warns when a datapath is created, and creates it all the same', async () => {
    // Until it has exec'd, the child is still called node.
    expect(await waitFor(() => commOf(fake.pid) === 'ovs-vswitchd')).toBe(true);
    const d = await dpif.createDatapath({ name: dp });
    expect(d.name).toBe(dp);
    expect(given).toHaveLength(1);
    expect(given[0]).toContain(`ovs-vswitchd is running (pid ${fake.pid})`);
    expect(dpif.warnings).toEqual(given);
  });

  it('gives the same warning once, however many writes follow', async () => {
    await dpif.putFlow(dp, { key: arpKey({ inPort: 1 }), ufid: randomUfid(), actions: outputActions(2) });
    await dpif.setDatapath(dp, {});
    await dpif.createDatapath({ name: dp }).catch(() => undefined);
    expect(given).toHaveLength(1);
  });
});
