// Real servers for `npm run bench -- checks`: one HTTP listener on each of N loopback
// addresses (127.1.x.y:PORT), in their own process so the bench measures the checker alone.
import { createServer } from 'node:http';

const n = Number(process.argv[2] ?? 1000);
const port = Number(process.argv[3] ?? 18080);
const body = 'ok\n';
const server = (): ReturnType<typeof createServer> =>
  createServer((_q, res) => {
    res.writeHead(200, { 'content-length': body.length, connection: 'close' });
    res.end(body);
  });
let ready = 0;
for (let i = 0; i < n; i++) {
  const s = server();
  s.on('error', (e) => {
    process.stderr.write(`listener ${i}: ${e.message}\n`);
    process.exit(1);
  });
  s.listen(port, `127.1.${Math.floor(i / 250)}.${(i % 250) + 1}`, () => {
    if (++ready === n) process.stdout.write('ready\n');
  });
}
