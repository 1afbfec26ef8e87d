// Real ovs-dpctl 3.1 dump-flows output (terse and -m) of the same kernel
// flows: reading the verbose line must let us print both forms exactly.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatFlowDump, parseFlowDump } from '../../../src/odp/index.js';

const DIR = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/odp/dpctl');
const read = (f: string): string[] => readFileSync(join(DIR, f), 'utf8').split('\n').filter((l) => l.trim());
const NAMES = new Map([
  [1, 'va'],
  [2, 'i1'],
]);
const NUMBERS = new Map([...NAMES].map(([n, s]) => [s, n]));

describe.each([
  ['ovs-dpctl_dump-flows.txt', 'ovs-dpctl_dump-flows-m.txt'],
  ['ovs-dpctl_dump-flows_of_py_flows.txt', 'ovs-dpctl_dump-flows-m_of_py_flows.txt'],
  ['bulk_exact_dump-flows_head.txt', 'bulk_exact_dump-flows-m_head.txt'],
  ['bulk_masked_dump-flows_head.txt', 'bulk_masked_dump-flows-m_head.txt'],
])('%s / %s', (terseFile, verboseFile) => {
  const terse = read(terseFile);
  const verbose = read(verboseFile);
  it('pairs up', () => expect(terse.length).toBe(verbose.length));
  verbose.forEach((line, i) => {
    it(`flow ${i + 1}`, () => {
      const p = parseFlowDump(line, { portNames: NUMBERS });
      const entry = { ufid: p.ufid, key: p.key, mask: p.mask, packets: p.packets, bytes: p.bytes, actions: p.actions, dpLayer: 'ovs' };
      expect(formatFlowDump(entry)).toBe(terse[i]);
      expect(formatFlowDump(entry, { verbose: true, portNames: NAMES })).toBe(line);
    });
  });
});
