// What one writes, the other reads: every write command of ovs-dpctl done by
// ovsnl and checked with the real ovs-dpctl 3.1, and done by ovs-dpctl and
// checked with ovsnl, on the same kernel.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireOvsModule } from './setup.js';
import { deleteLink, linkExists, vethPair } from './ovs-helpers.js';
import { dpName, dpctlRun, ovsnl, type Run } from './cli-helpers.js';

type Tool = 'ovsnl' | 'ovs-dpctl';
const TOOLS: [Tool, Tool][] = [
  ['ovsnl', 'ovs-dpctl'],
  ['ovs-dpctl', 'ovsnl'],
];

async function run(tool: Tool, args: string[], stdin?: string): Promise<Run> {
  return tool === 'ovsnl' ? ovsnl(args, stdin) : dpctlRun(args, stdin);
}

const links: string[] = [];
beforeAll(() => requireOvsModule());
afterAll(() => {
  for (const l of links) deleteLink(l);
});

for (const [writer, reader] of TOOLS) {
  describe(`${writer} writes, ${reader} reads`, () => {
    const dp = dpName(writer === 'ovsnl' ? 'iw' : 'ir');
    let va: string;
    let vb: string;
    const ok = async (args: string[], stdin?: string): Promise<Run> => {
      const r = await run(writer, args, stdin);
      expect({ args, status: r.status, err: r.err.replace(/^\d{4}-.*\n/gm, '') }).toEqual({ args, status: 0, err: '' });
      return r;
    };
    const read = (args: string[]): Promise<Run> => run(reader, args);

    beforeAll(() => {
      [va, vb] = vethPair('iv');
      links.push(va);
    });
    afterAll(async () => {
      await ovsnl(['del-dp', dp]);
    });

    it('add-dp, add-if, set-if, del-if', async () => {
      await ok(['add-dp', dp, `${va},port_no=7`]);
      expect((await read(['dump-dps'])).out.split('\n')).toContain(`system@${dp}`);
      await ok(['add-if', dp, `${dp.slice(0, 10)}i,type=internal`]);
      let show = (await read(['show', dp])).out;
      expect(show).toContain(`  port 7: ${va}\n`);
      expect(show).toContain(`: ${dp.slice(0, 10)}i (internal)\n`);
      await ok(['set-if', dp, `${va},type=system`]);
      await ok(['add-if', dp, vb]);
      await ok(['del-if', dp, vb]);
      show = (await read(['show', dp])).out;
      expect(show).not.toContain(vb);
      await ok(['del-if', dp, `${dp.slice(0, 10)}i`]);
      expect(linkExists(`${dp.slice(0, 10)}i`)).toBe(false);
    });

    it('add-flow, mod-flow, del-flow', async () => {
      const ufid = 'ufid:0a0b0c0d-2222-3333-4444-555555555555';
      const k1 = `${ufid},in_port(7),eth(),eth_type(0x0800),ipv4(src=10.1.1.1,frag=no)`;
      const k2 = `in_port(${va}),eth(),eth_type(0x0806),arp(op=1)`;
      await ok(['add-flow', dp, k1, '1']);
      await ok(['add-flow', dp, k2, '2']);
      let dump = (await read(['dump-flows', '-m', dp])).out;
      expect(dump).toContain(`${ufid}, recirc_id(0/0)`);
      expect(dump).toMatch(/ipv4\(src=10\.1\.1\.1,.*actions:1\n/);
      expect(dump).toMatch(/arp\(sip=0\.0\.0\.0\/0\.0\.0\.0,tip=0\.0\.0\.0\/0\.0\.0\.0,op=1\/0xff.*actions:2\n/);
      await ok(['mod-flow', dp, k1, '3']);
      expect((await read(['get-flow', dp, ufid])).out).toMatch(/actions:3\n$/);
      await ok(['del-flow', dp, k2]);
      dump = (await read(['dump-flows', dp])).out;
      expect(dump).not.toContain('0x0806');
      await ok(['del-flow', dp, ufid]);
      expect((await read(['dump-flows', dp])).out).toBe('');
    });

    it('add-flows, mod-flows, del-flows FILE, del-flows', async () => {
      const keys = Array.from({ length: 50 }, (_, i) => `in_port(7),eth(),eth_type(0x0800),ipv4(src=10.2.${i}.1,frag=no)`);
      await ok(['add-flows', dp, '-'], keys.map((k) => `${k} 1\n`).join(''));
      expect((await read(['dump-flows', dp])).out.split('\n').filter(Boolean)).toHaveLength(50);
      await ok(['mod-flows', dp, '-'], keys.slice(0, 10).map((k) => `${k} 2\n`).join(''));
      expect((await read(['dump-flows', dp])).out.match(/actions:2\n/g)).toHaveLength(10);
      await ok(['del-flows', dp, '-'], keys.slice(0, 20).join('\n') + '\n');
      expect((await read(['dump-flows', dp])).out.split('\n').filter(Boolean)).toHaveLength(30);
      await ok(['del-flows', dp]);
      expect((await read(['dump-flows', dp])).out).toBe('');
    });

    it('ct-set-limits, ct-del-limits, cache-set-size', async () => {
      await ok(['ct-set-limits', dp, 'default=10', 'zone=3,limit=4']);
      expect((await read(['ct-get-limits', dp])).out).toBe('default limit=10\nzone=3,limit=4,count=0\n');
      await ok(['ct-del-limits', dp, 'zone=3']);
      await ok(['ct-set-limits', dp, 'default=0']);
      expect((await read(['ct-get-limits', dp])).out).toBe('default limit=0\n');
      await ok(['cache-set-size', dp, 'masks-cache', '64']);
      expect((await read(['cache-get-size', dp])).out).toBe(`system@${dp}:\n  caches:\n    masks-cache: size:64\n`);
    });

    it('del-dp', async () => {
      await ok(['del-dp', dp]);
      expect((await read(['dump-dps'])).out.split('\n')).not.toContain(`system@${dp}`);
      expect(linkExists(va)).toBe(true);
    });
  });
}
