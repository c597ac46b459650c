// kill -9 of a packet director under load, in the lab seed002-nat (the VIP is the director's
// own address). The director's nftables table is owned by its nft child's netlink socket, so
// the kernel removes it with the process: the next SYN to the VIP meets the director's kernel,
// which refuses it (RST, curl exit 7) at once instead of the silent drop a leftover table would
// cause. Restarted the way systemd's Restart=always would, the director restores its rules from
// the state file and serves again; the test prints the time from kill -9 to serving.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { labDown, labUp, nsName } from '../../src/lab/lab.js';
import { findLab } from '../../src/lab/labs.js';
import { ensureBuilt, inNs, requireNetns, TSVS, TSVSADM } from './harness.js';

const run = promisify(execFile);
const skip = requireNetns();
const env = { TSVS_ENGINE: 'packet' };
const lab = findLab('seed002-nat')!;
const director = nsName(lab, 'director');
const client = nsName(lab, 'client');

/** One request: curl's exit code (0 served, 7 refused, 28 timed out) and the time it took. */
async function request(maxSec: number): Promise<{ code: number; ms: number }> {
  const t = performance.now();
  const r = await inNs(client, ['curl', '-s', '-o', '/dev/null', '--max-time', String(maxSec), lab.client.url]);
  return { code: r.code, ms: performance.now() - t };
}

async function nftTables(): Promise<string> {
  return (await inNs(director, ['nft', 'list', 'tables'])).stdout;
}

async function directorPid(): Promise<number> {
  const r = await inNs(director, [process.execPath, TSVS, 'status', '--json'], { env });
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { pid: number }).pid;
}

describe('kill -9 of a packet director', { skip }, () => {
  after(() => labDown(lab));

  it('under load: the VIP is refused at once, never blackholed; a restart restores the rules and serves', async () => {
    ensureBuilt();
    await labUp(lab, () => {}, env);
    const rules = (await inNs(director, [process.execPath, TSVSADM, '-S', '-n'], { env })).stdout;
    assert.match(await nftTables(), /table netdev tsvs/);
    const listed = (await inNs(director, ['nft', 'list', 'table', 'netdev', 'tsvs'])).stdout;
    assert.match(listed, /flags owner/, 'the table is owned by the director’s nft socket');

    // Load: a client loop of requests while the director dies.
    let stop = false;
    // t: when the request ended; start = t - ms; both on this process's clock, as tKill.
    const outcomes: { code: number; ms: number; t: number }[] = [];
    // A conn the director held when it died dies with it: a request already under way at the
    // kill (its GET forwarded and acknowledged, its answer then sent to a kernel that knows
    // nothing of it) waits out curl's limit, as it would behind a crashed kernel director without
    // a backup. Every request that began after the kill must be served or refused.
    const load = (async () => {
      while (!stop) outcomes.push({ ...(await request(3)), t: performance.now() });
    })();
    await new Promise((r) => setTimeout(r, 500));
    const pid = await directorPid();
    const tKill = performance.now();
    await run('kill', ['-9', String(pid)]);
    // The table goes with the nft child, which sees its pipe close.
    let gone = false;
    for (let i = 0; i < 40 && !gone; i++) {
      gone = !/tsvs/.test(await nftTables());
      if (!gone) await new Promise((r) => setTimeout(r, 25));
    }
    const tGone = performance.now();
    assert.ok(gone, 'the kernel removed the owned table when the director died');
    const refused = await request(3);
    assert.equal(refused.code, 7, `the director's kernel refuses the VIP (curl exit ${refused.code})`);
    assert.ok(refused.ms < 1500, `refused at once, not after a timeout (${Math.round(refused.ms)} ms)`);
    stop = true;
    await load;
    const start = (o: { ms: number; t: number }): number => o.t - o.ms - tKill;
    const later = outcomes.filter((o) => start(o) >= 0);
    const inFlight = outcomes.filter((o) => start(o) < 0 && o.t > tKill);
    assert.ok(
      later.every((o) => o.code === 0 || o.code === 7 || o.code === 52 || o.code === 56),
      `no request begun after the kill timed out: ${JSON.stringify(later.filter((o) => o.code !== 0).map((o) => ({ code: o.code, startAfterKill: Math.round(start(o)), ms: Math.round(o.ms) })))}; the table was seen gone ${Math.round(tGone - tKill)} ms after kill -9`,
    );
    process.stdout.write(
      `# requests under way at the kill: ${inFlight.length} (curl exit ${inFlight.map((o) => o.code).join(', ') || '-'}); begun after it: ${later.length}, none timed out\n`,
    );
    assert.ok(
      outcomes.some((o) => o.code === 0 && o.t < tKill),
      'the director served before the kill',
    );

    // Restart as systemd would (ExecStart in the foreground of a new process), timed.
    const tStart = performance.now();
    const r = await inNs(director, [process.execPath, TSVS, 'daemon', '--detach'], { env });
    assert.equal(r.code, 0, r.stderr);
    let served = -1;
    for (let i = 0; i < 100 && served < 0; i++) {
      if ((await request(1)).code === 0) served = performance.now();
    }
    assert.ok(served > 0, 'the restarted director serves');
    const again = (await inNs(director, [process.execPath, TSVSADM, '-S', '-n'], { env })).stdout;
    assert.equal(again, rules, 'the rules came back');
    process.stdout.write(
      `# kill -9 → serving again: ${Math.round(served - tKill)} ms (restart → serving ${Math.round(served - tStart)} ms)\n`,
    );
  });
});
