// The openvswitch module explains a rejected flow or execute only in the
// kernel log (OVS_NLERR), never in the extended ack. KernelLog keeps one
// KmsgReader open per Dpif and hands out positions in the log: the
// module's lines after a position are what it said about the requests sent
// after it (and, the log being shared, about anyone else's requests of that
// moment). KernelRejectError carries them on the NetlinkError.
import { NetlinkError } from '../netlink/errors.js';
import { KmsgReader } from './kmsg.js';

/** Lines kept for late readers; enough for one batch's worth of rate-limited OVS_NLERR. */
const KEEP = 256;

export class KernelLog {
  private reader?: KmsgReader;
  private lines: { seq: number; text: string }[] = [];
  private seq = -1;

  constructor(private readonly path = '/dev/kmsg') {}

  /** False when /dev/kmsg cannot be read (not root, dmesg_restrict, no such device). */
  get available(): boolean {
    return this.open().available;
  }

  private open(): KmsgReader {
    // Opened on first use: opening drains the whole backlog once.
    this.reader ??= KmsgReader.open(this.path);
    return this.reader;
  }

  private pull(): void {
    const r = this.open();
    if (!r.available) return;
    for (const rec of r.read()) {
      this.seq = Math.max(this.seq, rec.seq);
      const text = /^openvswitch: (?:netlink: )?(.*)$/.exec(rec.message)?.[1];
      if (text !== undefined) this.lines.push({ seq: rec.seq, text });
    }
    if (this.lines.length > KEEP) this.lines = this.lines.slice(-KEEP);
  }

  /** The present position; costs one non-blocking read. */
  mark(): number {
    this.pull();
    return this.seq;
  }

  /** The module's lines logged after `mark`. */
  since(mark: number): string[] {
    this.pull();
    return this.lines.filter((l) => l.seq > mark).map((l) => l.text);
  }

  close(): void {
    this.reader?.close();
  }
}

/**
 * The kernel refused a request (EINVAL) and its reason is in the kernel log:
 * `kernelLog` has the openvswitch module's lines, also appended to the message.
 */
export class KernelRejectError extends NetlinkError {
  readonly kernelLog: string[];

  constructor(original: NetlinkError, kernelLog: string[], logReadable: boolean) {
    super({ errno: original.errno, operation: original.operation, seq: original.seq, extAck: original.extAck, cause: original });
    this.kernelLog = kernelLog;
    if (kernelLog.length) {
      this.message += `; openvswitch module: ${kernelLog.join('; ')}`;
    } else if (logReadable) {
      this.message += '; the openvswitch module logged no reason (it explains only some refusals, and rate-limits its messages: see dmesg)';
    } else {
      this.message += "; the openvswitch module gives its reason only in the kernel log, which this process cannot read: see 'dmesg'";
    }
  }
}

/** err, with the module's log lines attached when it is an EINVAL. */
export function withKernelLog(err: unknown, log: KernelLog | undefined, mark: number): unknown {
  if (!(err instanceof NetlinkError) || err.code !== 'EINVAL' || err instanceof KernelRejectError) return err;
  if (!log) return err;
  const readable = log.available;
  return new KernelRejectError(err, readable ? log.since(mark) : [], readable);
}
