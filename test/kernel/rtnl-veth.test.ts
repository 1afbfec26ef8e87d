// Links over rtnetlink on the real kernel: veth pairs (here and across
// network namespaces), get/list/up/MTU/delete, checked against ip(8).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteLink, getLink, listLinks, openRoute, setLinkMtu, setLinkUp } from '../../src/rtnl/link.js';
import { createVethPair } from '../../src/rtnl/veth.js';
import type { Connection } from '../../src/netlink/connection.js';
import { linkExists, uniqueName } from './ovs-helpers.js';
import { requireOvsModule } from './setup.js';

let conn: Connection;
const netns = uniqueName('rtns');

beforeAll(() => {
  requireOvsModule();
  conn = openRoute();
  execFileSync('ip', ['netns', 'add', netns]);
});

afterAll(() => {
  conn?.close();
  try {
    execFileSync('ip', ['netns', 'del', netns]);
  } catch {}
});

const sysIfindex = (dev: string): number => Number(readFileSync(`/sys/class/net/${dev}/ifindex`, 'utf8'));

describe('links over rtnetlink', () => {
  it('creates a veth pair, reads both ends, sets up and MTU, deletes', async () => {
    const a = uniqueName('rtva');
    const b = uniqueName('rtvb');
    const { ifindex } = await createVethPair({ name: a, peer: b, up: true }, conn);
    expect(ifindex).toBe(sysIfindex(a));
    const la = (await getLink(conn, a))!;
    const lb = (await getLink(conn, b))!;
    expect(la).toMatchObject({ name: a, ifindex, kind: 'veth', up: true, mtu: 1500 });
    expect(lb).toMatchObject({ name: b, kind: 'veth', up: true });
    expect(la.address).toBe(readFileSync(`/sys/class/net/${a}/address`, 'utf8').trim());
    // by index too, and in the dump
    expect((await getLink(conn, ifindex))?.name).toBe(a);
    expect((await listLinks(conn)).map((l) => l.name)).toEqual(expect.arrayContaining([a, b, 'lo']));

    await setLinkUp(conn, a, false);
    expect((await getLink(conn, a))!.up).toBe(false);
    await setLinkMtu(conn, a, 9000);
    expect(Number(readFileSync(`/sys/class/net/${a}/mtu`, 'utf8'))).toBe(9000);

    expect(await deleteLink(conn, a)).toBe(true);
    expect(linkExists(a) || linkExists(b)).toBe(false);
    expect(await deleteLink(conn, a)).toBe(false);
    expect(await getLink(conn, a)).toBeUndefined();
  });

  it('puts the peer into a named network namespace', async () => {
    const a = uniqueName('rtna');
    const b = uniqueName('rtnb');
    await createVethPair({ name: a, peer: b, peerNetns: { name: netns }, up: true }, conn);
    expect(linkExists(a)).toBe(true);
    expect(linkExists(b)).toBe(false);
    const inside = JSON.parse(execFileSync('ip', ['-n', netns, '-j', 'link', 'show', 'dev', b], { encoding: 'utf8' })) as { ifname: string }[];
    expect(inside[0].ifname).toBe(b);
    // This end knows its peer lives in another namespace.
    expect((await getLink(conn, a))!.linkNetnsid).toBeGreaterThanOrEqual(0);
    await deleteLink(conn, a);
  });

  it('says what is wrong with a bad name before asking the kernel', async () => {
    await expect(createVethPair({ name: 'x'.repeat(16), peer: 'y' }, conn)).rejects.toThrow(/invalid interface name/);
    await expect(getLink(conn, 'a/b')).rejects.toThrow(/invalid interface name/);
  });

  it('reports the kernel refusal of a duplicate name as EEXIST', async () => {
    const a = uniqueName('rtda');
    await createVethPair({ name: a, peer: uniqueName('rtdb') }, conn);
    await expect(createVethPair({ name: a, peer: uniqueName('rtdc') }, conn)).rejects.toMatchObject({ code: 'EEXIST' });
    await deleteLink(conn, a);
  });
});
