// The openvswitch module gives the reason for rejecting a flow only in the
// kernel log (OVS_NLERR: "openvswitch: netlink: Missing key (keys=..., ...)"),
// never in the extended ack. When /dev/kmsg is readable (root, and not
// restricted by kernel.dmesg_restrict for others), a reader opened before the
// request can collect what the module logged after it.
import { closeSync, constants, openSync, readSync } from 'node:fs';

/** One kernel log record. */
export interface KmsgRecord {
  seq: number;
  message: string;
}

const RECORD_MAX = 8192;

/** Parses "prio,seq,ts,flags[,...];message" (continuation lines are dropped). */
export function parseKmsgRecord(text: string): KmsgRecord | undefined {
  const semi = text.indexOf(';');
  if (semi < 0) return undefined;
  const fields = text.slice(0, semi).split(',');
  const seq = Number(fields[1]);
  if (!Number.isInteger(seq)) return undefined;
  return { seq, message: text.slice(semi + 1).split('\n')[0] };
}

/**
 * A cursor into the kernel log: `open()` skips what was logged before, `read()`
 * returns records logged since, non-blocking. Unavailable (no permission, no
 * /dev/kmsg) is not an error: the reader just returns nothing.
 */
export class KmsgReader {
  private fd = -1;
  private lastSeq = -1;
  private readonly buf = Buffer.alloc(RECORD_MAX);

  static open(path = '/dev/kmsg'): KmsgReader {
    const r = new KmsgReader();
    try {
      r.fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch {
      return r;
    }
    // Node has no lseek(SEEK_END): drain the backlog once to find the present.
    for (const rec of r.drain()) r.lastSeq = Math.max(r.lastSeq, rec.seq);
    return r;
  }

  get available(): boolean {
    return this.fd >= 0;
  }

  /**
   * One record, or -1 at the end (EAGAIN) or on an error. Most reads end
   * there: a flow put marks the log position before it is sent. Node throws
   * for EAGAIN, and capturing the stack of that throwaway error was most of
   * the cost of a mark, so no stack is captured.
   */
  private readRecord(): number {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      for (;;) {
        try {
          return readSync(this.fd, this.buf, 0, RECORD_MAX, null);
        } catch (err) {
          // EPIPE: records were overwritten while we lagged; the next read resumes.
          if ((err as NodeJS.ErrnoException).code !== 'EPIPE') return -1;
        }
      }
    } finally {
      Error.stackTraceLimit = limit;
    }
  }

  private *drain(): Generator<KmsgRecord> {
    while (this.fd >= 0) {
      const n = this.readRecord();
      if (n <= 0) return;
      const rec = parseKmsgRecord(this.buf.toString('utf8', 0, n));
      if (rec) yield rec;
    }
  }

  /** Records logged since open() or the previous read(). */
  read(): KmsgRecord[] {
    const out: KmsgRecord[] = [];
    for (const rec of this.drain()) {
      if (rec.seq <= this.lastSeq) continue;
      this.lastSeq = rec.seq;
      out.push(rec);
    }
    return out;
  }

  /** The openvswitch module's messages since the last read, without their prefix. */
  readOvs(): string[] {
    return this.read()
      .map((r) => /^openvswitch: (?:netlink: )?(.*)$/.exec(r.message)?.[1])
      .filter((m): m is string => m !== undefined);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
