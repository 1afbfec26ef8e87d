// ct-set-tp, ct-get-tp and ct-del-tp against the kernel's nfnetlink_cttimeout
// (ovs-dpctl has no such commands: OVS makes policies from OVSDB), and a
// kernel flow's ct(timeout=NAME) taking the policy the CLI made: the use
// count the kernel reports goes up by two for it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ovsnl } from './cli-helpers.js';
import { uniqueName } from './ovs-helpers.js';
import { requireKernelModules } from './setup.js';

const dp = uniqueName('ctp');

beforeAll(async () => {
  requireKernelModules('nfnetlink_cttimeout');
  expect((await ovsnl(['add-dp', dp])).status).toBe(0);
});

afterAll(async () => {
  await ovsnl(['del-dp', dp]);
  await ovsnl(['ct-del-tp', 'ovsnl_cli_tp']);
});

describe('timeout policy commands on the kernel', () => {
  it('make, show, bind, change and delete a policy', async () => {
    expect(await ovsnl(['ct-set-tp', 'ovsnl_cli_tp', 'ipv4', 'udp', 'unreplied=12', 'replied=34'])).toEqual({ out: '', err: '', status: 0 });
    expect(await ovsnl(['ct-get-tp', 'ovsnl_cli_tp'])).toEqual({ out: 'ovsnl_cli_tp: ipv4 udp use=1 unreplied=12 replied=34\n', err: '', status: 0 });
    expect((await ovsnl(['add-flow', dp, 'in_port(1),eth(),eth_type(0x0800),ipv4(proto=17,frag=no),udp()', 'ct(commit,timeout=ovsnl_cli_tp)'])).status).toBe(0);
    expect((await ovsnl(['ct-get-tp', 'ovsnl_cli_tp'])).out).toBe('ovsnl_cli_tp: ipv4 udp use=3 unreplied=12 replied=34\n');
    // Changed in place; its protocol cannot change.
    expect((await ovsnl(['ct-set-tp', 'ovsnl_cli_tp', 'ipv4', 'udp', 'unreplied=5'])).status).toBe(0);
    expect((await ovsnl(['ct-get-tp', 'ovsnl_cli_tp'])).out).toBe('ovsnl_cli_tp: ipv4 udp use=3 unreplied=5 replied=120\n');
    const other = await ovsnl(['ct-set-tp', 'ovsnl_cli_tp', 'ipv4', 'tcp']);
    expect(other).toMatchObject({ status: 1, err: 'ovsnl: failed to set timeout policy ovsnl_cli_tp (Invalid argument)\n' });
    const json = JSON.parse((await ovsnl(['ct-get-tp', '--json'])).out) as { name: string }[];
    expect(json.find((p) => p.name === 'ovsnl_cli_tp')).toEqual({ name: 'ovsnl_cli_tp', family: 'ipv4', proto: 'udp', use: 3, timeouts: { unreplied: 5, replied: 120 } });
    expect(await ovsnl(['ct-del-tp', 'ovsnl_cli_tp'])).toEqual({ out: '', err: '', status: 0 });
    expect(await ovsnl(['ct-get-tp', 'ovsnl_cli_tp'])).toEqual({ out: '', err: 'ovsnl: failed to get timeout policy ovsnl_cli_tp (No such file or directory)\n', status: 1 });
    expect((await ovsnl(['ct-set-tp', 'x', 'ipv5', 'udp'])).err).toBe('ovsnl: ipv5: the family is ipv4 or ipv6 (Invalid argument)\n');
  });
});
