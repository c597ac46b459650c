// The failover bench's client (runs in the client namespace): connects to HOST:PORT in a loop,
// one HTTP GET per connection, and prints `<epoch ms at the start> <at the end> ok|fail` per attempt, for
// at most DURATION_MS. Each attempt gives up after ATTEMPT_MS so a dead master costs little.
import { connect } from 'node:net';

const [host, port, durationMs] = [process.argv[2]!, Number(process.argv[3]), Number(process.argv[4])];
/** A live director answers in about a millisecond here; 50 ms means the packet went nowhere. */
const ATTEMPT_MS = 50;

function attempt(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const timer = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, ATTEMPT_MS);
    let got = '';
    s.on('connect', () => s.write(`GET / HTTP/1.0\r\nHost: ${host}\r\n\r\n`));
    s.on('data', (b) => (got += b.toString()));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      resolve(got.startsWith('HTTP/1.'));
    });
  });
}

const end = Date.now() + durationMs;
while (Date.now() < end) {
  const t0 = Date.now();
  const ok = await attempt();
  process.stdout.write(`${t0} ${Date.now()} ${ok ? 'ok' : 'fail'}\n`);
}
