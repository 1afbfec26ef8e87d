// A ping over UDP for the session test, since the test machines have no
// ping(8): `serve PORT COUNT READYFILE` echoes COUNT datagrams back (and
// touches READYFILE once listening); `ping HOST PORT COUNT` sends COUNT
// datagrams of 56 bytes (a 98-byte frame, as ping's), 200 ms apart, and
// prints ping's summary line. Exit status 0 when every reply came.
import dgram from 'node:dgram';
import { writeFileSync } from 'node:fs';

const [mode, a, b, c] = process.argv.slice(2);
const sock = dgram.createSocket('udp4');

if (mode === 'serve') {
  let left = Number(b);
  const quit = setTimeout(() => process.exit(1), 30_000);
  sock.on('message', (msg, rinfo) => {
    sock.send(msg, rinfo.port, rinfo.address, () => {
      if (--left === 0) {
        clearTimeout(quit);
        sock.close();
      }
    });
  });
  sock.bind(Number(a), () => writeFileSync(c, 'ready\n'));
} else {
  const host = a;
  const port = Number(b);
  const count = Number(c);
  let received = 0;
  sock.on('message', () => received++);
  sock.bind(0, async () => {
    for (let i = 0; i < count; i++) {
      sock.send(Buffer.alloc(56, i), port, host);
      await new Promise((r) => setTimeout(r, 200));
    }
    const end = Date.now() + 2000;
    while (received < count && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    process.stdout.write(`${count} packets transmitted, ${received} received\n`);
    sock.close();
    process.exitCode = received === count ? 0 : 1;
  });
}
