// The request engine against the host's real generic netlink controller.
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { Connection } from '../../src/netlink/connection.js';
import { CTRL_ATTR_FAMILY_NAME, CTRL_CMD_GETFAMILY, CTRL_VERSION, GENL_ID_CTRL } from '../../src/netlink/constants.js';
import { NetlinkError } from '../../src/netlink/errors.js';
import { genlRequest, listFamilies, resolveFamily } from '../../src/netlink/genl.js';
import { NetlinkSocket } from '../../src/netlink/socket.js';

const conns: Connection[] = [];
const connect = (...args: ConstructorParameters<typeof Connection>): Connection => {
  const c = new Connection(...args);
  conns.push(c);
  return c;
};
afterEach(() => {
  for (const c of conns.splice(0)) c.close();
});

/** A GETFAMILY request for `name`. */
const lookup = (name: string): Uint8Array => {
  const { w, end } = genlRequest(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, CTRL_VERSION);
  w.string(CTRL_ATTR_FAMILY_NAME, name);
  return end();
};

describe('Connection on the real kernel (nlctrl)', () => {
  it('resolves a family with its id, version and multicast groups', async () => {
    const f = await resolveFamily(connect(), 'nlctrl');
    expect(f).toMatchObject({ id: GENL_ID_CTRL, name: 'nlctrl', version: 2 });
    expect(f.groups.get('notify')).toBeGreaterThan(0);
    expect(f.ops.some((op) => op.id === CTRL_CMD_GETFAMILY)).toBe(true);
  });

  it('fails a lookup of a family that does not exist with NetlinkError ENOENT', async () => {
    const err = await resolveFamily(connect(), 'no_such_family').catch((e) => e);
    expect(err).toBeInstanceOf(NetlinkError);
    expect(err).toMatchObject({ code: 'ENOENT', errno: 2 });
    expect(err.message).toContain('resolve generic netlink family no_such_family');
  });

  it("surfaces the kernel's extended ack text and offset", async () => {
    // nlctrl's policy caps CTRL_ATTR_FAMILY_NAME at GENL_NAMSIZ - 1 bytes.
    const { w, end } = genlRequest(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, CTRL_VERSION);
    w.string(CTRL_ATTR_FAMILY_NAME, 'x'.repeat(40));
    const err = await connect().request(end(), { operation: 'bad getfamily' }).catch((e) => e);
    expect(err).toBeInstanceOf(NetlinkError);
    expect(err.code).toBe('EINVAL');
    expect(err.extAck.message).toMatch(/./);
    // The offending attribute starts right after nlmsghdr + genlmsghdr.
    expect(err.extAck.offset).toBe(20);
    expect(err.message).toContain(err.extAck.message);
  });

  it('keeps many requests in flight and matches every reply by sequence', async () => {
    const c = connect({ maxInFlight: 64 });
    const names = ['nlctrl', 'no_such_a', 'nlctrl', 'no_such_b'];
    const all = Array.from({ length: 1000 }, (_, i) => names[i % 4]);
    const results = await Promise.allSettled(all.map((n) => resolveFamily(c, n)));
    results.forEach((r, i) => {
      if (all[i] === 'nlctrl') expect(r).toMatchObject({ status: 'fulfilled', value: { name: 'nlctrl' } });
      else expect(r).toMatchObject({ status: 'rejected', reason: { code: 'ENOENT' } });
    });
    expect(c.stats.sent).toBe(1000);
    // Pipelined: far fewer system calls than requests.
    expect(c.stats.sendCalls).toBeLessThan(100);
    expect(c.inFlight).toBe(0);
    expect(c.stats.unmatched).toBe(0);
  });

  it('a group of requests: one ACK settles them all, each failure lands on its own request', async () => {
    const c = connect({ maxInFlight: 4 });
    // Over 64 KiB of requests: more than one packed group, so more than one ACK.
    const names = Array.from({ length: 3000 }, (_, i) => (i % 7 === 3 ? `no_such_${i}` : 'nlctrl'));
    const named: number[] = [];
    const packs: number[] = [];
    const packed = c.requestPacked.bind(c);
    c.requestPacked = (b, n, o) => (packs.push(n), packed(b, n, o));
    const out = await c.requestGroup(names.map(lookup), {
      operation: 'grouped getfamily',
      operations: (i) => (named.push(i), `getfamily ${names[i]}`),
    });
    expect(out).toHaveLength(3000);
    out.forEach((e, i) => {
      if (names[i] === 'nlctrl') expect(e).toBeUndefined();
      else expect(e).toMatchObject({ code: 'ENOENT', operation: `getfamily no_such_${i}` });
    });
    // Only failures are named.
    expect(named.length).toBe(names.filter((n) => n !== 'nlctrl').length);
    expect(c.stats.sent).toBe(3000);
    // Several packed groups, each below 64 KiB.
    expect(packs.length).toBeGreaterThan(1);
    expect(packs.reduce((a, b) => a + b)).toBe(3000);
    // nlctrl answers every lookup (groups are meant for requests that do
    // not); besides, one ACK per group whose last request succeeded.
    expect(c.stats.received).toBeGreaterThan(3000);
    expect(c.stats.received).toBeLessThanOrEqual(3000 + packs.length);
    expect(c.inFlight).toBe(0);

    // A malformed request is refused by itself; the rest go.
    const bad = new Uint8Array(16);
    const out2 = await c.requestGroup([lookup('nlctrl'), lookup('no_such_x'), bad]);
    expect(out2[0]).toBeUndefined();
    expect(out2[1]).toMatchObject({ code: 'ENOENT' });
    expect(out2[2]?.message).toMatch(/nlmsg_len/);
    expect(await c.requestGroup([])).toEqual([]);
    expect(c.inFlight).toBe(0);
  });

  it('a packed group: requests back to back in one buffer, one record, each failure on its own request', async () => {
    const c = connect({ maxInFlight: 4 });
    const names = Array.from({ length: 300 }, (_, i) => (i % 7 === 3 ? `no_such_${i}` : 'nlctrl'));
    const parts = names.map(lookup);
    const buffer = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    parts.reduce((at, p) => (buffer.set(p, at), at + p.length), 0);
    // A request of its own in flight beside the group keeps its answer.
    const [out, alone] = await Promise.all([c.requestPacked(buffer, 300, { operation: 'packed getfamily' }), resolveFamily(c, 'nlctrl')]);
    expect(alone.name).toBe('nlctrl');
    expect(out).toHaveLength(300);
    out.forEach((e, i) => {
      if (names[i] === 'nlctrl') expect(e).toBeUndefined();
      else expect(e).toMatchObject({ code: 'ENOENT', operation: 'packed getfamily' });
    });
    // Members are meant to be silent when they succeed; nlctrl answers every
    // lookup, and those answers match no request of their own.
    const replied = names.slice(0, -1).filter((n) => n === 'nlctrl').length;
    expect(c.stats.unmatched).toBe(replied);
    expect(c.stats.sent).toBe(301);
    expect(c.inFlight).toBe(0);

    // A count that does not match the buffer: nothing is sent, every entry says why.
    const bad = await c.requestPacked(buffer, 301);
    expect(bad.every((e) => e?.message.includes('packed group: request 300 of 301'))).toBe(true);
    expect(c.stats.sent).toBe(301);
    expect(await c.requestPacked(new Uint8Array(0), 0)).toEqual([]);
  });

  it('dumps all families as a multi-part dump', async () => {
    const fams = await listFamilies(connect());
    const names = fams.map((f) => f.name);
    expect(names).toContain('nlctrl');
    expect(new Set(names).size).toBe(names.length);
    expect(fams.length).toBeGreaterThan(3);
  });

  it('streams a dump through an async iterator, and stops early cleanly', async () => {
    const c = connect();
    const { end } = genlRequest(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, CTRL_VERSION);
    let n = 0;
    for await (const m of c.dump(end())) {
      expect(m.type).toBe(GENL_ID_CTRL);
      if (++n === 2) break;
    }
    expect(n).toBe(2);
    // The connection still works after an abandoned dump.
    await expect(resolveFamily(c, 'nlctrl')).resolves.toMatchObject({ id: GENL_ID_CTRL });
  });

  it('hands each reply of a dump to a callback, the same replies as the iterator', async () => {
    const c = connect();
    const { end } = genlRequest(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, CTRL_VERSION);
    const viaIterator: string[] = [];
    for await (const m of c.dump(end())) viaIterator.push(Buffer.from(m.payload).toString('hex'));
    const viaCallback: string[] = [];
    await c.dumpEach(genlRequest(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, CTRL_VERSION).end(), (m) => {
      expect(m.type).toBe(GENL_ID_CTRL);
      viaCallback.push(Buffer.from(m.payload).toString('hex'));
    });
    expect(viaCallback.length).toBeGreaterThan(3);
    expect(viaCallback).toEqual(viaIterator);
  });

  it('ends a callback dump with what the callback throws, and keeps working', async () => {
    const c = connect();
    let n = 0;
    const failure = new Error('stop here');
    await expect(
      c.dumpEach(genlRequest(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, CTRL_VERSION).end(), () => {
        if (++n === 2) throw failure;
      }),
    ).rejects.toBe(failure);
    expect(n).toBe(2);
    await expect(resolveFamily(c, 'nlctrl')).resolves.toMatchObject({ id: GENL_ID_CTRL });
  });

  it('rejects requests after close, and close is idempotent', async () => {
    const c = connect();
    c.close();
    c.close();
    await expect(resolveFamily(c, 'nlctrl')).rejects.toMatchObject({ code: 'EBADF' });
  });

  it('OVSNL_DEBUG=1 prints each message sent and received, decoded', () => {
    const script = `
      import { Connection, resolveFamily } from ${JSON.stringify(new URL('../../dist/index.js', import.meta.url).pathname)};
      const c = new Connection();
      await resolveFamily(c, 'nlctrl');
      await resolveFamily(c, 'nope').catch(() => {});
      c.close();
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, OVSNL_DEBUG: '1' }, encoding: 'utf8', timeout: 10_000 });
    expect(r.status).toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/^ovsnl: send len=\d+ type=nlctrl\(0x10\) flags=REQUEST\|ACK seq=\d+ pid=0 cmd=3 version=2 attrs=\[2:7\]$/);
    expect(lines.some((l) => /^ovsnl: recv .*type=nlctrl\(0x10\).* cmd=1 version=2 attrs=\[.*1:2.*\]/.test(l))).toBe(true);
    expect(lines.some((l) => /^ovsnl: recv .*type=ERROR .*ack$/.test(l))).toBe(true);
    expect(lines.some((l) => /type=ERROR .*error=-2 \(ENOENT\)/.test(l))).toBe(true);
  });
});

describe('Connection after a real receive-buffer overrun', () => {
  it('counts ENOBUFS, fails what was in flight with it, and keeps working', async () => {
    // Room for a few replies and a thousand answers owed: the kernel drops
    // replies and sets ENOBUFS on the socket (POLLERR, which libuv alone would
    // report as EBADF and stop polling on).
    const c = connect({ maxInFlight: 1000, receiveBufferBytes: 32768, timeoutMs: 3000 });
    const results = await Promise.allSettled(Array.from({ length: 1000 }, () => resolveFamily(c, 'nlctrl')));
    const failed = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason);
    expect(c.stats.overruns).toBeGreaterThan(0);
    expect(failed.length).toBeGreaterThan(0);
    for (const e of failed) expect(e).toMatchObject({ code: 'ENOBUFS' });
    expect(c.inFlight).toBe(0);
    // The replies that did fit were read at once (so the kernel stops treating
    // the socket as congested) and matched nothing.
    expect(c.stats.unmatched).toBeGreaterThan(0);
    // The same connection still answers.
    await expect(resolveFamily(c, 'nlctrl')).resolves.toMatchObject({ name: 'nlctrl' });
  });
});

describe('Connection with a receive slot smaller than a reply', () => {
  // nlctrl's own family reply is ~136 bytes; an ACK or ENOENT (capped, no
  // echoed request) is 36: 64-byte slots cut the first and hold the others.
  const SLOT = 64;
  const truncated = (c: Connection): number => (c.socket as NetlinkSocket).truncated;

  it('fails only the request whose reply was cut (EMSGSIZE), answers the rest, and keeps working', async () => {
    const c = connect({ slotBytes: SLOT, timeoutMs: 5000 });
    // One tick, one sendmsg: all six answers land in one recvmmsg batch behind the cut one.
    const [cut, a, b] = await Promise.allSettled([resolveFamily(c, 'nlctrl'), resolveFamily(c, 'no_such_a'), resolveFamily(c, 'no_such_b')]);
    expect(cut.status).toBe('rejected');
    const err = (cut as PromiseRejectedResult).reason;
    expect(err).toBeInstanceOf(NetlinkError);
    expect(err).toMatchObject({ code: 'EMSGSIZE', errno: 90 });
    expect(err.seq).toEqual(expect.any(Number));
    expect(err.message).toMatch(/resolve generic netlink family nlctrl: receive: datagram of \d+ bytes exceeds the 64-byte slot/);
    expect(a).toMatchObject({ status: 'rejected', reason: { code: 'ENOENT' } });
    expect(b).toMatchObject({ status: 'rejected', reason: { code: 'ENOENT' } });
    expect(truncated(c)).toBe(1);
    expect(c.inFlight).toBe(0);
    // The cut request's own ACK came after it was failed.
    expect(c.stats.unmatched).toBe(1);
    // Later requests on the same connection: one whose answer fits, one whose reply does not.
    await expect(resolveFamily(c, 'no_such_c')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(resolveFamily(c, 'nlctrl')).rejects.toMatchObject({ code: 'EMSGSIZE' });
    expect(truncated(c)).toBe(2);
    expect(c.inFlight).toBe(0);
  });

  it('fails a dump whose datagram was cut, without leaving it pending', async () => {
    const c = connect({ slotBytes: SLOT, timeoutMs: 5000 });
    await expect(listFamilies(c)).rejects.toMatchObject({ code: 'EMSGSIZE' });
    expect(truncated(c)).toBeGreaterThan(0);
    expect(c.inFlight).toBe(0);
    await expect(resolveFamily(c, 'no_such_family')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
