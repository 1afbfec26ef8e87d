// Raw frame I/O of the addon on real interfaces of this host: a veth pair and
// a TAP device, created per test and removed after.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FRAME_META_WORDS, TP_STATUS_VLAN_VALID, native, type NativeFrameIO } from '../../src/native.js';

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
const ifindex = (name: string) => Number(readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8'));
const A = 'ovsnlfa0';
const B = 'ovsnlfb0';
const TAP = 'ovsnltap0';
const opened: NativeFrameIO[] = [];

beforeAll(() => {
  if (process.getuid?.() !== 0) throw new Error('raw frame I/O tests need root (CAP_NET_RAW and CAP_NET_ADMIN)');
  try {
    ip('link', 'del', A);
  } catch {}
  ip('link', 'add', 'name', A, 'type', 'veth', 'peer', 'name', B);
  ip('link', 'set', A, 'up');
  ip('link', 'set', B, 'up');
});
afterAll(() => {
  for (const s of opened) s.close();
  try {
    ip('link', 'del', A);
  } catch {}
});

const SLOT = 2048;
function frame(dst: string, src: string, etherType: number, payload: number[], vlan?: number): Uint8Array {
  const mac = (m: string) => m.split(':').map((x) => parseInt(x, 16));
  const tag = vlan === undefined ? [] : [0x81, 0x00, vlan >> 8, vlan & 0xff];
  return Uint8Array.from([...mac(dst), ...mac(src), ...tag, etherType >> 8, etherType & 0xff, ...payload]);
}

type Received = { data: Uint8Array; meta: number[] };
const backlog = new Map<NativeFrameIO, Received[]>();

/** The next frame with our marker ethertype (IPv6 ND and other noise is skipped). */
async function receive(s: NativeFrameIO, etherType: number, timeoutMs = 2000): Promise<Received> {
  const buf = new Uint8Array(16 * SLOT);
  const lens = new Int32Array(16);
  const meta = new Uint32Array(16 * FRAME_META_WORDS);
  const queue = backlog.get(s) ?? [];
  backlog.set(s, queue);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const i = queue.findIndex((r) => ((r.data[12] << 8) | r.data[13]) === etherType);
    if (i >= 0) return queue.splice(i, 1)[0];
    if (Date.now() >= deadline) throw new Error(`no frame with ethertype 0x${etherType.toString(16)} within ${timeoutMs} ms`);
    const n = s.recv(buf, SLOT, lens, meta);
    for (let k = 0; k < n; k++) {
      queue.push({ data: buf.slice(k * SLOT, k * SLOT + lens[k]), meta: Array.from(meta.subarray(k * FRAME_META_WORDS, (k + 1) * FRAME_META_WORDS)) });
    }
    if (n === 0) await new Promise((r) => setTimeout(r, 5));
  }
}

describe('PacketSocket (AF_PACKET) on a veth pair', () => {
  it('sends a batch on one end and receives every frame on the other, with metadata', async () => {
    const a = new (native().PacketSocket)(ifindex(A));
    const b = new (native().PacketSocket)(ifindex(B), { promisc: true });
    opened.push(a, b);
    expect(a.ifindex).toBe(ifindex(A));
    const frames = Array.from({ length: 40 }, (_, i) => frame('02:00:00:00:00:02', '02:00:00:00:00:01', 0x88b5, [i, ...new Array(50).fill(0xee)]));
    expect(a.send(frames)).toBe(40);
    const seen: number[] = [];
    for (let i = 0; i < 40; i++) {
      const { data, meta } = await receive(b, 0x88b5);
      seen.push(data[14]);
      expect(data.length).toBe(65);
      expect(meta[3]).toBe(65);
      expect(meta[2]).toBe(3); // PACKET_OTHERHOST: not our MAC, seen because promiscuous
    }
    expect(seen).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  it('recovers a VLAN tag the kernel stripped, from PACKET_AUXDATA', async () => {
    const a = new (native().PacketSocket)(ifindex(A));
    const b = new (native().PacketSocket)(ifindex(B), { promisc: true });
    opened.push(a, b);
    a.send([frame('02:00:00:00:00:02', '02:00:00:00:00:01', 0x88b6, new Array(46).fill(1), 0x2064)]); // pcp 1, vid 100
    const { data, meta } = await receive(b, 0x88b6);
    // The frame arrives untagged; the tag is in the metadata.
    expect(data.length).toBe(60);
    expect(meta[0] & TP_STATUS_VLAN_VALID).toBeTruthy();
    expect(meta[1] & 0xffff).toBe(0x2064);
  });

  it('does not hand back its own transmissions', async () => {
    const a = new (native().PacketSocket)(ifindex(A));
    opened.push(a);
    a.send([frame('02:00:00:00:00:02', '02:00:00:00:00:01', 0x88b7, new Array(46).fill(2))]);
    await expect(receive(a, 0x88b7, 200)).rejects.toThrow(/no frame/);
  });

  it('delivers readability through libuv', async () => {
    const a = new (native().PacketSocket)(ifindex(A));
    const b = new (native().PacketSocket)(ifindex(B), { promisc: true });
    opened.push(a, b);
    const ready = new Promise<number>((resolve) => b.pollStart(1, (_err, events) => resolve(events)));
    a.send([frame('02:00:00:00:00:02', '02:00:00:00:00:01', 0x88b8, new Array(46).fill(3))]);
    expect(await ready).toBe(1);
    b.pollStop();
  });

  it('throws errno-named errors on misuse and after close', () => {
    expect(() => new (native().PacketSocket)(999999)).toThrow(expect.objectContaining({ code: 'ENODEV' }));
    const a = new (native().PacketSocket)(ifindex(A));
    expect(() => a.send([1 as unknown as Uint8Array])).toThrow(TypeError);
    expect(() => a.recv(new Uint8Array(10), SLOT, new Int32Array(1))).toThrow(RangeError);
    a.close();
    a.close();
    expect(() => a.send([new Uint8Array(60)])).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });
});

describe('TapDevice', () => {
  it('creates a TAP interface that lives as long as its fd', () => {
    const t = new (native().TapDevice)(TAP);
    expect(t.name).toBe(TAP);
    expect(t.ifindex).toBe(ifindex(TAP));
    t.close();
    expect(() => ifindex(TAP)).toThrow();
  });

  it('reads frames the host sends into the interface and injects frames as received', async () => {
    const t = new (native().TapDevice)(TAP);
    opened.push(t);
    ip('link', 'set', TAP, 'up');
    const onTap = new (native().PacketSocket)(t.ifindex, { promisc: true });
    opened.push(onTap);
    // Host -> TAP fd
    onTap.send([frame('02:00:00:00:00:09', '02:00:00:00:00:08', 0x88b9, new Array(46).fill(4))]);
    const fromHost = await receive(t, 0x88b9);
    expect(fromHost.data.length).toBe(60);
    // TAP fd -> host (seen by the AF_PACKET socket as incoming)
    expect(t.send([frame('02:00:00:00:00:08', '02:00:00:00:00:09', 0x88ba, new Array(46).fill(5))])).toBe(1);
    const toHost = await receive(onTap, 0x88ba);
    expect(toHost.data[20]).toBe(5);
    expect(() => new (native().TapDevice)('x'.repeat(16))).toThrow(RangeError);
  });
});
