// The FTP helper's reading of control segments (nf_conntrack_ftp's rules),
// and both helpers' expectations in the tracker:
// which commands and replies announce a data connection, the line-end
// positions that decide whether a segment is read at all, and what makes
// the kernel drop a packet. The kernel comparison is
// test/diff/conntrack-helper.test.ts; these pin the cases it does not send.
import { describe, expect, it } from 'vitest';
import { buildFrame, parsePacket } from '../../src/packet/index.js';
import { ConnTracker, IPS_CONFIRMED, IPS_EXPECTED } from '../../src/userspace/conntrack.js';
import { ftpHelp, newFtpState, type FtpState } from '../../src/userspace/conntrack-ftp.js';

const A = Uint8Array.of(10, 0, 0, 1);
const B = Uint8Array.of(10, 0, 0, 2);
const A6 = Uint8Array.from(Buffer.from('fd000000000000000000000000000001', 'hex'));
const text = (s: string) => Uint8Array.from(Buffer.from(s, 'latin1'));

/** A state whose next segment in `dir` starts right after a line end at `seq`. */
function primed(dir: number, seq = 100): FtpState {
  const st = newFtpState();
  ftpHelp(st, dir, false, text('x\r\n'), seq - 3, dir === 0 ? A : B);
  return st;
}

describe('the FTP helper', () => {
  it('reads PORT and EPRT from the client, 227 and 229 from the server', () => {
    expect(ftpHelp(primed(0), 0, false, text('PORT 10,0,0,1,4,1\r\n'), 100, A)).toEqual({ addr: A, port: 1025 });
    expect(ftpHelp(primed(0), 0, false, text('port 10,0,0,1,0,21\r\n'), 100, A)).toEqual({ addr: A, port: 21 });
    expect(ftpHelp(primed(0), 0, false, text('EPRT |1|10.0.0.1|6275|\r\n'), 100, A)).toEqual({ addr: A, port: 6275 });
    expect(ftpHelp(primed(1), 1, false, text('227 Entering Passive Mode (10,0,0,2,117,48)\r\n'), 100, B)).toEqual({ addr: B, port: 30000 });
    // RFC 1123: the numbers wherever they start, parentheses or not.
    expect(ftpHelp(primed(1), 1, false, text('227 =10,0,0,2,0,99\r\n'), 100, B)).toEqual({ addr: B, port: 99 });
    expect(ftpHelp(primed(1), 1, false, text('229 Extended Passive (|||6446|)\r\n'), 100, B)).toEqual({ addr: B, port: 6446 });
    const st = newFtpState();
    ftpHelp(st, 0, true, text('x\n'), 98, A6);
    expect(ftpHelp(st, 0, true, text('EPRT |2|fd00::1|5282|\r\n'), 100, A6)).toEqual({ addr: A6, port: 5282 });
  });

  it('does not read a command in the wrong direction or for another address, and drops one of the wrong family', () => {
    expect(ftpHelp(primed(1), 1, false, text('PORT 10,0,0,2,4,1\r\n'), 100, B)).toBeUndefined();
    expect(ftpHelp(primed(0), 0, false, text('227 (10,0,0,1,4,1)\r\n'), 100, A)).toBeUndefined();
    // EPRT of the other family is a command it cannot read: the kernel drops the packet.
    expect(ftpHelp(primed(0), 0, false, text('EPRT |2|fd00::1|5282|\r\n'), 100, A)).toBe('drop');
    expect(ftpHelp(primed(0), 0, false, text('PORT 10,0,0,9,4,1\r\n'), 100, A)).toBeUndefined();
    // A zero port in the extended forms is none.
    expect(ftpHelp(primed(1), 1, false, text('229 (|||0|)\r\n'), 100, B)).toBe('drop');
  });

  it('reads only a segment that starts right after a line end it saw in that direction', () => {
    const st = newFtpState();
    // The first segment is not read, but its line end is remembered.
    expect(ftpHelp(st, 0, false, text('PORT 10,0,0,1,4,1\r\n'), 1000, A)).toBeUndefined();
    expect(ftpHelp(st, 0, false, text('PORT 10,0,0,1,4,2\r\n'), 1019, A)).toEqual({ addr: A, port: 1026 });
    // Not after a line end (a segment that did not end in one).
    expect(ftpHelp(st, 0, false, text('NOOP'), 1038, A)).toBeUndefined();
    expect(ftpHelp(st, 0, false, text('PORT 10,0,0,1,4,3\r\n'), 1042, A)).toBeUndefined();
    // The other direction's line ends do not count.
    expect(ftpHelp(st, 1, false, text('227 (10,0,0,2,4,4)\r\n'), 1019, B)).toBeUndefined();
    // Two positions are kept, the older one replaced.
    const two = newFtpState();
    ftpHelp(two, 0, false, text('a\n'), 10, A);
    ftpHelp(two, 0, false, text('b\n'), 20, A);
    ftpHelp(two, 0, false, text('c\n'), 30, A);
    expect(two.nl[0]).toEqual([32, 22]);
  });

  it('drops a command cut short, as the kernel does', () => {
    expect(ftpHelp(primed(0), 0, false, text('POR'), 100, A)).toBe('drop');
    expect(ftpHelp(primed(0), 0, false, text('PORT 10,0,0'), 100, A)).toBe('drop');
    expect(ftpHelp(primed(0), 0, false, text('PORTX'), 100, A)).toBe('drop');
    // Not a command at all: left alone.
    expect(ftpHelp(primed(0), 0, false, text('USER anonymous\r\n'), 100, A)).toBeUndefined();
  });
});

