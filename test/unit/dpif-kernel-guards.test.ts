// The kernel Dpif's guards without a kernel: userspace-only attributes found
// in raw streams and refused before sending, warnings before writes, and the
// pure parts of feature negotiation and probing.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AttrWriter, parseAttrs } from '../../src/netlink/attr.js';
import { Connection } from '../../src/netlink/connection.js';
import { NetlinkError } from '../../src/netlink/errors.js';
import { KernelDpif } from '../../src/dpif/kernel.js';
import { HostWarnings } from '../../src/dpif/host-warnings.js';
import { OVS_DP_F_UNSUPPORTED, STANDARD_USER_FEATURES, probeDatapathFeatures } from '../../src/dpif/negotiate.js';
import { isUnsupported, probeFlowFeatures } from '../../src/dpif/features.js';
import { findUserspaceOnlyAttrs } from '../../src/ovs/userspace-only-raw.js';
import { ACTION_FEATURES, KEY_FEATURES, PROBE_PORT_BASE, featureProbes } from '../../src/ovs/probe.js';
import { decodeDatapathMessage, encodeDatapathMessage } from '../../src/ovs/datapath.js';
import * as U from '../../src/ovs/uapi.js';
import { FAMILY_IDS, FakeKernel } from './ovs-fake-kernel.js';

function stream(build: (w: AttrWriter) => void): Uint8Array {
  const w = new AttrWriter();
  build(w);
  return w.finish().slice();
}

const nest = (w: AttrWriter, type: number, inner: (w: AttrWriter) => void): void => {
  const t = w.nestStart(type);
  inner(w);
  w.nestEnd(t);
};

describe('userspace-only attributes in raw streams', () => {
  it('finds packet_type and nd_ext in keys and masks, inside encap too', () => {
    const key = stream((w) => {
      w.u32(3, 1);
      w.bytes(29, new Uint8Array(4));
      nest(w, 1, (x) => x.bytes(30, new Uint8Array(8)));
    });
    const mask = stream((w) => w.bytes(29, new Uint8Array(4)));
    expect(findUserspaceOnlyAttrs({ key, mask }).map((f) => `${f.in} ${f.path}`)).toEqual(['key packet_type', 'key encap.nd_ext', 'mask packet_type']);
  });

  it('tells GTP-U options from the kernel flag of the same number, and finds VXLAN GPE', () => {
    const tunnel = (payload: number) =>
      stream((w) =>
        nest(w, 16, (t) => {
          t.bytes(16, new Uint8Array(payload));
          nest(t, 11, (v) => v.flag(8));
        }),
      );
    expect(findUserspaceOnlyAttrs({ key: tunnel(2) }).map((f) => f.path)).toEqual(['tunnel.gtpu', 'tunnel.vxlan.gpe']);
    expect(findUserspaceOnlyAttrs({ key: tunnel(0) }).map((f) => f.path)).toEqual(['tunnel.vxlan.gpe']);
  });

  it('walks every nested action list', () => {
    const actions = stream((w) => {
      w.u32(1, 2);
      nest(w, 20, (c) => c.bytes(26, new Uint8Array(8)));
      nest(w, 6, (s) => {
        s.u32(1, 0xffffffff);
        nest(s, 2, (a) => a.u32(27, 1));
      });
      nest(w, 21, (c) => {
        c.u16(1, 100);
        nest(c, 2, (a) => a.u32(28, 1));
        nest(c, 3, (a) => nest(a, 23, (d) => nest(d, 1, (x) => x.bytes(26, new Uint8Array(4)))));
      });
      nest(w, 3, (s) => s.bytes(29, new Uint8Array(4)));
    });
    expect(findUserspaceOnlyAttrs({ actions }).map((f) => f.path)).toEqual([
      'clone.tnl_push',
      'sample.tnl_pop',
      'check_pkt_len.gt.lb_output',
      'check_pkt_len.le.dec_ttl.tnl_push',
      'set.packet_type',
    ]);
  });

  it('finds hash(sym_l4) unless the kernel is known to have it; hash(l4) always passes', () => {
    const hash = (alg: number) => stream((w) => w.bytes(8, new Uint8Array([alg, 0, 0, 0, 0, 0, 0, 0])));
    expect(findUserspaceOnlyAttrs({ actions: hash(1) }).map((f) => f.path)).toEqual(['hash(sym_l4)']);
    expect(findUserspaceOnlyAttrs({ actions: hash(1) }, { allowSymL4: true })).toEqual([]);
    expect(findUserspaceOnlyAttrs({ actions: hash(0) })).toEqual([]);
  });

  it('leaves malformed streams to the kernel, and never throws', () => {
    expect(findUserspaceOnlyAttrs({ key: new Uint8Array([200, 0, 29, 0, 1]), actions: new Uint8Array([1, 2, 3]) })).toEqual([]);
    for (let i = 0; i < 200; i++) {
      const junk = new Uint8Array(64).map(() => (Math.random() * 256) | 0);
      expect(() => findUserspaceOnlyAttrs({ key: junk, mask: junk, actions: junk })).not.toThrow();
    }
  });
});

