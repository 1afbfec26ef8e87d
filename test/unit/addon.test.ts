// The addon against the host's real generic netlink (nlctrl is always there).
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { native, type NativeNetlinkSocket } from '../../src/native.js';
import * as C from '../../src/netlink/constants.js';
import { parseMessages } from '../../src/netlink/message.js';
import { getFamilyRequest } from './helpers.js';

const open: NativeNetlinkSocket[] = [];
const socket = (protocol?: number): NativeNetlinkSocket => {
  const s = new (native().NetlinkSocket)(protocol);
  open.push(s);
  return s;
};
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

const spawnSyncNode = (args: string[]) => spawnSync(process.execPath, args, { timeout: 10_000, encoding: 'utf8' });

const SLOT = 65536;
function receiveAll(s: NativeNetlinkSocket, want: number, timeoutMs = 2000): { type: number; seq: number }[] {
  const buf = new Uint8Array(8 * SLOT);
  const lens = new Int32Array(8);
  const out: { type: number; seq: number }[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < want && Date.now() < deadline) {
    const n = s.recvWait(buf, SLOT, lens, undefined, deadline - Date.now());
    for (let i = 0; i < n; i++) for (const m of parseMessages(buf.subarray(i * SLOT, i * SLOT + lens[i]))) out.push(m);
  }
  return out;
}

describe('addon constants', () => {
  it('equal the TypeScript copies of the uapi numbers', () => {
    const c = native().constants;
    for (const k of Object.keys(c) as (keyof typeof c)[]) {
      expect([k, (C as Record<string, unknown>)[k]]).toEqual([k, c[k]]);
    }
  });
});

