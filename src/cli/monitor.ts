// upcall-monitor: takes over a datapath's upcalls, as ovs-vswitchd does when
// it starts, and prints each MISS and ACTION upcall as it comes (one line of
// ODP text, or one JSON object), optionally writing the packets to a pcap
// file. While it runs, packets that miss every flow reach this monitor and
// nothing else: whatever handled the upcalls before stops getting them. On
// exit (--count reached, SIGINT, SIGTERM) the datapath's dispatch settings
// are put back as they were and the counters go to stderr.
import { closeSync, openSync, writeSync } from 'node:fs';
import { openUpcalls } from '../dpif/upcalls.js';
import type { Upcall } from '../ovs/packet.js';
import type { Ctx } from './context.js';
import { fullName, optDatapath } from './dpname.js';
import { CliError, dpctlError } from './errors.js';
import { portMaps } from './dump-flows.js';
import { parseCount, stopper } from './live.js';
import { pcapFileHeader, pcapRecord } from './pcap.js';
import { formatUpcall, upcallJson } from './upcall-text.js';

/** The wall clock in microseconds, finer than Date.now() (pcap keeps microseconds). */
function microClock(): () => bigint {
  const base = BigInt(Date.now()) * 1000n;
  const t0 = process.hrtime.bigint();
  return () => base + (process.hrtime.bigint() - t0) / 1000n;
}

/** The pcap file: records gathered and written when the screen output is flushed. */
class PcapSink {
  private readonly fd: number;
  private pending: Uint8Array[] = [];

  constructor(readonly path: string) {
    try {
      this.fd = openSync(path, 'w');
    } catch (err) {
      throw new CliError(`${path}: cannot write the pcap file (${(err as Error).message})`);
    }
    writeSync(this.fd, pcapFileHeader());
  }

  add(u: Upcall, timeMicros: bigint): void {
    this.pending.push(pcapRecord({ timeMicros, frame: u.packet, origLen: u.len }));
  }

  flush(): void {
    if (!this.pending.length) return;
    writeSync(this.fd, Buffer.concat(this.pending));
    this.pending = [];
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

export async function upcallMonitor(ctx: Ctx, args: string[]): Promise<void> {
  const limit = parseCount(ctx.opts.count);
  const { dp } = await optDatapath(ctx, args, 2);
  const names = ctx.names ? (await portMaps(ctx, dp)).byNumber : undefined;
  const dpif = await ctx.dpif();
  const pcap = ctx.opts.pcap !== undefined ? new PcapSink(ctx.opts.pcap) : undefined;
  const stop = stopper(ctx.io);
  const clock = microClock();
  const counts = { miss: 0, action: 0 };
  try {
    let upcalls;
    try {
      upcalls = await openUpcalls(dpif, dp.dpIfindex);
    } catch (err) {
      throw dpctlError('taking over upcalls', err);
    }
    if (upcalls.fallbackReason && ctx.io.stderr.isTTY) ctx.warn(`per-vport upcall dispatch: ${upcalls.fallbackReason}`);
    const it = upcalls[Symbol.asyncIterator]();
    const name = fullName(dp);
    try {
      while (limit === undefined || counts.miss + counts.action < limit) {
        const r = await Promise.race([it.next(), stop.stopped.then(() => undefined)]);
        if (!r || r.done) break;
        const u = r.value;
        const t = clock();
        counts[u.kind]++;
        if (ctx.json) ctx.out.line(JSON.stringify(upcallJson(u, name, new Date(Number(t / 1000n)), { portNames: names })));
        else ctx.out.line(formatUpcall(u, { portNames: names }));
        pcap?.add(u, t);
        // Live: out as soon as nothing more is waiting, in one write per burst.
        if (upcalls.stats.queued === 0) {
          ctx.out.flush();
          pcap?.flush();
        }
      }
    } finally {
      const s = upcalls.stats;
      const k = await upcalls.kernelStats().catch(() => undefined);
      await upcalls.close();
      ctx.out.flush();
      pcap?.flush();
      const summary = {
        event: 'end' as const,
        datapath: name,
        received: s.received,
        printed: counts.miss + counts.action,
        miss: counts.miss,
        action: counts.action,
        lost_reports: s.lost,
        kernel_lost: k ? Number(k.lost) : null,
        malformed: s.malformed,
        truncated: s.truncated,
      };
      if (ctx.json) ctx.out.line(JSON.stringify(summary));
      ctx.io.stderr.write(
        `upcall-monitor: ${summary.printed} upcalls printed (miss ${summary.miss}, action ${summary.action}), ${summary.received} received, ` +
          `lost: ${summary.lost_reports} ENOBUFS reports, ${summary.kernel_lost ?? '?'} by the datapath's count; ` +
          `malformed ${summary.malformed}, truncated ${summary.truncated}\n`,
      );
    }
  } finally {
    stop.dispose();
    pcap?.close();
  }
}