describe('KernelDpif refuses them before sending', () => {
  let kernel: FakeKernel;
  let dpif: KernelDpif;
  beforeEach(async () => {
    kernel = new FakeKernel();
    dpif = await KernelDpif.open({ connection: new Connection({ socket: kernel }), kernelLog: false, hostWarnings: { disabled: true } });
  });

  const key = stream((w) => w.u32(3, 1));
  const lbOutput = stream((w) => w.u32(28, 1));

  it('putFlow: EOPNOTSUPP naming the attribute; nothing sent', async () => {
    const err = await dpif.putFlow(7, { key, actions: lbOutput }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetlinkError);
    expect(err).toMatchObject({ errno: 95, code: 'EOPNOTSUPP', message: expect.stringContaining("actions lb_output (action 28): it exists only in OVS's userspace datapath") });
    expect(kernel.sent).toHaveLength(0);
  });

  it('putFlows: that flow fails alone', async () => {
    const results = await dpif.putFlows(7, [
      { key, actions: stream((w) => w.u32(1, 2)) },
      { key: stream((w) => w.bytes(30, new Uint8Array(8))), actions: stream((w) => w.u32(1, 2)) },
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, false]);
    expect(kernel.sent).toHaveLength(1);
  });

  it('execute: the same', async () => {
    await expect(dpif.execute(7, { packet: new Uint8Array(60), key, actions: lbOutput })).rejects.toMatchObject({ code: 'EOPNOTSUPP' });
    expect(kernel.sent).toHaveLength(0);
  });
});

