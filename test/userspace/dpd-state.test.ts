// The daemon's state file: shape checks, atomic writes, and a daemon that
// restores what an earlier one saved (on this host: root, TAP and veth).
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KernelDpif } from '../../src/dpif/kernel.js';
import { UnixTransport } from '../../src/netlink/unix-transport.js';
import { startDaemon, type Daemon } from '../../src/userspace/daemon.js';
import { parseState, readState, StateFileError, writeStateAtomic, type DpdState } from '../../src/userspace/state.js';
import { quiet, sh } from './helpers.js';

const STATE: DpdState = {
  version: 1,
  datapaths: [{ name: 'dp0', userFeatures: 3, masksCacheSize: 256, ports: [{ portNo: 3, name: 'veth0', type: 'netdev' }] }],
};

describe('state file format', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ovsnl-state-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads back what it wrote, and leaves no temporary file', () => {
    const path = join(dir, 'sub', 'dpd.json');
    writeStateAtomic(path, STATE);
    expect(readState(path)).toEqual(STATE);
    expect(readdirSync(join(dir, 'sub'))).toEqual(['dpd.json']);
    writeStateAtomic(path, { version: 1, datapaths: [] });
    expect(readState(path)).toEqual({ version: 1, datapaths: [] });
  });

  it('treats a missing file as no datapaths', () => {
    expect(readState(join(dir, 'nothing.json'))).toEqual({ version: 1, datapaths: [] });
  });

  it('refuses files of another shape, saying where', () => {
    const bad = (v: unknown) => () => parseState(JSON.stringify(v));
    expect(() => parseState('{')).toThrow(StateFileError);
    expect(bad({ version: 2, datapaths: [] })).toThrow(/version 1/);
    expect(bad({ ...STATE, datapaths: [{ ...STATE.datapaths[0], name: 'a/b' }] })).toThrow(/datapaths\[0\]: bad name/);
    expect(bad({ ...STATE, datapaths: [{ ...STATE.datapaths[0], ports: [{ portNo: 0, name: 'x', type: 'netdev' }] }] })).toThrow(/ports\[0\]: bad portNo/);
    expect(bad({ ...STATE, datapaths: [{ ...STATE.datapaths[0], ports: [{ portNo: 1, name: 'x', type: 'stt' }] }] })).toThrow(/bad type/);
    // A tunnel port keeps its UDP port.
    expect(bad({ ...STATE, datapaths: [{ ...STATE.datapaths[0], ports: [{ portNo: 1, name: 'x', type: 'vxlan' }] }] })).toThrow(/ports\[0\]: bad dstPort/);
    expect(bad({ ...STATE, datapaths: [{ ...STATE.datapaths[0], ports: [{ portNo: 1, name: 'x', type: 'geneve', dstPort: 70000 }] }] })).toThrow(/bad dstPort/);
    const ok = { ...STATE, datapaths: [{ ...STATE.datapaths[0], ports: [{ portNo: 3, name: 'vxlan_sys_4790', type: 'vxlan', dstPort: 4790 }] }] };
    expect(parseState(JSON.stringify(ok))).toEqual(ok);
    // The group policy extension: a VXLAN port's, and only ever true.
    const gbp = { ...STATE, datapaths: [{ ...STATE.datapaths[0], ports: [{ portNo: 3, name: 'vxlan_sys_4791', type: 'vxlan', dstPort: 4791, gbp: true }] }] };
    expect(parseState(JSON.stringify(gbp))).toEqual(gbp);
    expect(bad({ ...STATE, datapaths: [{ ...STATE.datapaths[0], ports: [{ portNo: 1, name: 'x', type: 'geneve', dstPort: 6081, gbp: true }] }] })).toThrow(/ports\[0\]: bad gbp/);
    expect(bad({ ...STATE, datapaths: [{ ...STATE.datapaths[0], ports: [{ portNo: 1, name: 'x', type: 'vxlan', dstPort: 4789, gbp: 'yes' }] }] })).toThrow(/bad gbp/);
    expect(bad({ ...STATE, datapaths: [{ ...STATE.datapaths[0], userFeatures: -1 }] })).toThrow(/userFeatures/);
  });
});

