// Faults the real kernel cannot be made to produce on demand (overruns, a
// corrupt datagram, a reply to a request nobody sent, an interrupted dump):
// the engine is driven through a scripted socket. The happy paths are tested
// against the real kernel in connection.test.ts.
import { describe, expect, it } from 'vitest';
import { AttrWriter } from '../../src/netlink/attr.js';
import { Connection } from '../../src/netlink/connection.js';
import { NLMSG_DONE, NLMSG_ERROR, NLM_F_DUMP_INTR, NLM_F_MULTI } from '../../src/netlink/constants.js';
import { MalformedError, NetlinkError } from '../../src/netlink/errors.js';
import { beginMessage, endMessage, parseMessages } from '../../src/netlink/message.js';
import type { DatagramSocket } from '../../src/netlink/socket.js';

const PORT = 4242;

/** A socket whose "kernel" is a function from each sent message to the datagrams it answers with. */
class ScriptedSocket implements DatagramSocket {
  readonly portId = PORT;
  private queue: { d: Uint8Array; sender: number }[] = [];
  private onReadable?: (err?: Error) => void;
  failNextDrain?: Error;
  closed = false;
  constructor(private readonly kernel: (req: { seq: number; flags: number }, push: (d: Uint8Array, sender?: number) => void) => void) {}
  sendBatch(messages: Uint8Array[]): void {
    for (const bytes of messages) {
      for (const m of parseMessages(bytes)) this.kernel(m, (d, sender = 0) => this.queue.push({ d, sender }));
    }
    setImmediate(() => this.onReadable?.());
  }
  drain(cb: (d: Uint8Array, sender: number) => void): number {
    if (this.failNextDrain) {
      const e = this.failNextDrain;
      this.failNextDrain = undefined;
      throw e;
    }
    const q = this.queue.splice(0);
    for (const { d, sender } of q) cb(d, sender);
    return q.length;
  }
  watch(cb: (err?: Error) => void): void {
    this.onReadable = cb;
  }
  unwatch(): void {
    this.onReadable = undefined;
  }
  setKeepAlive(): void {}
  close(): void {
    this.closed = true;
  }
}

function msg(type: number, flags: number, seq: number, payload: (w: AttrWriter) => void = () => {}): Uint8Array {
  const w = new AttrWriter();
  const s = beginMessage(w, type, flags, seq, PORT);
  payload(w);
  endMessage(w, s);
  return w.finish().slice();
}
const ack = (seq: number, error = 0): Uint8Array =>
  msg(NLMSG_ERROR, 0x100, seq, (w) => {
    w.rawS32(error);
    w.rawU32(16);
    w.rawU16(0x20);
    w.rawU16(0);
    w.rawU32(seq);
    w.rawU32(PORT);
  });
const request = (): Uint8Array => msg(0x20, 0, 0);
const concat = (parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
};

