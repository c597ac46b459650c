// The real servers' web server in the labs: answers every request with its name.
// argv: NAME PORT
import { createServer } from 'node:http';

const [name, port] = process.argv.slice(2);
createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });
  res.end(`${name}\n`);
}).listen(Number(port), '0.0.0.0', () => process.stdout.write('ready\n'));
