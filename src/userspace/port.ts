// One vport's frame I/O: batched receive into preallocated slots, VLAN tags
// put back from the socket's auxiliary data (the kernel strips them before
// AF_PACKET sees the frame), checksums completed for frames the sender left
// to offload, and a send queue flushed once per tick and retried on
// writability instead of dropping on EAGAIN.
import { readFileSync } from 'node:fs';
import { FRAME_META_WORDS, TP_STATUS_CSUMNOTREADY, TP_STATUS_VLAN_TPID_VALID, TP_STATUS_VLAN_VALID, type NativeFrameIO } from '../native.js';
import type { VportStats } from '../ovs/structs.js';
import { putBe16 } from '../packet/bytes.js';
import { setL4Checksum } from '../packet/checksum.js';
import { ETH_HLEN, ETH_P_8021Q, IPPROTO_TCP, IPPROTO_UDP, VLAN_HLEN } from '../packet/constants.js';
import { segmentTcp } from '../packet/segment.js';
import { parsePacket } from '../packet/parse.js';
import { Layer, ParsedPacket } from '../packet/result.js';
import type { TunnelKind } from '../packet/tunnel.js';

const BATCH = 32;
const SLOT = 65536;
/** Frames queued for sending beyond this are dropped (counted as tx_dropped). */
const MAX_QUEUE = 4096;
const POLL_READ = 1;
const POLL_WRITE = 2;

export interface PortCounters {
  rxPackets: number;
  txPackets: number;
  rxBytes: number;
  txBytes: number;
  rxErrors: number;
  txErrors: number;
  rxDropped: number;
  txDropped: number;
}

/** A tunnel port's kind and, for UDP tunnels, its UDP port: its I/O is IPv4 datagrams, not frames. */
export interface PortTunnel {
  kind: TunnelKind;
  dstPort?: number;
  /** A VXLAN port with the group policy extension (OVS_VXLAN_EXT_GBP). */
  gbp?: boolean;
}

export class Port {
  readonly counters: PortCounters = { rxPackets: 0, txPackets: 0, rxBytes: 0, txBytes: 0, rxErrors: 0, txErrors: 0, rxDropped: 0, txDropped: 0 };
  upcallSuccess = 0;
  upcallFail = 0;
  private readonly buf = new Uint8Array(BATCH * SLOT);
  private readonly lens = new Int32Array(BATCH);
  private readonly meta = new Uint32Array(BATCH * FRAME_META_WORDS);
  private readonly queue: Uint8Array[] = [];
  private flushScheduled = false;
  private waitingWritable = false;
  private closed = false;
  private readonly pp = new ParsedPacket();
  /** The device's MTU (read once): frames beyond it are TCP super-segments to cut. */
  readonly mtu: number;

  constructor(
    readonly portNo: number,
    readonly type: number,
    readonly name: string,
    readonly io: NativeFrameIO,
    public upcallPids: number[],
    /**
     * Called with each received frame. The frame is a view of the receive
     * buffer, valid until `onBatchEnd` returns: frames queued for sending
     * from it must be flushed (flushNow) by then.
     */
    private readonly onFrame: (port: Port, frame: Uint8Array) => void,
    private readonly onBatchEnd: () => void = () => {},
    readonly tunnel?: PortTunnel,
  ) {
    this.mtu = tunnel ? 0 : mtuOf(name);
  }

  get ifindex(): number {
    return this.io.ifindex;
  }

  start(): void {
    this.io.pollStart(POLL_READ, (err, events) => this.onPoll(err, events));
    // Ports never keep the daemon alive by themselves: its socket does.
    this.io.unref();
  }

  stats(): VportStats {
    const c = this.counters;
    return {
      rxPackets: BigInt(c.rxPackets),
      txPackets: BigInt(c.txPackets),
      rxBytes: BigInt(c.rxBytes),
      txBytes: BigInt(c.txBytes),
      rxErrors: BigInt(c.rxErrors),
      txErrors: BigInt(c.txErrors),
      rxDropped: BigInt(c.rxDropped),
      txDropped: BigInt(c.txDropped),
    };
  }

  /** Queues a frame; the queue is flushed in one batch after the current work. */
  send(frame: Uint8Array): void {
    if (this.closed) return;
    if (this.queue.length >= MAX_QUEUE) {
      this.counters.txDropped++;
      return;
    }
    this.queue.push(frame);
    if (!this.flushScheduled && !this.waitingWritable) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    try {
      this.io.pollStop();
    } catch {
      // already stopped
    }
    this.io.close();
  }

