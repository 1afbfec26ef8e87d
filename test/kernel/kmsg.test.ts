// The module's own reason for a rejected flow, read back from the kernel log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KmsgReader } from '../../src/dpif/kmsg.js';
import { dpctl } from './peer.js';
import { requireOvsModule } from './setup.js';

const DP = 'ovsnlkmsg0';
beforeAll(() => {
  requireOvsModule();
  dpctl('add-dp', DP);
});
afterAll(() => {
  try {
    dpctl('del-dp', DP);
  } catch {}
});

describe('KmsgReader on the real module', () => {
  it("collects the module's OVS_NLERR text logged after it was opened, and nothing older", () => {
    const before = KmsgReader.open();
    expect(before.available).toBe(true);
    // A TCP key without tcp_flags: the module refuses it and says why only in its log.
    expect(() =>
      dpctl('add-flow', DP, 'in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,tos=0,ttl=64,frag=no),tcp(src=1,dst=2)', '2'),
    ).toThrow(/Invalid argument/);
    const lines = before.readOvs();
    expect(lines.some((l) => /^Missing key \(keys=[0-9a-f]+, expected=[0-9a-f]+\)$/.test(l))).toBe(true);
    // A reader opened now sees none of it; the first one has consumed it.
    const after = KmsgReader.open();
    expect(after.readOvs()).toEqual([]);
    expect(before.readOvs()).toEqual([]);
    before.close();
    after.close();
  });
});
