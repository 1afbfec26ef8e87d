// Issue 4's evidence on the real module: flow text -> ovsnl parser -> netlink
// attributes -> kernel -> dump -> ovsnl formatter equals what the real
// ovs-dpctl 3.1 prints for the same flows, plain and -m.
//
// The flows are those of a real `ovs-dpctl dump-flows -m` session
// (shared/reference/ovs-dpctl-samples, copied to test/fixtures/odp/dpctl/):
// the -m form, because the terse one leaves out wildcarded fields the kernel
// still requires (tcp_flags(0/0)). Each flow gets a UFID so that -m output
// does not depend on how a UFID would be derived from the key.
//
// Differences of ovs-dpctl 3.1 normalised here, and only these:
// - it cannot parse the key32(...) it prints for OVS_KEY_ATTR_IPV6_EXTHDRS
//   (peer-behaviour.md point 5), nor the masked recirc_id(0/0) of its own -m
//   output: when it installs flows from our text, recirc_id(0/0) is dropped
//   (it means "any", as absence does) and the IPv6 flow is left out;
// - it prints recirc(0x1) but parses only recirc(1) (point 4): the action
//   text it is given has the id in decimal.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KernelDpif } from '../../src/dpif/kernel.js';
import { AttrWriter } from '../../src/netlink/attr.js';
import { formatFlowDump, parseFlowDump } from '../../src/odp/index.js';
import { decodeActions, decodeKey, decodeMask, encodeActions, encodeKey, encodeMask, type Action, type FlowKey } from '../../src/ovs/index.js';
import { formatUfid } from '../../src/ovs/ufid.js';
import { dpctl } from './peer.js';
import { requireOvsModule } from './setup.js';

const DP = 'ovsnlodp0';
const fixture = (name: string) => readFileSync(new URL(`../fixtures/odp/dpctl/${name}`, import.meta.url), 'utf8');
// In the -m sample port 1 is named va and port 2 i1; our datapath has no such ports.
const PORTS = new Map([
  ['va', 1],
  ['i1', 2],
]);
const FLOWS = fixture('ovs-dpctl_dump-flows-m.txt')
  .split('\n')
  .filter((l) => l.includes(', actions:'))
  .map((l) => parseFlowDump(l, { portNames: PORTS }));

const bytes = (f: (w: AttrWriter) => void): Uint8Array => {
  const w = new AttrWriter();
  f(w);
  return w.finish().slice();
};
const ufidOf = (i: number): Uint8Array => Uint8Array.from({ length: 16 }, (_, b) => (b === 15 ? i + 1 : 0x40 + b));

let dpif: KernelDpif;
beforeAll(async () => {
  requireOvsModule();
  try {
    dpctl('del-dp', DP);
  } catch {}
  dpctl('add-dp', DP);
  dpif = await KernelDpif.open();
});
afterAll(async () => {
  await dpif?.close();
  try {
    dpctl('del-dp', DP);
  } catch {}
});

interface Dumped {
  text: string;
  verbose: string;
}

async function dumpWithOvsnl(): Promise<Dumped[]> {
  const out: Dumped[] = [];
  for await (const f of dpif.dumpFlows(DP)) {
    const entry = {
      ufid: f.ufid,
      key: decodeKey(f.key!) as FlowKey,
      mask: f.mask ? (decodeMask(f.mask) as FlowKey) : undefined,
      packets: f.stats?.packets ?? 0n,
      bytes: f.stats?.bytes ?? 0n,
      used: f.used,
      tcpFlags: f.tcpFlags,
      actions: decodeActions(f.actions ?? new Uint8Array(0)) as Action[],
    };
    // The kernel datapath's layer, which ovs-dpctl -m names.
    out.push({ text: formatFlowDump(entry), verbose: formatFlowDump({ ...entry, dpLayer: 'ovs' }, { verbose: true }) });
  }
  return out;
}

describe('ODP text through the real kernel', () => {
  it('installs every sample flow from its text', async () => {
    expect(FLOWS.length).toBeGreaterThan(10);
    for (const [i, { key, mask, actions }] of FLOWS.entries()) {
      await dpif.putFlow(DP, {
        key: bytes((w) => encodeKey(w, key)),
        mask: bytes((w) => encodeMask(w, mask)),
        actions: bytes((w) => encodeActions(w, actions)),
        ufid: ufidOf(i),
        mode: 'create',
      });
    }
    expect(dpctl('dump-flows', DP).trim().split('\n')).toHaveLength(FLOWS.length);
  });

  it('dumps them as the real ovs-dpctl dump-flows prints them', async () => {
    const ours = (await dumpWithOvsnl()).map((d) => d.text).sort();
    const theirs = dpctl('dump-flows', DP).trim().split('\n').sort();
    expect(ours).toEqual(theirs);
    expect(ours).toHaveLength(FLOWS.length);
    // Not compared with the recorded terse sample: where ovs-dpctl installed a
    // key whose bits outside the mask were set (eth src ...:03 under
    // ff:ff:ff:00:00:00) the terse dump shows them, but the -m line we read
    // our input from shows key & mask, so those bits are not in our input.
  });

  it('dumps them as ovs-dpctl dump-flows -m prints them, UFIDs included', async () => {
    const ours = (await dumpWithOvsnl()).map((d) => d.verbose).sort();
    const theirs = dpctl('dump-flows', '-m', '--no-names', DP).trim().split('\n').sort();
    expect(ours).toEqual(theirs);
    FLOWS.forEach((_, i) => expect(ours.some((l) => l.startsWith(formatUfid(ufidOf(i)) + ', '))).toBe(true));
  });

  it('gives text that ovs-dpctl installs, and reads back what it installed', async () => {
    const lines = (await dumpWithOvsnl()).map((d) => d.verbose);
    await dpif.flushFlows(DP);
    let installed = 0;
    for (const line of lines) {
      if (line.includes('key32(')) continue;
      const keyText = line.slice(0, line.indexOf(', packets:')).replace('recirc_id(0/0),', '');
      const actionsText = line.slice(line.indexOf(', actions:') + ', actions:'.length).replace(/recirc\(0x([0-9a-f]+)\)/g, (_, h: string) => `recirc(${parseInt(h, 16)})`);
      dpctl('add-flow', DP, keyText, actionsText);
      installed++;
    }
    expect(installed).toBe(FLOWS.length - 1);
    const ours = (await dumpWithOvsnl()).map((d) => d.verbose).sort();
    expect(ours).toEqual(dpctl('dump-flows', '-m', '--no-names', DP).trim().split('\n').sort());
  });
});