  private onPoll(err: Error | undefined, events: number): void {
    if (this.closed) return;
    if (err) {
      this.counters.rxErrors++;
      return;
    }
    if (events & POLL_WRITE) {
      this.waitingWritable = false;
      this.io.pollStart(POLL_READ, (e, ev) => this.onPoll(e, ev));
      this.flush();
    }
    if (events & POLL_READ) this.receive();
  }

  private receive(): void {
    // Bounded so one busy port cannot starve the others and the control socket.
    for (let round = 0; round < 8 && !this.closed; round++) {
      let n: number;
      try {
        n = this.io.recv(this.buf, SLOT, this.lens, this.meta);
      } catch {
        this.counters.rxErrors++;
        return;
      }
      for (let i = 0; i < n && !this.closed; i++) {
        const len = this.lens[i];
        if (len > SLOT) {
          this.counters.rxDropped++;
          continue;
        }
        if (this.tunnel) {
          // A datagram, reassembled by the kernel: decapsulation is the datapath's.
          const d = this.buf.subarray(i * SLOT, i * SLOT + len);
          this.counters.rxPackets++;
          this.counters.rxBytes += len;
          this.onFrame(this, d);
          continue;
        }
        const m = i * FRAME_META_WORDS;
        const frame = this.restore(this.buf.subarray(i * SLOT, i * SLOT + len), this.meta[m], this.meta[m + 1]);
        this.counters.rxPackets++;
        this.counters.rxBytes += frame.length;
        // A TSO sender's super-segment: no Ethernet port could send it on.
        const segs = frame.length > this.mtu + ETH_HLEN + VLAN_HLEN ? segmentTcp(frame, this.mtu) : undefined;
        if (segs) for (const seg of segs) this.onFrame(this, seg);
        else {
          if (this.meta[m] & TP_STATUS_CSUMNOTREADY) completeChecksum(frame, this.pp);
          this.onFrame(this, frame);
        }
      }
      this.onBatchEnd();
      if (n < BATCH) return;
    }
  }

  /** The frame as it was on the wire: tag back in (checksums are completed by the caller). */
  private restore(frame: Uint8Array, status: number, vlan: number): Uint8Array {
    let f = frame;
    if (status & TP_STATUS_VLAN_VALID && f.length >= 12) {
      const tpid = status & TP_STATUS_VLAN_TPID_VALID ? vlan >>> 16 : ETH_P_8021Q;
      const out = new Uint8Array(f.length + 4);
      out.set(f.subarray(0, 12));
      putBe16(out, 12, tpid || ETH_P_8021Q);
      putBe16(out, 14, vlan & 0xffff);
      out.set(f.subarray(12), 16);
      f = out;
    }
    return f;
  }

  /** Sends what is queued now (frames that are views of a receive buffer must leave before it is reused). */
  flushNow(): void {
    if (this.queue.length && !this.waitingWritable) this.flush();
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.closed || !this.queue.length) return;
    let sent: number;
    try {
      sent = this.io.send(this.queue);
    } catch {
      // A frame the device refuses (too big, link down): drop it, keep the rest.
      this.counters.txErrors++;
      this.queue.shift();
      if (this.queue.length) queueMicrotask(() => this.flush());
      return;
    }
    for (let i = 0; i < sent; i++) {
      this.counters.txPackets++;
      this.counters.txBytes += this.queue[i].length;
    }
    this.queue.splice(0, sent);
    // What waits for writability may be views of a receive buffer that is
    // about to be reused: keep copies.
    for (let i = 0; i < this.queue.length; i++) this.queue[i] = this.queue[i].slice();
    if (this.queue.length && !this.waitingWritable) {
      this.waitingWritable = true;
      this.io.pollStart(POLL_READ | POLL_WRITE, (e, ev) => this.onPoll(e, ev));
    }
  }
}

function mtuOf(name: string): number {
  try {
    return Number(readFileSync(`/sys/class/net/${name}/mtu`, 'utf8').trim()) || 1500;
  } catch {
    return 1500;
  }
}

/** Fills in a TCP/UDP checksum the sender left for offload (CHECKSUM_PARTIAL). */
function completeChecksum(f: Uint8Array, pp: ParsedPacket): void {
  parsePacket(f, f.length, pp);
  if (!(pp.layers & (Layer.IPV4 | Layer.IPV6)) || pp.l4 < 0) return;
  if (pp.ipProto !== IPPROTO_TCP && pp.ipProto !== IPPROTO_UDP) return;
  const end = Math.min(f.length, pp.l3 + pp.ipTotalLen);
  const l4Len = end - pp.l4;
  if (l4Len > 0) setL4Checksum(f, pp.l3, pp.l4, l4Len, pp.ipProto);
}
