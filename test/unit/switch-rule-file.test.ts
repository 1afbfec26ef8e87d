// The rule file: good files, and errors with FILE:LINE:COLUMN.
import { describe, expect, it } from 'vitest';
import { DEFAULT_PRIORITY, parseRuleFile, RuleFileError, TABLE_MISS_PRIORITY } from '../../src/switch/rule-file.js';
import { RuleTable } from '../../src/switch/rules.js';
import { LearningSwitch } from '../../src/switch/learning.js';
import { arpKey, ipv4Key } from './switch-keys.js';

const FILE = `# web traffic to port 2, the rest of 10.0.0.0/24 to 3
name=web priority=200 eth_type(0x0800),ipv4(dst=10.0.0.0/255.255.255.0),tcp(dst=80) actions:2
priority=100 eth_type(0x0800),ipv4(dst=10.0.0.0/255.255.255.0) actions:3   # subnet

priority=50 in_port(1) actions:drop
priority=10 eth_type(0x0806) actions:normal
table-miss actions:4,5
`;

function errorOf(text: string): RuleFileError {
  try {
    parseRuleFile(text, 'r.rules');
  } catch (e) {
    if (e instanceof RuleFileError) return e;
    throw e;
  }
  throw new Error('parsed');
}

describe('parseRuleFile', () => {
  it('reads rules with names, priorities, ODP matches and actions; comments and blank lines skipped', () => {
    const rules = parseRuleFile(FILE, 'r.rules');
    expect(rules.map((r) => [r.name, r.priority])).toEqual([
      ['web', 200],
      ['r.rules:3', 100],
      ['r.rules:5', 50],
      ['r.rules:6', 10],
      ['table-miss', TABLE_MISS_PRIORITY],
    ]);
    expect(rules[0].match).toMatchObject({ ethertype: 0x0800, ipv4: { dst: '10.0.0.0' }, tcp: { dst: 80 } });
    expect(rules[0].mask).toMatchObject({ ethertype: 0xffff, ipv4: { dst: '255.255.255.0', src: '0.0.0.0' }, tcp: { src: 0, dst: 0xffff } });
    expect(rules[0].actions).toEqual([{ type: 'output', port: 2 }]);
    expect(rules[2].actions).toEqual([]);
    expect(rules[3].normal).toBe(true);
    expect(rules[3].actions).toEqual([]);
    expect(rules[4].match).toEqual({});
    expect(rules[4].actions).toEqual([{ type: 'output', port: 4 }, { type: 'output', port: 5 }]);
  });

  it('gives the default priority, and accepts actions= and an empty match', () => {
    const [r] = parseRuleFile('actions=1\n');
    expect(r.priority).toBe(DEFAULT_PRIORITY);
    expect(r.mask).toEqual({});
    expect(r.name).toBe('rules:1');
  });

  it('decides as written through a RuleTable', () => {
    const sw = new LearningSwitch({ ports: () => [1, 2, 3] });
    const t = new RuleTable(parseRuleFile(FILE), { normal: sw });
    const out = (k: Parameters<RuleTable['decide']>[0]) => t.decide(k);
    expect(out(ipv4Key({ inPort: 1, dst4: '10.0.0.9', dport: 80 })).reason).toBe('web');
    expect(out(ipv4Key({ inPort: 1, dst4: '10.0.0.9', dport: 22 })).actions).toEqual([{ type: 'output', port: 3 }]);
    expect(out(ipv4Key({ inPort: 1, dst4: '10.0.1.9' })).actions).toEqual([]);
    expect(out(ipv4Key({ inPort: 2, dst4: '10.0.1.9' })).actions).toEqual([{ type: 'output', port: 4 }, { type: 'output', port: 5 }]);
    const arp = out(arpKey({ inPort: 2 }));
    expect(arp.reason).toBe('rules:6:flood');
    expect(arp.actions).toEqual([{ type: 'output', port: 1 }, { type: 'output', port: 3 }]);
  });

  it('places errors in the match at their column', () => {
    const e = errorOf('priority=5 in_port(1),ipv4(dst=10.0.0.300) actions:1');
    expect(e.message).toMatch(/^r\.rules:1:39: ipv4 dst: 300 is not an IPv4 address octet/);
    expect(e.line).toBe(1);
    expect('priority=5 in_port(1),ipv4(dst=10.0.0.300) actions:1'.slice(e.column - 1)).toMatch(/^300/);
  });

  it('places errors in the actions at their column, on the right line', () => {
    const text = '# ok\npriority=5 in_port(1) actions:2,bogus(3)\n';
    const e = errorOf(text);
    expect(e.line).toBe(2);
    expect(text.split('\n')[1].slice(e.column - 1)).toMatch(/^bogus/);
  });

  it('names the other mistakes', () => {
    expect(errorOf('priority=5 in_port(1) 2').message).toMatch(/^r\.rules:1:\d+: expected "actions:"/);
    expect(errorOf('priority=70000 actions:1').message).toBe('r.rules:1:10: priority must be an integer from 0 to 65535, got "70000"');
    expect(errorOf('priority=1 priority=2 actions:1').message).toMatch(/priority given twice/);
    expect(errorOf('in_port(1) actions:').message).toMatch(/no actions/);
    expect(errorOf('table-miss in_port(1) actions:1').message).toBe('r.rules:1:12: table-miss matches every packet: no match goes with it');
    expect(errorOf('priority=1 recirc_id(1) actions:1').message).toMatch(/^r\.rules:1:12: rules cannot match on recirc_id/);
    expect(errorOf('priority=1 tunnel(tun_id=0x5,dst=1.1.1.1) actions:1').message).toMatch(/rules cannot match on tunnel/);
  });
});

describe('docs/rules.md', () => {
  it('the example megaflow is what the table gives', async () => {
    const { readFile } = await import('node:fs/promises');
    const doc = await readFile(new URL('../../docs/rules.md', import.meta.url), 'utf8');
    const example = /Example:\n\n```\n([\s\S]*?)```/.exec(doc)![1];
    const t = new RuleTable(parseRuleFile(example, 'example.rules'));
    const d = t.decide(ipv4Key({ inPort: 1, dst4: '192.168.0.1', dport: 22 }));
    expect(d.actions).toEqual([{ type: 'output', port: 5 }]);
    expect(d.reason).toBe('table-miss');
    expect(d.mask).toEqual({ inPort: 0xffffffff, recircId: 0xffffffff, ethertype: 0xffff, ipv4: { src: '0.0.0.0', dst: '128.0.0.0', proto: 0, tos: 0, ttl: 0, frag: 0 } });
  });
});
