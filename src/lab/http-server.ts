// The real servers' web server in the labs: answers every request with its name, and for the
// transfer tests: GET /blob/N sends N bytes of blob(), POST answers the sha256 of the body;
// GET /peer answers the address and port the connection came from (what NAT or FULLNAT left).
// argv: NAME PORT
import { createServer } from 'node:http';
import { createHash } from 'node:crypto';
import { blob } from './blob.js';

const [name, port] = process.argv.slice(2);
const MAX_BLOB = 256 << 20;
createServer((req, res) => {
  const m = /^\/blob\/(\d+)$/.exec(req.url ?? '');
  if (req.method === 'POST') {
    const h = createHash('sha256');
    req.on('data', (d: Buffer) => h.update(d));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });
      res.end(`${name} ${h.digest('hex')}\n`);
    });
    return;
  }
  if (req.url === '/peer') {
    res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });
    // Listening on :: serves both families; an IPv4 peer is shown as itself, not v4-mapped.
    const peer = (req.socket.remoteAddress ?? '').replace(/^::ffff:(?=\d+\.)/, '');
    res.end(`${peer}:${req.socket.remotePort}\n`);
    return;
  }
  if (m && Number(m[1]) <= MAX_BLOB) {
    const body = blob(Number(m[1]));
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length, connection: 'close' });
    res.end(body);
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });
  res.end(`${name}\n`);
}).listen(Number(port), '::', () => process.stdout.write('ready\n')); // both families
