// NetlinkSocket's blocking receive against the host's real nlctrl.
import { afterEach, describe, expect, it } from 'vitest';
import { GENL_ID_CTRL, NLMSG_ERROR } from '../../src/netlink/constants.js';
import { NetlinkError } from '../../src/netlink/errors.js';
import { decodeFamily } from '../../src/netlink/genl.js';
import { parseError, parseMessages, type NlMessage } from '../../src/netlink/message.js';
import { NetlinkSocket, type SocketOptions } from '../../src/netlink/socket.js';
import { getFamilyRequest } from './helpers.js';

const open: NetlinkSocket[] = [];
const socket = (opts?: SocketOptions): NetlinkSocket => {
  const s = new NetlinkSocket(opts);
  open.push(s);
  return s;
};
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

/** receiveWait until `want` messages arrived or a call times out; a copy of each, with its sender. */
function collect(s: NetlinkSocket, want: number, timeoutMs = 1000): { m: NlMessage; sender: number }[] {
  const out: { m: NlMessage; sender: number }[] = [];
  while (out.length < want) {
    const n = s.receiveWait(timeoutMs, (d, sender) => {
      for (const m of parseMessages(d.slice())) out.push({ m, sender });
    });
    if (n === 0) break;
  }
  return out;
}

describe('NetlinkSocket.receiveWait', () => {
  it("returns the kernel's reply and ACK to a GETFAMILY sent on the socket", () => {
    const s = socket();
    s.sendBatch([getFamilyRequest('nlctrl', 41)]);
    const got = collect(s, 2);
    expect(got.map(({ m, sender }) => [m.type, m.seq, m.pid, sender])).toEqual([
      [GENL_ID_CTRL, 41, s.portId, 0],
      [NLMSG_ERROR, 41, s.portId, 0],
    ]);
    expect(decodeFamily(got[0].m)).toMatchObject({ id: GENL_ID_CTRL, name: 'nlctrl' });
    expect(parseError(got[1].m).error).toBe(0);
  });

  it('returns 0 after its timeout when nothing is pending, without calling back', () => {
    const s = socket();
    let calls = 0;
    const t0 = performance.now();
    expect(s.receiveWait(50, () => calls++)).toBe(0);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(45);
    expect(calls).toBe(0);
  });

  it('throws EMSGSIZE for a datagram larger than its slot, naming its seq, then delivers the rest of the batch', () => {
    const s = socket({ slotBytes: 64 });
    // Both requests are answered during the send: four datagrams, one recvmmsg.
    s.sendBatch([getFamilyRequest('nlctrl', 5), getFamilyRequest('no_such_family', 6)]);
    let err: unknown;
    try {
      s.receiveWait(1000, () => {
        throw new Error('the first datagram should not fit');
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NetlinkError);
    expect(err).toMatchObject({ code: 'EMSGSIZE', seq: 5, message: expect.stringMatching(/datagram of \d+ bytes exceeds the 64-byte slot/) });
    expect(s.truncated).toBe(1);
    const rest = collect(s, 3, 100);
    expect(rest.map(({ m }) => [m.type, m.seq, parseError(m).error])).toEqual([
      [NLMSG_ERROR, 5, 0],
      [NLMSG_ERROR, 6, -2],
    ]);
    expect(s.truncated).toBe(1);
  });
});
