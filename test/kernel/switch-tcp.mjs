// A TCP transfer for the switch tests, run inside a network namespace:
// `serve IP PORT` echoes every connection's bytes back (prints "listening"
// once bound); `send IP PORT BYTES` sends BYTES random bytes, reads the echo,
// and prints "sent N received M ok" when the echo is the same bytes (exit 0),
// "... mismatch" otherwise (exit 1). Data crosses the switch both ways.
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';

const [mode, host, port, bytes] = process.argv.slice(2);

if (mode === 'serve') {
  const server = net.createServer((sock) => sock.pipe(sock));
  server.listen(Number(port), host, () => console.log('listening'));
  setTimeout(() => process.exit(2), 120_000).unref();
} else {
  const data = randomBytes(Number(bytes));
  const hash = createHash('sha256');
  let got = 0;
  const sock = net.connect(Number(port), host, () => {
    sock.write(data);
  });
  sock.on('data', (d) => {
    hash.update(d);
    got += d.length;
    if (got >= data.length) sock.end();
  });
  sock.on('close', () => {
    const same = got === data.length && hash.digest('hex') === createHash('sha256').update(data).digest('hex');
    console.log(`sent ${data.length} received ${got} ${same ? 'ok' : 'mismatch'}`);
    process.exit(same ? 0 : 1);
  });
  sock.on('error', (err) => {
    console.log(`error ${err.message}`);
    process.exit(1);
  });
  setTimeout(() => {
    console.log(`timeout: received ${got}`);
    process.exit(1);
  }, 80_000).unref();
}