describe('NetlinkSocket (native)', () => {
  it('binds to a kernel-assigned port id and closes idempotently', () => {
    const s = socket(C.NETLINK_GENERIC);
    expect(s.portId).toBeGreaterThan(0);
    expect(s.fd).toBeGreaterThanOrEqual(0);
    expect(s.closed).toBe(false);
    s.close();
    s.close();
    expect(s.closed).toBe(true);
    expect(s.fd).toBe(-1);
  });

  it('gives distinct port ids to distinct sockets', () => {
    expect(socket().portId).not.toBe(socket().portId);
  });

  it('fails to open an unknown protocol with an errno-named error', () => {
    expect(() => new (native().NetlinkSocket)(31)).toThrow(expect.objectContaining({ code: 'EPROTONOSUPPORT', syscall: 'socket' }));
  });

  it('sends a request and receives its reply and ack', () => {
    const s = socket();
    s.send(getFamilyRequest('nlctrl', 7));
    const msgs = receiveAll(s, 2);
    expect(msgs.map((m) => [m.type, m.seq])).toEqual([
      [C.GENL_ID_CTRL, 7],
      [C.NLMSG_ERROR, 7],
    ]);
  });

  it('sends many requests in one sendmsg and receives every answer in batches', () => {
    const s = socket();
    s.setOption(C.SOL_SOCKET, C.SO_RCVBUF, 1 << 20);
    const reqs = Array.from({ length: 100 }, (_, i) => getFamilyRequest('nlctrl', 1000 + i));
    const sent = s.sendBatch(reqs);
    expect(sent).toBe(reqs.reduce((n, r) => n + r.length, 0));
    const msgs = receiveAll(s, 200);
    const acked = msgs.filter((m) => m.type === C.NLMSG_ERROR).map((m) => m.seq);
    expect(acked).toEqual(reqs.map((_, i) => 1000 + i));
  });

  it('recvmmsg takes several queued datagrams in one recv call', async () => {
    const s = socket();
    s.setOption(C.SOL_SOCKET, C.SO_RCVBUF, 1 << 20);
    s.sendBatch(Array.from({ length: 100 }, (_, i) => getFamilyRequest('nlctrl', 1000 + i)));
    // Readable per libuv, then a moment more, so the count cannot hinge on when the kernel answers.
    await new Promise<void>((resolve) => s.pollStart(() => (s.pollStop(), resolve())));
    await new Promise((r) => setTimeout(r, 10));
    const buf = new Uint8Array(8 * SLOT);
    const lens = new Int32Array(8);
    const n = s.recv(buf, SLOT, lens);
    expect(n).toBe(8);
    // Eight separate datagrams, in order: each request's reply, then its ACK.
    const got = Array.from({ length: n }, (_, i) => parseMessages(buf.subarray(i * SLOT, i * SLOT + lens[i])).map((m) => [m.type, m.seq]));
    expect(got).toEqual(Array.from({ length: 8 }, (_, i) => [[i % 2 ? C.NLMSG_ERROR : C.GENL_ID_CTRL, 1000 + (i >> 1)]]));
  });

  it('recv never blocks and returns 0 when nothing is queued', () => {
    const s = socket();
    expect(s.recv(new Uint8Array(SLOT), SLOT, new Int32Array(1))).toBe(0);
  });

  it('recvWait returns 0 after its timeout', () => {
    const s = socket();
    const t0 = Date.now();
    expect(s.recvWait(new Uint8Array(SLOT), SLOT, new Int32Array(1), undefined, 50)).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
  });

  it('reports the full length of a datagram larger than its slot, and the sender port', () => {
    const s = socket();
    s.send(getFamilyRequest('nlctrl', 3));
    const buf = new Uint8Array(64);
    const lens = new Int32Array(1);
    const pids = new Uint32Array(1).fill(123);
    expect(s.recvWait(buf, 64, lens, pids, 1000)).toBe(1);
    expect(lens[0]).toBeGreaterThan(64);
    expect(pids[0]).toBe(0);
  });

  it('sets and reads socket options; forced receive buffers need CAP_NET_ADMIN', () => {
    const s = socket();
    s.setOption(C.SOL_SOCKET, C.SO_RCVBUF, 256 * 1024);
    expect(s.getOption(C.SOL_SOCKET, C.SO_RCVBUF)).toBeGreaterThanOrEqual(256 * 1024);
    for (const opt of [C.NETLINK_EXT_ACK, C.NETLINK_CAP_ACK, C.NETLINK_GET_STRICT_CHK, C.NETLINK_NO_ENOBUFS]) {
      s.setOption(C.SOL_NETLINK, opt, 1);
      expect(s.getOption(C.SOL_NETLINK, opt)).toBe(1);
    }
    if (process.getuid?.() === 0) {
      s.setOption(C.SOL_SOCKET, C.SO_RCVBUFFORCE, 8 << 20);
      expect(s.getOption(C.SOL_SOCKET, C.SO_RCVBUF)).toBeGreaterThanOrEqual(8 << 20);
    }
    expect(() => s.setOption(C.SOL_NETLINK, 9999, 1)).toThrow(expect.objectContaining({ code: 'ENOPROTOOPT', syscall: 'setsockopt' }));
  });

  it('joins and leaves a multicast group', () => {
    const s = socket();
    s.setOption(C.SOL_NETLINK, C.NETLINK_ADD_MEMBERSHIP, 0x10 /* nlctrl "notify" */);
    s.setOption(C.SOL_NETLINK, C.NETLINK_DROP_MEMBERSHIP, 0x10);
    expect(() => s.setOption(C.SOL_NETLINK, C.NETLINK_ADD_MEMBERSHIP, 0x7fffff)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });

  it('throws, never crashes, on misuse', () => {
    const s = socket();
    expect(() => s.send('x' as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => s.sendBatch([new Uint8Array(4), 5 as unknown as Uint8Array])).toThrow(TypeError);
    expect(() => s.recv(new Uint8Array(8), 16, new Int32Array(1))).toThrow(RangeError);
    expect(() => s.recv(new Uint8Array(64), 16, new Int32Array(0))).toThrow(RangeError);
    expect(() => s.recv(new Uint8Array(64), 4, new Int32Array(1))).toThrow(RangeError);
    expect(() => s.pollStart(42 as unknown as () => void)).toThrow(TypeError);
    expect(() => s.sendBatch(new Array(1025).fill(new Uint8Array(16)))).toThrow(RangeError);
    s.close();
    expect(() => s.send(new Uint8Array(16))).toThrow(expect.objectContaining({ code: 'EBADF' }));
    expect(() => s.recv(new Uint8Array(SLOT), SLOT, new Int32Array(1))).toThrow(expect.objectContaining({ code: 'EBADF' }));
    expect(() => s.setOption(C.SOL_SOCKET, C.SO_RCVBUF, 1)).toThrow(expect.objectContaining({ code: 'EBADF' }));
    expect(() => s.pollStart(() => {})).toThrow(expect.objectContaining({ code: 'EBADF' }));
    s.pollStop();
    s.ref();
    s.unref();
  });

  it('calls back on readability through libuv without blocking the event loop', async () => {
    const s = socket();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const got = await new Promise<number>((resolve) => {
      s.pollStart(() => {
        const buf = new Uint8Array(4 * SLOT);
        const lens = new Int32Array(4);
        const n = s.recv(buf, SLOT, lens);
        if (n > 0) {
          s.pollStop();
          resolve(n);
        }
      });
      setTimeout(() => s.send(getFamilyRequest('nlctrl', 9)), 20);
    });
    clearInterval(timer);
    expect(got).toBeGreaterThan(0);
    expect(ticks).toBeGreaterThan(0);
  });

  it('an unreferenced poll does not keep the process alive', async () => {
    const script = `
      import { native } from ${JSON.stringify(new URL('../../src/native.ts', import.meta.url).pathname.replace(/\.ts$/, '.js').replace('/src/', '/dist/'))};
      const s = new (native().NetlinkSocket)(16);
      s.pollStart(() => {});
      s.unref();
      setTimeout(() => console.log('done'), 10);
    `;
    const r = spawnSyncNode(['--input-type=module', '-e', script]);
    expect(r.signal).toBeNull();
    expect(r.stdout.trim()).toBe('done');
  });

  it('closes the socket when an unclosed one is garbage collected', () => {
    const script = `
      import { readlinkSync } from 'node:fs';
      import { native } from ${JSON.stringify(new URL('../../dist/native.js', import.meta.url).pathname)};
      const link = (fd) => { try { return readlinkSync('/proc/self/fd/' + fd); } catch { return 'closed'; } };
      let s = new (native().NetlinkSocket)(16);
      const fd = s.fd;
      const before = link(fd);
      s = null;
      for (let i = 0; i < 10 && link(fd) !== 'closed'; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 10)); }
      console.log(before.startsWith('socket:') ? 'open' : before, link(fd));
    `;
    const r = spawnSyncNode(['--expose-gc', '--input-type=module', '-e', script]);
    expect(r.stdout.trim()).toBe('open closed');
  });
});
