// The packet engine's raw-frame I/O on real interfaces: a TPACKET_V3 ring and batched
// sendmmsg move UDP datagrams between two namespaces through a third, intact and complete,
// with malformed frames mixed in. Needs root and iproute2; CI must not skip it.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { netnsUnavailable, Topology } from '../../src/lab/netns.js';

const why = netnsUnavailable();
if (why && process.env.CI === 'true') throw new Error(`CI must run the namespace tests: ${why}`);
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const node = (script: string, ...args: string[]) => [process.execPath, '--import', 'tsx', fixture(script), ...args];

function lineFrom(child: ChildProcess, pred: (l: string) => boolean, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error(`timed out waiting for output; got: ${buf}`)), timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      for (const l of buf.split('\n')) {
        if (pred(l)) {
          clearTimeout(t);
          resolve(l);
          return;
        }
      }
    });
    child.on('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`exited ${code} before the expected output; got: ${buf}`));
    });
  });
}

describe('AF_PACKET rx ring + sendmmsg forwarding', { skip: why ?? false }, () => {
  const topo = new Topology();
  let a = '';
  let f = '';
  let b = '';
  before(async () => {
    a = await topo.netns('a');
    f = await topo.netns('f');
    b = await topo.netns('b');
    await topo.link({ ns: a, dev: 'a0' }, { ns: f, dev: 'fa' });
    await topo.link({ ns: b, dev: 'b0' }, { ns: f, dev: 'fb' });
    await topo.addr(a, 'a0', '10.77.1.2/24');
    await topo.addr(f, 'fa', '10.77.1.1/24');
    await topo.addr(f, 'fb', '10.77.2.1/24');
    await topo.addr(b, 'b0', '10.77.2.2/24');
    await topo.route(a, ['10.77.2.0/24', 'via', '10.77.1.1']);
    // The kernel of f must not forward: every datagram that reaches b went through the ring.
    await topo.sysctl(f, 'net.ipv4.ip_forward', '0');
  });
  after(() => topo.teardown());

  it('forwards 1000 datagrams intact, with vnet headers, surviving malformed frames', async () => {
    const count = 1000;
    const [faMac, fbMac, b0Mac] = await Promise.all([topo.mac(f, 'fa'), topo.mac(f, 'fb'), topo.mac(b, 'b0')]);
    const fwd = topo.spawn(f, node('l2fwd.ts', 'fa', 'fb', b0Mac, fbMac, faMac, '1', '20000'));
    await lineFrom(fwd, (l) => l === 'ready');
    const sink = topo.spawn(b, node('udp-sink.ts', '9999', String(count), '15000'));
    await lineFrom(sink, (l) => l === 'ready');
    const sinkDone = lineFrom(sink, (l) => l.startsWith('{'), 20_000);
    const raw = await topo.exec(a, node('raw-send.ts', 'a0', faMac, '200'));
    assert.deepEqual(JSON.parse(raw.stdout), { sent: 200, dropped: 0 });
    await topo.exec(a, node('udp-source.ts', '10.77.2.2', '9999', String(count)));
    const got = JSON.parse(await sinkDone) as {
      received: number;
      intact: number;
      distinct: number;
    };
    // The forwarder's own counters first, so that a loss says where it happened.
    fwd.kill('SIGTERM');
    const stats = JSON.parse(await lineFrom(fwd, (l) => l.startsWith('{'))) as Record<string, number>;
    assert.equal(got.distinct, count, `all ${count} datagrams arrive: ${JSON.stringify(got)}; forwarder: ${JSON.stringify(stats)}`);
    assert.equal(got.intact, got.received, 'every datagram arrives unmodified');
    assert.ok(stats.forwarded! >= count, `forwarder saw every datagram: ${JSON.stringify(stats)}`);
    assert.ok(stats.forwarded! + stats.ignored! >= count + 200, `the malformed frames reached the ring: ${JSON.stringify(stats)}`);
    assert.equal(stats.dropped, 0);
  });
});
