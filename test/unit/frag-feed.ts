// What the IPv4 and IPv6 reassembly property tests share: fragments fed in
// an order the seed picks, every one but the last held.
import { expect } from 'vitest';

/** Feeds `frags` (link-layer header of 14 bytes) to the defragmenter in a seeded order; all but the last must be 'queued'; returns what the last gave. */
export function feedShuffled<R>(d: { add(frame: Uint8Array, l3: number, zone: number, now: number): R }, frags: readonly Uint8Array[], seed: number): R {
  const order = frags.map((f, i) => [((seed * (i + 7)) % 97) + i / 100, f] as const).sort((a, b) => a[0] - b[0]).map(([, f]) => f);
  const results = order.map((f) => d.add(f, 14, 0, 0));
  expect(results.slice(0, -1).every((r) => r === 'queued')).toBe(true);
  return results[results.length - 1];
}
