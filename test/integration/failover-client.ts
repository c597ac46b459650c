// The failover tests' client side (fixtures/sync-client.ts, run by the test in the client's
// namespace): waiting for its lines, and what it must report once the backup has taken over.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits for a line matching `re` on the child's stdout. */
export function lineFrom(child: ChildProcess, re: RegExp, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    const t = setTimeout(() => reject(new Error(`no line matching ${re} within ${ms} ms`)), ms);
    rl.on('line', (l) => {
      if (re.test(l)) {
        clearTimeout(t);
        rl.close();
        resolve(l);
      }
    });
  });
}

/**
 * Once the VIP has moved: counts echoes from now on, opens 10 new connections, lets the upload
 * finish, then checks the client's report: at least 99 % of `conns` went on, the upload of
 * `bytes` arrived intact, and the persistent service sent every connection, old and new, to one
 * real server (the synced template).
 */
export async function checkTakeover(client: ChildProcess, conns: number, bytes: number): Promise<void> {
  client.stdin!.write('mark\n');
  await sleep(3000);
  client.stdin!.write('new 10\n');
  await sleep(12_000); // the upload's rest at 1.3 MB/s, and the new connections' greetings
  client.stdin!.write('report\n');
  const report = JSON.parse(await lineFrom(client, /^\{/, 10_000)) as {
    alive: number;
    errors: string[];
    servers: string[];
    fresh: string[];
    upload: { sent: number; ok: boolean; error: string | null };
  };
  assert.ok(report.alive >= Math.ceil(conns * 0.99), `only ${report.alive} of ${conns} went on: ${report.errors.slice(0, 5).join(', ')}`);
  assert.equal(report.upload.sent, bytes);
  assert.equal(report.upload.error, null);
  assert.equal(report.upload.ok, true, 'the upload arrived intact (sha256)');
  assert.equal(report.servers.length, 1, 'persistence: one real server for the client');
  assert.equal(report.fresh.length, 10);
  assert.deepEqual([...new Set(report.fresh)], report.servers, 'new connections on the backup follow the synced template');
}