describe('a daemon restores what the previous one saved', () => {
  const DP = 'ovsnlstdp0';
  const VETH = ['ovsst0a', 'ovsst0b'];
  const INTERNAL = 'ovsstint0';
  let dir: string;
  let daemon: Daemon | undefined;

  const cleanup = () => {
    quiet('ip', 'link', 'del', VETH[0]);
    quiet('ip', 'link', 'del', INTERNAL);
    quiet('ip', 'link', 'del', DP);
  };
  const open = async () => KernelDpif.open({ socket: await UnixTransport.connect(join(dir, 'dpd.sock')), kernelLog: false });
  const start = async () => (daemon = await startDaemon({ path: join(dir, 'dpd.sock'), statePath: join(dir, 'dpd.json'), log: () => {} }));

  beforeAll(() => {
    if (process.getuid?.() !== 0) throw new Error('the daemon tests need root (TAP devices, AF_PACKET)');
    cleanup();
    dir = mkdtempSync(join(tmpdir(), 'ovsnl-restore-'));
    sh('ip', 'link', 'add', 'name', VETH[0], 'type', 'veth', 'peer', 'name', VETH[1]);
  });
  afterAll(async () => {
    await daemon?.close();
    cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('saves datapaths and ports on every change, without upcall pids or flows', async () => {
    await start();
    const dpif = await open();
    try {
      await dpif.createDatapath({ name: DP, upcallPid: 1234, masksCacheSize: 64 });
      await dpif.createVport(DP, { name: VETH[0], type: 'netdev', portNo: 7, upcallPids: [99] });
      await dpif.createVport(DP, { name: INTERNAL, type: 'internal' });
      const saved = JSON.parse(readFileSync(join(dir, 'dpd.json'), 'utf8')) as DpdState;
      expect(saved.datapaths).toHaveLength(1);
      expect(saved.datapaths[0]).toMatchObject({ name: DP, masksCacheSize: 64 });
      expect(saved.datapaths[0].ports).toEqual([
        { portNo: 1, name: INTERNAL, type: 'internal' },
        { portNo: 7, name: VETH[0], type: 'netdev' },
      ]);
      expect(JSON.stringify(saved)).not.toContain('99');
      await dpif.deleteVport(DP, INTERNAL);
      expect(readState(join(dir, 'dpd.json')).datapaths[0].ports.map((p) => p.name)).toEqual([VETH[0]]);
      await dpif.createVport(DP, { name: INTERNAL, type: 'internal', portNo: 5 });
    } finally {
      dpif.close();
    }
    await daemon!.close();
    daemon = undefined;
    // The daemon's devices go with it; the file stays.
    expect(existsSync(`/sys/class/net/${INTERNAL}`)).toBe(false);
    expect(existsSync(`/sys/class/net/${DP}`)).toBe(false);
  });

  it('brings them back with the same numbers, TAP devices re-created', async () => {
    await start();
    expect(daemon!.restored).toEqual({ datapaths: 1, ports: 2, problems: [] });
    const dpif = await open();
    try {
      const dp = await dpif.getDatapath(DP);
      expect(dp.masksCacheSize).toBe(64);
      const ports = await dpif.listVports(DP);
      expect(ports.map((p) => [p.portNo, p.name, p.type, p.upcallPids])).toEqual([
        [0, DP, 2, [0]],
        [5, INTERNAL, 2, [0]],
        [7, VETH[0], 1, [0]],
      ]);
      expect(existsSync(`/sys/class/net/${INTERNAL}`)).toBe(true);
    } finally {
      dpif.close();
    }
    await daemon!.close();
    daemon = undefined;
  });

  it('drops a netdev port whose device is gone, says so, and forgets it', async () => {
    sh('ip', 'link', 'del', VETH[0]);
    await start();
    expect(daemon!.restored!.ports).toBe(1);
    expect(daemon!.restored!.problems).toEqual([`datapath ${DP}: port 7 (${VETH[0]}, netdev) dropped: no network device ${VETH[0]}`]);
    expect(readState(join(dir, 'dpd.json')).datapaths[0].ports.map((p) => p.name)).toEqual([INTERNAL]);
    await daemon!.close();
    daemon = undefined;
  });

  it('detaches a port whose device goes away while it runs, as the kernel does, and saves that', async () => {
    sh('ip', 'link', 'add', 'name', VETH[0], 'type', 'veth', 'peer', 'name', VETH[1]);
    daemon = await startDaemon({ path: join(dir, 'dpd.sock'), statePath: join(dir, 'dpd.json'), log: () => {}, linkCheckMs: 50 });
    const dpif = await open();
    try {
      await dpif.createVport(DP, { name: VETH[0], type: 'netdev' });
      await new Promise((r) => setTimeout(r, 200));
      // Ports whose devices are there (a veth, a TAP) stay.
      expect((await dpif.listVports(DP)).map((p) => p.name)).toEqual([DP, VETH[0], INTERNAL]);
      sh('ip', 'link', 'del', VETH[0]);
      await new Promise((r) => setTimeout(r, 300));
      expect((await dpif.listVports(DP)).map((p) => p.name)).toEqual([DP, INTERNAL]);
      expect(readState(join(dir, 'dpd.json')).datapaths[0].ports.map((p) => p.name)).toEqual([INTERNAL]);
    } finally {
      dpif.close();
    }
    await daemon.close();
    daemon = undefined;
  });

  it('refuses to start on a state file it cannot read, rather than forget the configuration', async () => {
    writeFileSync(join(dir, 'dpd.json'), '{"version": 1, "datapaths": [{}]}');
    await expect(start()).rejects.toThrow(/state file .*datapaths\[0\]/);
    daemon = undefined;
    expect(existsSync(join(dir, 'dpd.sock'))).toBe(false);
  });
});
