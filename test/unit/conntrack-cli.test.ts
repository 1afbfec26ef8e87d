// The conntrack commands' argument handling that happens before any kernel
// is asked (OVS's order: counts, zone, tuples, then the datapath), and the
// --json form of an entry.
import { describe, expect, it } from 'vitest';
import { ctEntryJson, dumpConntrackCommand, flushConntrackCommand, scanZone, userspaceOnlyCommand, type ConntrackIO } from '../../src/cli/conntrack.js';
import { CliError } from '../../src/cli/errors.js';
import { decodeCtEntry } from '../../src/conntrack/entry.js';

const io: ConntrackIO = { out: () => undefined, err: () => undefined };
const failsWith = async (p: Promise<void>, message: string): Promise<void> => {
  await expect(p).rejects.toBeInstanceOf(CliError);
  await expect(p).rejects.toThrow(message);
};

describe('arguments, checked before the kernel is asked', () => {
  it('counts, as ovs-dpctl words them', async () => {
    await failsWith(dumpConntrackCommand(['a', 'b', 'c', 'd', 'e'], {}, io), "'dump-conntrack' command takes at most 4 arguments");
    await failsWith(flushConntrackCommand(['a', 'b', 'c', 'd', 'e'], io), "'flush-conntrack' command takes at most 4 arguments");
    await failsWith(userspaceOnlyCommand('ct-set-maxconns', [], io), "'ct-set-maxconns' command requires at least 1 arguments");
    await failsWith(userspaceOnlyCommand('ipf-set-min-frag', ['a', 'b', 'c', 'd'], io), "'ipf-set-min-frag' command takes at most 3 arguments");
  });

  it('flush-conntrack: zone and tuples with OVS messages; a leading non key=value argument is the datapath', async () => {
    await failsWith(flushConntrackCommand(['zone=x'], io), 'failed to parse zone (Invalid argument)');
    await failsWith(flushConntrackCommand(['dp0', 'zone=70000'], io), 'failed to parse zone (Invalid argument)');
    await failsWith(flushConntrackCommand(['dp0', 'zone=1', 'ct_nw_src=1.2.3.4,x=1'], io), 'invalid conntrack tuple field: x (Invalid argument)');
    await failsWith(flushConntrackCommand(['ct_nw_src=1.2.3.4', 'ct_nw_dst'], io), 'field ct_nw_dst missing value (Invalid argument)');
    await failsWith(flushConntrackCommand(['zone=1', 'ct_nw_proto=6', 'ct_nw_proto=6', 'more'], io), 'invalid arguments (Invalid argument)');
  });

  it('zone=N is scanned as sscanf does (a prefix, u16)', () => {
    expect(scanZone('zone=5')).toBe(5);
    expect(scanZone('zone=5x')).toBe(5);
    expect(scanZone('zone=65535')).toBe(65535);
    expect(scanZone('zone=65536')).toBeUndefined();
    expect(scanZone('zone=')).toBeUndefined();
    expect(scanZone('zones=1')).toBeUndefined();
  });
});

describe('--json', () => {
  it('an entry as plain data: names as in the text form, numbers as numbers', () => {
    // A recorded TCP SYN entry (see conntrack-format.test.ts).
    const e = decodeCtEntry({
      type: 0x100,
      flags: 2,
      seq: 0,
      pid: 0,
      payload: Buffer.from(
        '020000003400018014000180080001000a340001080002000a3400021c0002800500010006000000060002009c400000' +
          '06000300005000003400028014000180080001000a340002080002000a3400011c000280050001000600000006000200' +
          '00500000060003009c4000000800030000000008080008000000000008000c00a57f8f2e08000b000000000108000700' +
          '00000077300004802c000180050001000100000005000200000000000500030000000000060004000000000006000500' +
          '00000000',
        'hex',
      ),
    });
    expect(JSON.parse(JSON.stringify(ctEntryJson(e)))).toEqual({
      proto: 'tcp',
      family: 'ipv4',
      orig: { src: '10.52.0.1', dst: '10.52.0.2', srcPort: 40000, dstPort: 80 },
      reply: { src: '10.52.0.2', dst: '10.52.0.1', srcPort: 80, dstPort: 40000 },
      id: 2776600366,
      zone: 0,
      status: ['CONFIRMED'],
      timeout: 119,
      mark: 0,
      tcpState: 'SYN_SENT',
    });
  });
});
