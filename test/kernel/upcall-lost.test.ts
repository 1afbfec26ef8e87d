// Lost upcalls: a handler too slow for the traffic and a small receive
// buffer. Backpressure stops reading; the kernel fills the socket, drops the
// rest, counts them in n_lost and reports ENOBUFS once, which the channel
// counts and reads past. Afterwards upcalls flow again.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KernelDpif } from '../../src/dpif/kernel.js';
import { openUpcalls, type Upcalls } from '../../src/dpif/upcalls.js';
import type { Upcall } from '../../src/ovs/packet.js';
import { requireOvsModule } from './setup.js';
import { openDpif, waitFor } from './ovs-helpers.js';
import { FrameTap, hasTag, tagged, topology, udpFrame, type Topology } from './upcall-helpers.js';

let dpif: KernelDpif;
let topo: Topology;
let fromA: FrameTap;
let open: Upcalls | undefined;

beforeAll(async () => {
  requireOvsModule();
  dpif = await openDpif();
  topo = await topology(dpif, 'upl');
  fromA = new FrameTap(topo.aPeer);
});
afterEach(async () => {
  await open?.close();
  open = undefined;
});
afterAll(async () => {
  fromA?.close();
  await topo?.remove();
  dpif?.close();
});

const burst = (tag: string, n: number): Uint8Array[] => Array.from({ length: n }, (_, i) => udpFrame(20000 + (i % 40000), 7300, tagged(tag, i)));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('lost upcalls', () => {
  it('a slow batch callback: reading stops, the kernel drops and reports ENOBUFS, counted; then it keeps working', async () => {
    let slow = true;
    const got: number[] = [];
    const up = (open = await openUpcalls(dpif, topo.dp, {
      handlers: 1,
      receiveBufferBytes: 64 * 1024,
      maxPendingBatches: 1,
      onBatch: (batch) => {
        for (const u of batch) if (hasTag(u.packet, 'after-')) got.push(u.packet.length);
        // A handler that takes 300 ms per batch while `slow`.
        return slow ? sleep(300) : undefined;
      },
    }));
    await fromA.send(burst('slow-', 1500));
    expect(await waitFor(() => up.stats.lost >= 1, 15_000)).toBe(true);
    expect(up.stats.pauses).toBeGreaterThanOrEqual(1);
    const k = await up.kernelStats();
    expect(k.lost).toBeGreaterThan(0n);
    expect(BigInt(up.stats.received)).toBeLessThan(1500n);
    // Everything the kernel missed was either received or lost (the VM may add a little noise of its own).
    expect(await waitFor(() => BigInt(up.stats.received) + k.lost >= 1500n, 15_000)).toBe(true);

    slow = false;
    await sleep(700);
    await fromA.send(burst('after-', 5));
    expect(await waitFor(() => got.length === 5, 10_000)).toBe(true);
  });

  it('a slow iterator consumer: the bounded queue pauses reading, the kernel drops; draining resumes it', async () => {
    const up = (open = await openUpcalls(dpif, topo.dp, { handlers: 1, receiveBufferBytes: 64 * 1024, queueLimit: 16 }));
    await fromA.send(burst('queued-', 1500));
    // Nobody reads the iterator: the queue fills, reading stops, the kernel overruns the socket.
    expect(await waitFor(() => up.stats.pauses >= 1 && up.stats.queued >= 16, 10_000)).toBe(true);
    const lostBefore = (await up.kernelStats()).lost;
    expect(lostBefore).toBeGreaterThan(0n);
    expect(up.stats.queued).toBeLessThan(16 + 64);

    const it = up[Symbol.asyncIterator]();
    const after: Upcall[] = [];
    // Drain everything that arrives, in the background, until the marker frames are in.
    const drain = (async () => {
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        if (hasTag(r.value.packet, 'resume-')) after.push(r.value);
      }
    })();
    expect(await waitFor(() => up.stats.lost >= 1, 10_000)).toBe(true);
    await sleep(500);
    await fromA.send(burst('resume-', 5));
    expect(await waitFor(() => after.length === 5, 10_000)).toBe(true);
    expect(up.stats.handled).toBeGreaterThan(5);
    await up.close();
    open = undefined;
    await drain;
  });
});
