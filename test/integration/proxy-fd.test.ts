// Descriptor exhaustion in the proxy engine (#16): a director whose RLIMIT_NOFILE is too low for
// its clients stops accepting instead of spinning on its level-triggered listeners (its CPU time
// stays low while the clients wait in the kernel's accept queue), counts the pauses, and serves
// again once descriptors free up. Loopback only; a child process under `ulimit -n`.
import assert from 'node:assert/strict';
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { createInterface, type Interface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/net.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/proxy-director.ts', import.meta.url));
/**
 * Enough for Node, tsx and two workers, far too few for CLIENTS connections (two each). Both
 * parities: with an even number left, accept4 itself fails (and a level-triggered listener
 * spins); with an odd one, the real server's socket fails after an accept (and each client
 * accepted then is reset).
 */
const NOFILES = [160, 161];
const CLIENTS = 200;
/** How long the director is watched while exhausted. */
const WATCH_MS = 2000;
/** clock ticks per second of /proc/PID/stat (USER_HZ, 100 on every Linux architecture). */
const USER_HZ = 100;

const skip = process.platform === 'linux' ? false : 'epoll workers and /proc need Linux';

/** utime + stime of the process (all its threads), in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / USER_HZ;
}

/** A client that connects and waits; null if its connection was refused or reset. */
function openClient(port: number): Promise<Socket | null> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' }, () => resolve(s));
    s.on('error', () => {
      s.destroy();
      resolve(null);
    });
  });
}

/** One echo round trip on a new connection; rejects after `ms`. */
function echo(port: number, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' }, () => s.write('ping'));
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`no echo within ${ms} ms`));
    }, ms);
    s.on('data', (b) => {
      clearTimeout(t);
      s.destroy();
      resolve(b.toString());
    });
    s.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

describe('proxy engine out of file descriptors', { skip }, () => {
  let backend: Server;
  let rport = 0;
  const held: Socket[] = [];
  let child: ChildProcessByStdio<Writable, Readable, null>;
  let lines: Interface;
  const next = (): Promise<string> => new Promise((r) => lines.once('line', r));

  before(async () => {
    // A real server that echoes and keeps every connection open.
    backend = createServer((s) => {
      s.on('error', () => {});
      s.on('data', (b) => s.write(b));
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', () => r()));
    rport = (backend.address() as AddressInfo).port;
  });

  async function stop(): Promise<void> {
    for (const s of held) s.destroy();
    held.length = 0;
    if (child && child.exitCode === null) {
      child.stdin.end();
      await new Promise<void>((r) => {
        const t = setTimeout(() => {
          child.kill('SIGKILL');
          r();
        }, 5000);
        child.once('exit', () => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  after(async () => {
    await stop();
    backend.close();
  });

  for (const NOFILE of NOFILES)
    it(`with ulimit -n ${NOFILE} and ${CLIENTS} clients: no spinning, and served again once they leave`, async () => {
      const vport = await freePort();
      await stop();
      child = spawn(
        'sh',
        ['-c', `ulimit -n ${NOFILE} && exec "$0" --import tsx "$@"`, process.execPath, FIXTURE, String(vport), String(rport)],
        {
          stdio: ['pipe', 'pipe', 'inherit'],
        },
      );
      lines = createInterface({ input: child.stdout });
      assert.equal(await next(), 'ready');
      assert.equal(await echo(vport, 5000), 'ping');

      let refused = 0;
      for (let i = 0; i < CLIENTS; i++) {
        const s = await openClient(vport);
        if (s) held.push(s);
        else refused++;
      }
      // They wait in the accept queue (its backlog is 511), not reset.
      assert.ok(refused < CLIENTS / 10, `${refused} of ${CLIENTS} clients refused or reset`);
      // Let the workers accept what they can and pause.
      await new Promise((r) => setTimeout(r, 1000));
      const cpu0 = cpuSeconds(child.pid!);
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, WATCH_MS));
      const cpu = cpuSeconds(child.pid!) - cpu0;
      const wall = (performance.now() - t0) / 1000;
      child.stdin.write('drops\n');
      const drops = JSON.parse(await next()) as Record<string, number>;
      // A spinning worker burns a core (1 s per s); paused ones retry one accept per 100 ms.
      assert.ok(cpu < 0.15 * wall, `director used ${cpu.toFixed(2)} s of CPU in ${wall.toFixed(2)} s while out of descriptors`);
      assert.ok((drops['accept-paused-no-fd'] ?? 0) > 0, `listeners paused: ${JSON.stringify(drops)}`);
      // At most one pause per worker and retry interval (plus the first): bounded, not a spin.
      assert.ok(drops['accept-paused-no-fd']! < 2 * (WATCH_MS / 100 + 20), JSON.stringify(drops));

      for (const s of held) s.destroy();
      held.length = 0;
      // The queued clients are accepted and end; a new one is served.
      let served = '';
      for (let i = 0; i < 20 && served !== 'ping'; i++) served = await echo(vport, 1000).catch(() => '');
      assert.equal(served, 'ping');
    });
});
