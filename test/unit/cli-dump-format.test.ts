// The CLI's fast dump-flows formatter (per-attribute text cache) against the
// general one of src/odp, which OVS's vectors hold to OVS's output: the same
// text for every key/mask vector, terse and verbose, with port names or not,
// first with a cold cache and again with a warm one; and the real ovs-dpctl
// 3.1 dump lines of test/fixtures/odp/dpctl.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DumpFormatter } from '../../src/odp/dump-format.js';
import { keyBytes, actionBytes } from '../../src/cli/flow-text.js';
import { formatFlowDump, formatOdpFlow, parseFlowDump, parseOdpActions, parseOdpFlow } from '../../src/odp/index.js';
import { decodeKey } from '../../src/ovs/key-codec.js';
import { loadVectors } from './odp/vector-files.js';

const PORTS = new Map([
  [1, 'va'],
  [2, 'i1'],
]);

const parseable = (input: string): ReturnType<typeof parseOdpFlow> | undefined => {
  try {
    const f = parseOdpFlow(input);
    // The kernel never reports packet_type; it takes the general path anyway.
    keyBytes(f.key);
    keyBytes(f.mask);
    return f;
  } catch {
    return undefined;
  }
};

describe('fast dump formatter = src/odp formatter', () => {
  const vectors = [...loadVectors('odp-keys-masked.txt'), ...loadVectors('odp-keys.txt')];
  for (const verbose of [false, true]) {
    for (const ports of [undefined, PORTS]) {
      it(`over the key vectors (${verbose ? '-m' : 'terse'}${ports ? ', names' : ''})`, () => {
        const fast = new DumpFormatter(verbose, ports);
        let n = 0;
        for (let round = 0; round < 2; round++) {
          for (const v of vectors) {
            const f = parseable(v.input);
            if (!f) continue;
            const k = keyBytes(f.key);
            const m = keyBytes(f.mask);
            // The same bytes through the general path (decode to the typed model, then format).
            const want = formatOdpFlow(decodeKey(k), decodeKey(m), { verbose, portNames: ports });
            expect({ input: v.input, text: fast.key(k, m) }).toEqual({ input: v.input, text: want });
            // A key alone (no mask attribute in the reply).
            expect(fast.key(k, undefined)).toBe(formatOdpFlow(decodeKey(k), undefined, { verbose, portNames: ports }));
            n++;
          }
        }
        expect(n).toBeGreaterThan(500);
      });
    }
  }

  it('on random masks of the vectors keys (property)', () => {
    const keys = loadVectors('odp-keys-masked.txt').map((v) => parseable(v.input)).filter((f) => f !== undefined);
    const fasts = [new DumpFormatter(false), new DumpFormatter(true)];
    fc.assert(
      fc.property(fc.integer({ min: 0, max: keys.length - 1 }), fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.boolean(), (i, noise, verbose) => {
        const fast = fasts[verbose ? 1 : 0];
        const f = keys[i]!;
        const m = new Uint8Array(keyBytes(f.mask));
        // Flip bits inside attribute payloads (headers stay intact).
        for (let j = 4; j < m.length; j++) if (noise[j % 64] & 1) m[j] = noise[(j * 7) % 64];
        let want: string;
        try {
          want = formatOdpFlow(decodeKey(keyBytes(f.key)), decodeKey(m), { verbose });
        } catch {
          return true;
        }
        expect(fast.key(keyBytes(f.key), m)).toBe(want);
        return true;
      }),
      { numRuns: 1000 },
    );
  });

  it('formats actions as format_odp_actions does', () => {
    const fast = new DumpFormatter(false, PORTS);
    for (const v of loadVectors('odp-actions.txt')) {
      let acts;
      try {
        acts = parseOdpActions(v.input);
        actionBytes(acts);
      } catch {
        continue;
      }
      const bytes = new Uint8Array(actionBytes(acts));
      if (!bytes.length) continue;
      expect(fast.actions(bytes)).toBe(formatFlowDump({ key: {}, packets: 0n, bytes: 0n, actions: acts }, { portNames: PORTS }).split('actions:')[1]);
    }
  });
});

describe('real ovs-dpctl 3.1 dump lines', () => {
  const DIR = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/odp/dpctl');
  const read = (f: string): string[] => readFileSync(join(DIR, f), 'utf8').split('\n').filter((l) => l.trim());
  const NUMBERS = new Map([...PORTS].map(([n, s]) => [s, n]));
  for (const [terseFile, verboseFile] of [
    ['ovs-dpctl_dump-flows.txt', 'ovs-dpctl_dump-flows-m.txt'],
    ['ovs-dpctl_dump-flows_of_py_flows.txt', 'ovs-dpctl_dump-flows-m_of_py_flows.txt'],
    ['bulk_masked_dump-flows_head.txt', 'bulk_masked_dump-flows-m_head.txt'],
  ]) {
    it(`${terseFile} and ${verboseFile}`, () => {
      const terse = read(terseFile);
      const verbose = read(verboseFile);
      const t = new DumpFormatter(false);
      const v = new DumpFormatter(true, PORTS);
      verbose.forEach((line, i) => {
        const p = parseFlowDump(line, { portNames: NUMBERS });
        const flow = { dpIfindex: 1, ufid: p.ufid, key: keyBytes(p.key), mask: keyBytes(p.mask), actions: actionBytes(p.actions) };
        expect(t.line(flow, 0n)).toBe(terse[i]);
        expect(v.line(flow, 0n)).toBe(line);
      });
    });
  }
});

describe('DumpFormatter in the library', () => {
  it('is exported by the ODP module, and reads `used` against the monotonic clock by default', async () => {
    const odp = await import('../../src/odp/index.js');
    expect(odp.DumpFormatter).toBe(DumpFormatter);
    const p = parseFlowDump('in_port(1),eth(),eth_type(0x0800),ipv4(src=10.0.0.1,frag=no), packets:3, bytes:180, used:never, actions:2');
    const base = { dpIfindex: 1, key: keyBytes(p.key), mask: keyBytes(p.mask), actions: actionBytes(p.actions), stats: { packets: 3n, bytes: 180n } };
    const now = process.hrtime.bigint() / 1_000_000n;
    const line = new DumpFormatter(false).line({ ...base, used: now - 1500n });
    // 1.5 s ago, give or take the time the test took to get here.
    expect(line).toMatch(/^in_port\(1\),eth\(\),eth_type\(0x0800\),ipv4\(src=10\.0\.0\.1,frag=no\), packets:3, bytes:180, used:1\.5\d\ds, actions:2$/);
    expect(new DumpFormatter(false).line({ ...base, used: undefined })).toContain('used:never');
  });
});
