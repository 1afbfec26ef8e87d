// The CLI in-process on a host without the openvswitch module: ovs-dpctl's
// argument checks and messages, commands that need no kernel, the progress
// line, and the module-missing error as one line.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { bufferIo, type CliIo } from '../../src/cli/io.js';
import { Progress } from '../../src/cli/progress.js';

async function cli(...args: string[]): Promise<{ out: string; err: string; status: number }> {
  const io = bufferIo();
  const status = await runCli(args, io);
  return { out: io.out(), err: io.err(), status };
}

describe('ovsnl in-process', () => {
  it('checks argument counts and --read-only with ovs-dpctl words', async () => {
    expect(await cli('add-flow', 'x')).toEqual({ out: '', err: "ovsnl: 'add-flow' command requires at least 2 arguments\n", status: 1 });
    expect(await cli('del-dp', 'a', 'b')).toEqual({ out: '', err: "ovsnl: 'del-dp' command takes at most 1 arguments\n", status: 1 });
    expect(await cli('--read-only', 'add-dp', 'x')).toEqual({ out: '', err: "ovsnl: 'add-dp' command does not work in read only mode\n", status: 1 });
    expect(await cli('nosuch')).toEqual({ out: '', err: "ovsnl: unknown command 'nosuch'; use --help for help\n", status: 1 });
    expect(await cli()).toEqual({ out: '', err: 'ovsnl: missing command name; use --help for help\n', status: 1 });
    expect((await cli('--bogus', 'show')).status).toBe(1);
    expect(await cli('-t', '0', 'parse-actions', '1')).toEqual({ out: '', err: 'ovsnl: value 0 on -t or --timeout is invalid\n', status: 1 });
  });

  it('parse-actions prints OVS text back, with --json too', async () => {
    expect(await cli('parse-actions', '1,2', 'set(ipv4(ttl=1)),recirc(3)')).toEqual({ out: '1,2\nset(ipv4(ttl=1)),recirc(0x3)\n', err: '', status: 0 });
    expect(await cli('--json', 'parse-actions', '1')).toEqual({ out: '["1"]\n', err: '', status: 0 });
    expect(await cli('parse-actions', '1', 'junk(')).toEqual({ out: '1\n', err: 'ovsnl: odp_actions_from_string (Invalid argument)\n', status: 1 });
  });

  it('lists commands as ovs-dpctl list-commands does', async () => {
    const r = await cli('list-commands');
    expect(r.out.startsWith('The available commands are:\n  add-dp                  dp [iface...]\n')).toBe(true);
    expect(r.out).toContain('  dump-flows              [-m] [--names] [dp] [filter=..] [type=..] [pmd=..]\n');
    expect(r.out).not.toContain('parse-actions');
  });

  it('says in one line that the module is missing when told to use the kernel', async () => {
    if (existsSync('/sys/module/openvswitch')) return;
    // Without OVSNL_DATAPATH=kernel the userspace daemon would take over (test/userspace/cli-fallback.test.ts).
    process.env.OVSNL_DATAPATH = 'kernel';
    const r = await cli('dump-flows').finally(() => delete process.env.OVSNL_DATAPATH);
    expect(r.status).toBe(1);
    expect(r.out).toBe('');
    expect(r.err.split('\n')).toHaveLength(2);
    expect(r.err).toMatch(/^ovsnl: the openvswitch kernel module is not loaded/);
  });
});

describe('progress line', () => {
  const io = (tty: boolean): CliIo & { err: () => string } => {
    const b = bufferIo();
    return { ...b, stdout: { ...b.stdout, isTTY: tty }, columns: 80 };
  };
  it('shows only when stdout is a terminal and the work is big', () => {
    expect(Progress.maybe(io(false), 'add-flows', 50_000_000)).toBeUndefined();
    expect(Progress.maybe(io(true), 'add-flows', 1000)).toBeUndefined();
    const t = io(true);
    const p = Progress.maybe(t, 'add-flows', 10_000_000)!;
    p.update(5_000_000, 25_000, true);
    p.clear();
    expect(t.err()).toBe(`\radd-flows [${'#'.repeat(15)}${'.'.repeat(15)}] 50% 25000 lines\x1b[K\r\x1b[K`);
  });
});

describe('error lines', () => {
  it("keep ovs-dpctl's text and append what ovsnl knows after it", async () => {
    const { dpctlMessage, describeFailure } = await import('../../src/cli/errors.js');
    const { NetlinkError } = await import('../../src/netlink/errors.js');
    const eperm = new NetlinkError({ errno: 1, operation: 'datapath new x' });
    expect(dpctlMessage('add_dp', eperm)).toBe('add_dp (Operation not permitted): this needs root or CAP_NET_ADMIN');
    expect(describeFailure(eperm)).toBe('datapath new x: permission denied (EPERM): this needs root or CAP_NET_ADMIN');
    const exists = new NetlinkError({ errno: 17, operation: 'flow new' });
    expect(dpctlMessage('updating flow table', exists)).toBe('updating flow table (File exists)');
    const acked = new NetlinkError({ errno: 22, operation: 'flow new', extAck: { message: 'bad attribute' } });
    expect(dpctlMessage('updating flow table', acked)).toBe('updating flow table (Invalid argument): kernel: bad attribute');
    const logged = Object.assign(new NetlinkError({ errno: 22, operation: 'flow new' }), { kernelLog: ['Missing key (keys=1148, expected=5100)'] });
    expect(dpctlMessage('updating flow table', logged)).toBe('updating flow table (Invalid argument): openvswitch module: Missing key (keys=1148, expected=5100)');
    const refused = new NetlinkError({ errno: 95, operation: "flow new: packet_type: it exists only in OVS's userspace datapath" });
    expect(dpctlMessage('updating flow table', refused)).toBe("updating flow table (Operation not supported): packet_type: it exists only in OVS's userspace datapath");
  });
});
