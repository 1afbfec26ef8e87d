// The fallback daemon's control socket, end to end on this host: a real unix
// socket, the request engine on the client side, a served toy family.
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttrWriter, getU32, parseAttrs } from '../../src/netlink/attr.js';
import { Connection } from '../../src/netlink/connection.js';
import { NetlinkError } from '../../src/netlink/errors.js';
import { genlRequest, listFamilies, resolveFamily } from '../../src/netlink/genl.js';
import { UnixTransport } from '../../src/netlink/unix-transport.js';
import { ControlServer } from '../../src/userspace/control-server.js';
import { DaemonError, encodeReply, type GenlCall } from '../../src/userspace/genl-service.js';

const dir = mkdtempSync(join(tmpdir(), 'ovsnl-ctl-'));
const path = join(dir, 'run', 'dpd.sock');
const server = new ControlServer({ path, log: () => {} });
const toy = server.register({
  name: 'ovsnl_toy',
  version: 3,
  hdrSize: 4,
  maxAttr: 2,
  groups: ['ovsnl_toy'],
  ops: [1, 2],
  handle(call: GenlCall) {
    if (call.flags & 0x300) return [1, 2, 3].map((i) => reply(i));
    if (call.cmd === 2) throw new DaemonError(17, 'toy: already there', call.attrsOffset);
    // cmd 1: echo attribute 1 (u32) plus one, and the family header.
    const n = getU32(parseAttrs(call.attrs)[0]);
    return [reply(n + 1, call.header)];
  },
});
function reply(n: number, header: Uint8Array = new Uint8Array(4)) {
  const w = new AttrWriter();
  w.rawBytes(header);
  w.u32(1, n);
  return { cmd: 1, version: 3, body: w.finish().slice() };
}
function toyRequest(cmd: number, n: number, flags = 0): Uint8Array {
  const { w, end } = genlRequest(toy.id, cmd, 3, flags);
  w.rawS32(77);
  w.u32(1, n);
  return end().slice();
}
const valueOf = (m: { payload: Uint8Array }) => getU32(parseAttrs(m.payload, 8)[0]);

let conn: Connection;
beforeAll(async () => {
  await server.listen();
  conn = new Connection({ socket: await UnixTransport.connect(path) });
});
afterAll(async () => {
  conn?.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('daemon control socket', () => {
  it('answers family lookups as the kernel nlctrl does', async () => {
    const f = await resolveFamily(conn, 'ovsnl_toy');
    expect(f).toMatchObject({ id: toy.id, name: 'ovsnl_toy', version: 3, hdrSize: 4, maxAttr: 2 });
    expect(f.groups.get('ovsnl_toy')).toBe(toy.groups.get('ovsnl_toy'));
    expect(f.ops.map((o) => o.id)).toEqual([1, 2]);
    const err = await resolveFamily(conn, 'ovs_nope').catch((e) => e);
    expect(err).toBeInstanceOf(NetlinkError);
    expect(err.code).toBe('ENOENT');
    expect((await listFamilies(conn)).map((x) => x.name)).toEqual(['nlctrl', 'ovsnl_toy']);
  });

  it('carries requests, replies, acks and dumps, many in flight', async () => {
    const replies = await Promise.all(Array.from({ length: 1000 }, (_, i) => conn.request(toyRequest(1, i))));
    replies.forEach((r, i) => {
      expect(r).toHaveLength(1);
      expect(valueOf(r[0])).toBe(i + 1);
      // The family header came back untouched.
      expect(new DataView(r[0].payload.buffer, r[0].payload.byteOffset).getInt32(4, true)).toBe(77);
    });
    const dumped = await conn.dumpAll(toyRequest(1, 0));
    expect(dumped.map(valueOf)).toEqual([1, 2, 3]);
    expect(conn.stats.unmatched).toBe(0);
  });

  it('reports errors with errno and extended ack, as the kernel would', async () => {
    const err = await conn.request(toyRequest(2, 5), { operation: 'toy new' }).catch((e) => e);
    expect(err).toBeInstanceOf(NetlinkError);
    expect(err.code).toBe('EEXIST');
    expect(err.extAck).toEqual({ message: 'toy: already there', offset: 24 });
    expect(err.message).toContain('toy new: File exists (EEXIST): toy: already there');
  });

  it('delivers unsolicited messages (upcalls) to a port id', async () => {
    const got = new Promise<number>((resolve) => (conn.onNotification = (m) => resolve(valueOf(m))));
    conn.listen();
    expect(server.unicast(conn.portId, encodeReply(toy.id, 0, 0, conn.portId, reply(42)))).toBe(true);
    expect(await got).toBe(42);
    conn.onNotification = undefined;
    expect(server.unicast(12345, new Uint8Array(16))).toBe(false);
  });

  it('refuses a client that is not root, checked with SO_PEERCRED', async () => {
    chmodSync(path, 0o666);
    chmodSync(dir, 0o755);
    chmodSync(join(dir, 'run'), 0o755);
    const dist = new URL('../../dist/', import.meta.url).pathname;
    const script = `
      import { Connection, resolveFamily } from '${dist}index.js';
      import { UnixTransport } from '${dist}netlink/unix-transport.js';
      const c = new Connection({ socket: await UnixTransport.connect(${JSON.stringify(path)}) });
      try { await resolveFamily(c, 'ovsnl_toy'); console.log('admitted'); }
      catch (e) { console.log(e.code, e.extAck.message); }
      c.close();
    `;
    // Asynchronously: the server answering it lives in this very process.
    const r = await new Promise<{ stdout: string; stderr: string }>((resolve) =>
      execFile(process.execPath, ['--input-type=module', '-e', script], { uid: 65534, gid: 65534, timeout: 10_000 }, (_err, stdout, stderr) => resolve({ stdout, stderr })),
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('EPERM the ovsnl datapath daemon serves root only (CAP_NET_ADMIN)');
  });

  it('drops a client that sends an impossible stream and keeps serving others', async () => {
    const bad = createConnection(path);
    const closed = new Promise<void>((r) => bad.on('close', () => r()));
    bad.on('error', () => {});
    bad.resume(); // read (and discard the greeting) so the server's close is seen
    bad.write(Buffer.from([4, 0, 0, 0, 0x20, 0, 5, 0, 1, 0, 0, 0, 0, 0, 0, 0]));
    await closed;
    await expect(conn.request(toyRequest(1, 9))).resolves.toHaveLength(1);
  });

  it('refuses to start a second daemon on a socket that is being served', async () => {
    await expect(new ControlServer({ path }).listen()).rejects.toThrow(/another ovsnl datapath daemon/);
  });
});