describe('expectations in the tracker', () => {
  const tcp = (fromA: boolean, src: number, dst: number, flags: number, seq: number, ack: number, payload = '') =>
    parsePacket(buildFrame({ l3: { kind: 'ipv4', src: fromA ? '10.0.0.1' : '10.0.0.2', dst: fromA ? '10.0.0.2' : '10.0.0.1' }, l4: { kind: 'tcp', src, dst, flags, seq, ack, window: 1000 }, payload: Buffer.from(payload) }));
  const SYN = 0x02, ACK = 0x10, TRK = 0x20, NEW = 0x01, REL = 0x04, EST = 0x02;

  it('relate a data connection for 300 s, to the master tuple, and go with their master', () => {
    let t = 0;
    const ct = new ConnTracker({ now: () => t });
    const ctl = (fromA: boolean, flags: number, seq: number, ack: number, payload = '') =>
      ct.process(tcp(fromA, fromA ? 40000 : 21, fromA ? 21 : 40000, flags, seq, ack, payload), 0, fromA ? {} : undefined, undefined, undefined, undefined, 'ftp');
    ctl(true, SYN, 1, 0);
    ctl(false, SYN | ACK, 100, 2);
    ctl(true, ACK, 2, 101);
    ctl(true, ACK, 2, 101, 'USER a\r\n');
    expect(ctl(true, ACK, 10, 101, 'PORT 10,0,0,1,4,1\r\n').state).toBe(TRK | EST);
    const data = (port: number, commit: boolean) => ct.process(tcp(false, 20, port, SYN, 7, 0), 0, commit ? {} : undefined);
    const v = data(1025, false);
    expect(v.state).toBe(TRK | NEW | REL);
    expect(v.orig).toMatchObject({ srcPort: 40000, dstPort: 21 });
    // Not used up by a look-up that does not commit; used up by one that does.
    expect(data(1025, true).state).toBe(TRK | NEW | REL);
    expect([...ct.entries()].find((e) => e.orig.srcPort === 20)?.status ?? 0).toBe(IPS_EXPECTED | IPS_CONFIRMED);
    // Another announcement, then too late for it.
    ctl(true, ACK, 29, 101, 'PORT 10,0,0,1,4,2\r\n');
    t += 300_000;
    expect(data(1026, false).state).toBe(TRK | NEW);
    // One more, and the control connection goes: so does its announcement.
    ctl(true, ACK, 48, 101, 'PORT 10,0,0,1,4,3\r\n');
    ct.flush();
    expect(data(1027, false).state).toBe(TRK | NEW);
  });
});

describe('the TFTP helper in the tracker', () => {
  const udp = (fromA: boolean, src: number, dst: number, payload: number[]) =>
    parsePacket(buildFrame({ l3: { kind: 'ipv4', src: fromA ? '10.0.0.1' : '10.0.0.2', dst: fromA ? '10.0.0.2' : '10.0.0.1' }, l4: { kind: 'udp', src, dst }, payload: Uint8Array.from(payload) }));
  const TRK = 0x20, NEW = 0x01, REL = 0x04;

  it("expects the server's answer to a read or write request from any port, to the client's port", () => {
    const ct = new ConnTracker({ now: () => 0 });
    expect(ct.process(udp(true, 3000, 69, [0, 1, 0x61, 0, 0x6f, 0]), 0, {}, undefined, undefined, undefined, 'tftp').state).toBe(TRK | NEW);
    expect(ct.process(udp(false, 51000, 3000, [0, 3, 0, 1]), 0).state).toBe(TRK | NEW | REL);
    // A data block to the server's port is no request: nothing expected for 3001.
    ct.process(udp(true, 3001, 69, [0, 3, 0, 1]), 0, {}, undefined, undefined, undefined, 'tftp');
    expect(ct.process(udp(false, 51000, 3001, [0, 4, 0, 1]), 0).state).toBe(TRK | NEW);
    // Without the helper (a ct() that does not commit does not attach it), nothing either.
    ct.process(udp(true, 3002, 69, [0, 2, 0x61, 0]), 0, undefined, undefined, undefined, undefined, 'tftp');
    expect(ct.process(udp(false, 51000, 3002, [0, 4, 0, 0]), 0).state).toBe(TRK | NEW);
  });
});