describe('request engine faults', () => {
  it('counts a reply for an unknown sequence and keeps working', async () => {
    const c = new Connection({
      socket: new ScriptedSocket((req, push) => {
        push(ack(req.seq + 1000));
        push(ack(req.seq));
      }),
    });
    await expect(c.request(request())).resolves.toEqual([]);
    expect(c.stats.unmatched).toBe(1);
  });

  it('drops datagrams from a sender other than the kernel', async () => {
    const c = new Connection({
      socket: new ScriptedSocket((req, push) => {
        push(ack(req.seq, -1), 777);
        push(ack(req.seq));
      }),
    });
    await expect(c.request(request())).resolves.toEqual([]);
    expect(c.stats.foreign).toBe(1);
  });

  it('fails what is in flight with MalformedError on a corrupt datagram, never hangs', async () => {
    const c = new Connection({
      socket: new ScriptedSocket((req, push) => {
        const bad = ack(req.seq);
        new DataView(bad.buffer).setUint32(0, 4000, true); // nlmsg_len past the datagram
        push(bad);
      }),
    });
    const err = await c.request(request()).catch((e) => e);
    expect(err).toBeInstanceOf(MalformedError);
    expect(err.message).toMatch(/runs past the datagram/);
    expect(c.stats.malformed).toBe(1);
  });

  it('rejects a truncated NLMSG_ERROR as malformed', async () => {
    const c = new Connection({ socket: new ScriptedSocket((req, push) => push(msg(NLMSG_ERROR, 0, req.seq, (w) => w.rawS32(-22)))) });
    await expect(c.request(request())).rejects.toBeInstanceOf(MalformedError);
  });

  it('fails in-flight requests on a receive-buffer overrun and counts it', async () => {
    const sock = new ScriptedSocket(() => {});
    const c = new Connection({ socket: sock });
    sock.failNextDrain = new NetlinkError({ errno: 105, operation: 'receive' });
    const p = c.request(request());
    const err = await p.catch((e) => e);
    expect(err).toBeInstanceOf(NetlinkError);
    expect(err.code).toBe('ENOBUFS');
    expect(c.stats.overruns).toBe(1);
    expect(c.inFlight).toBe(0);
  });

  it('times out a request the kernel never answers', async () => {
    const c = new Connection({ socket: new ScriptedSocket(() => {}), timeoutMs: 30 });
    const err = await c.request(request(), { operation: 'silent' }).catch((e) => e);
    expect(err).toBeInstanceOf(NetlinkError);
    expect(err.code).toBe('ETIMEDOUT');
    expect(err.message).toContain('silent');
  });

  it('retries a dump the kernel flags as interrupted, and returns the clean one', async () => {
    let attempt = 0;
    const c = new Connection({
      socket: new ScriptedSocket((req, push) => {
        attempt++;
        const intr = attempt === 1 ? NLM_F_DUMP_INTR : 0;
        push(msg(0x20, NLM_F_MULTI | intr, req.seq, (w) => w.rawU32(attempt)));
        push(msg(NLMSG_DONE, NLM_F_MULTI | intr, req.seq, (w) => w.rawS32(0)));
      }),
    });
    const msgs = await c.dumpAll(msg(0x20, 0, 0));
    expect(msgs).toHaveLength(1);
    expect(new DataView(msgs[0].payload.buffer, msgs[0].payload.byteOffset).getUint32(0, true)).toBe(2);
    expect(c.stats.dumpRetries).toBe(1);
  });

  it('reports a dump that fails part-way through NLMSG_DONE', async () => {
    const c = new Connection({
      socket: new ScriptedSocket((req, push) => {
        push(msg(0x20, NLM_F_MULTI, req.seq));
        push(msg(NLMSG_DONE, NLM_F_MULTI, req.seq, (w) => w.rawS32(-90)));
      }),
    });
    await expect(c.dumpAll(msg(0x20, 0, 0))).rejects.toMatchObject({ code: 'EMSGSIZE' });
  });

  it('refuses a request whose nlmsg_len does not match its size', async () => {
    const c = new Connection({ socket: new ScriptedSocket(() => {}) });
    const bytes = request();
    await expect(c.request(bytes.subarray(0, 12))).rejects.toBeInstanceOf(MalformedError);
  });

  it('a group whose send fails: every request learns it, none is left waiting', async () => {
    const sock = new ScriptedSocket((req, push) => {
      if (req.flags & 0x4) push(ack(req.seq));
    });
    const send = sock.sendBatch.bind(sock);
    let fail = true;
    sock.sendBatch = (m) => {
      if (fail) throw new NetlinkError({ errno: 105, operation: 'sendmsg' });
      send(m);
    };
    const c = new Connection({ socket: sock });
    const out = await c.requestGroup(Array.from({ length: 100 }, request), { operation: 'grouped' });
    expect(out.every((e) => (e as NetlinkError)?.code === 'ENOBUFS')).toBe(true);
    expect(c.inFlight).toBe(0);
    const packed = await c.requestPacked(concat(Array.from({ length: 5 }, request)), 5);
    expect(packed.every((e) => (e as NetlinkError)?.code === 'ENOBUFS')).toBe(true);
    // The connection goes on once sends work again.
    fail = false;
    expect(await c.requestGroup([request(), request()])).toEqual([undefined, undefined]);
    expect(c.inFlight).toBe(0);
  });

  it('a packed group across the wrap of sequence numbers, failures by position', async () => {
    const c = new Connection({
      socket: new ScriptedSocket((req, push) => {
        // Members 2 and 4 (of 6) fail; the last carries the ACK.
        if (req.seq === 0) throw new Error('sequence 0 used');
        const i = seqs.push(req.seq) - 1;
        if (i === 2 || i === 4) push(ack(req.seq, -22));
        if (req.flags & 0x4) push(ack(req.seq));
      }),
    });
    const seqs: number[] = [];
    (c as unknown as { seq: number }).seq = 0xffffffff - 2;
    const out = await c.requestPacked(concat(Array.from({ length: 6 }, request)), 6, { operation: 'wrap' });
    expect(out.map((e) => (e as NetlinkError | undefined)?.code)).toEqual([undefined, undefined, 'EINVAL', undefined, 'EINVAL', undefined]);
    // Six consecutive numbers, none of them 0.
    expect(seqs.every((s, i) => i === 0 || s === seqs[i - 1] + 1)).toBe(true);
    expect(seqs[0]).toBe(1);
    // A request after the group does not reuse the group's numbers.
    await c.request(request());
    expect(seqs[6]).toBe(7);
  });

  it('times out a packed group the kernel never answers', async () => {
    const c = new Connection({ socket: new ScriptedSocket(() => {}), timeoutMs: 30 });
    const out = await c.requestPacked(concat([request(), request()]), 2, { operation: 'silent group' });
    expect(out.map((e) => (e as NetlinkError).code)).toEqual(['ETIMEDOUT', 'ETIMEDOUT']);
    expect(c.inFlight).toBe(0);
  });

  // What NetlinkSocket throws for a datagram larger than its receive slot; the rest stays queued.
  const cut = (seq?: number): NetlinkError => new NetlinkError({ errno: 90, operation: 'receive: datagram of 9000 bytes exceeds the 64-byte slot', seq });

  it('a cut reply fails its own request only; a cut datagram that answers nothing is counted', async () => {
    let n = 0;
    const sock = new ScriptedSocket((req, push) => {
      n++;
      if (n === 1) sock.failNextDrain = cut(req.seq);
      if (n === 3) sock.failNextDrain = cut();
      push(ack(req.seq));
    });
    const c = new Connection({ socket: sock });
    const [a, b] = await Promise.allSettled([c.request(request(), { operation: 'big get' }), c.request(request())]);
    expect(a).toMatchObject({ status: 'rejected', reason: { code: 'EMSGSIZE', message: expect.stringMatching(/^big get: receive: datagram of 9000 bytes/) } });
    expect(b).toMatchObject({ status: 'fulfilled', value: [] });
    // The cut request's ACK arrived after it had failed.
    expect(c.stats.unmatched).toBe(1);
    await expect(c.request(request())).resolves.toEqual([]);
    expect(c.stats.unmatched).toBe(2);
    expect(c.inFlight).toBe(0);
  });

  it("a cut answer to a packed group's member fails that member", async () => {
    const sock = new ScriptedSocket((req, push) => {
      if (++i === 2) sock.failNextDrain = cut(req.seq);
      if (req.flags & 0x4) push(ack(req.seq));
    });
    let i = 0;
    const c = new Connection({ socket: sock });
    const out = await c.requestPacked(concat([request(), request(), request()]), 3, { operation: 'group' });
    expect(out.map((e) => (e as NetlinkError | undefined)?.code)).toEqual([undefined, 'EMSGSIZE', undefined]);
    expect(out[1]?.message).toMatch(/^group: receive: datagram/);
    expect(c.inFlight).toBe(0);
  });

  it('fails everything pending on close', async () => {
    const sock = new ScriptedSocket(() => {});
    const c = new Connection({ socket: sock });
    const p = c.request(request());
    await new Promise((r) => setImmediate(r));
    c.close();
    await expect(p).rejects.toMatchObject({ code: 'EBADF' });
    expect(sock.closed).toBe(true);
  });
});