describe('warnings before writes', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'ovsnl-proc-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const vswitchd = (pid: number): void => {
    mkdirSync(join(root, String(pid)));
    writeFileSync(join(root, String(pid), 'comm'), 'ovs-vswitchd\n');
  };

  it('gives each warning once, scans at most once per interval unless forced', () => {
    const given: string[] = [];
    const h = new HostWarnings({ procRoot: root, intervalMs: 60_000 });
    h.onWarning = (w) => given.push(w);
    h.beforeWrite();
    expect(given).toEqual([]);
    vswitchd(42);
    h.beforeWrite();
    expect(given).toEqual([]);
    h.beforeWrite(true);
    expect(given).toHaveLength(1);
    expect(given[0]).toContain('pid 42');
    h.beforeWrite(true);
    expect(h.list).toEqual(given);
  });

  it('an infinite interval scans at the first write only (ovsnl run)', () => {
    const given: string[] = [];
    const h = new HostWarnings({ procRoot: root, intervalMs: Infinity });
    h.onWarning = (w) => given.push(w);
    vswitchd(7);
    h.beforeWrite();
    expect(given).toHaveLength(1);
    rmSync(join(root, '7'), { recursive: true });
    vswitchd(8);
    for (let i = 0; i < 3; i++) h.beforeWrite();
    expect(given).toHaveLength(1);
  });

  it('KernelDpif warns on datapath creation and still creates it', async () => {
    vswitchd(99);
    const kernel = new FakeKernel();
    // As the kernel: the create succeeds, then the feature probes under the taken name fail.
    kernel.handler = (m) => {
      if (kernel.sent.length === 1) return { replies: [(seq, pid) => encodeDatapathMessage(FAMILY_IDS.ovs_datapath, { cmd: U.OVS_DP_CMD_NEW, dpIfindex: 5, attrs: { name: 'dp0', userFeatures: STANDARD_USER_FEATURES } }, { seq, pid })] };
      return { errno: (decodeDatapathMessage(m).attrs.userFeatures ?? 0) & OVS_DP_F_UNSUPPORTED ? 95 : 17 };
    };
    const given: string[] = [];
    const dpif = await KernelDpif.open({ connection: new Connection({ socket: kernel }), kernelLog: false, hostWarnings: { procRoot: root }, onWarning: (w) => given.push(w) });
    const dp = await dpif.createDatapath({ name: 'dp0' });
    expect(dp.name).toBe('dp0');
    expect(given).toHaveLength(1);
    expect(dpif.warnings).toEqual(given);
  });
});

describe('negotiation and probes, decided from the answers', () => {
  it('a kernel that refuses the bogus bit is trusted on per-CPU dispatch', async () => {
    const tried: number[] = [];
    const f = await probeDatapathFeatures({ tryUserFeatures: async (_n, bits) => (tried.push(bits), !(bits & OVS_DP_F_UNSUPPORTED)) }, 'dp0');
    expect(f).toEqual({ rejectsUnknownUserFeatures: true, perCpuDispatch: true });
    expect(tried).toContain((STANDARD_USER_FEATURES | OVS_DP_F_UNSUPPORTED) >>> 0);
  });

  it('a kernel that takes anything is trusted on nothing', async () => {
    expect(await probeDatapathFeatures({ tryUserFeatures: async () => true }, 'dp0')).toEqual({ rejectsUnknownUserFeatures: false, perCpuDispatch: false });
  });

  it('probes are well-formed, one in_port each, and cover every feature', () => {
    const probes = featureProbes();
    const ports = probes.map((p) => parseAttrs(p.key).find((a) => a.type === 3)!.data);
    expect(new Set(ports.map((d) => Buffer.from(d).toString('hex'))).size).toBe(probes.length);
    for (const p of probes) expect(() => (parseAttrs(p.key), parseAttrs(p.actions))).not.toThrow();
    expect(Buffer.from(ports[0]).readUInt32LE(0)).toBe(PROBE_PORT_BASE);
    const names = probes.flatMap((p) => (p.feature.kind === 'mplsLabels' ? [] : [p.feature.name]));
    expect(names.sort()).toEqual([...KEY_FEATURES, ...ACTION_FEATURES].sort());
  });

  it('counts MPLS depth only while every shallower stack was taken', async () => {
    const f = await probeFlowFeatures({ tryFlow: async (p) => !(p.feature.kind === 'mplsLabels' && p.feature.labels === 2) });
    expect(f.maxMplsLabels).toBe(1);
    expect(Object.values(f.keys).every(Boolean)).toBe(true);
  });

  it('takes EINVAL and EOPNOTSUPP as "unsupported", not ENODEV or EPERM', () => {
    expect(isUnsupported(new NetlinkError({ errno: 22 }))).toBe(true);
    expect(isUnsupported(new NetlinkError({ errno: 95 }))).toBe(true);
    expect(isUnsupported(new NetlinkError({ errno: 19 }))).toBe(false);
    expect(isUnsupported(new NetlinkError({ errno: 1 }))).toBe(false);
    expect(isUnsupported(new Error('x'))).toBe(false);
  });
});
