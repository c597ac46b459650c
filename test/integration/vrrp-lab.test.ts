// Seed 004's DR lab with two directors running `tsvs keepalived` (MASTER 100 / BACKUP 50, VRRPv3
// advert_int 0.25): requests through the VIP are served by the master; the master dies (its
// processes killed, its link down); after the failover bound the backup serves them. Before
// that, each director's daemon is killed -9 and must come back with its VIPs served.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { labDown, labUp, nsName } from '../../src/lab/lab.js';
import { SEED004_HA, seed004HaConf } from '../../src/lab/labs.js';
import { ip, stopPids } from '../../src/lab/netns.js';
import { ensureBuilt, freshRunDir, inNs, requireNetns, TSVS } from './harness.js';

const skip = requireNetns();
const lab = SEED004_HA;
const VIP = lab.director.vip;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    if (await cond()) return performance.now() - t0;
    await sleep(25);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

const hasVip = (host: string) =>
  execFileSync('ip', ['-n', nsName(lab, host), 'addr', 'show', 'dev', 'eth1'], { encoding: 'utf8' }).includes(` ${VIP}/`);

async function get(): Promise<string | null> {
  const r = await inNs(nsName(lab, 'client'), ['curl', '-s', '--max-time', '1', `http://${VIP}/`]);
  return r.code === 0 ? r.stdout.trim() : null;
}

describe('seed 004 with two directors running tsvs keepalived (VRRP failover)', { skip }, () => {
  const runDir = freshRunDir();
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-ha-lab-'));
  const env = { TSVS_RUN_DIR: runDir };
  const procs: ChildProcess[] = [];
  const logs: Record<string, string> = {};

  function keepalived(host: string, state: 'MASTER' | 'BACKUP', priority: number): void {
    const conf = join(dir, `${host}.conf`);
    writeFileSync(conf, seed004HaConf(state, priority));
    const p = spawn(
      'ip',
      ['netns', 'exec', nsName(lab, host), process.execPath, TSVS, 'keepalived', '-n', '-l', '-f', conf, '-p', join(dir, `${host}.pid`)],
      {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    logs[host] = '';
    p.stdout!.on('data', (b: Buffer) => (logs[host] += b.toString()));
    p.stderr!.on('data', (b: Buffer) => (logs[host] += b.toString()));
    procs.push(p);
  }

  before(async () => {
    ensureBuilt();
    await labUp(lab, () => {}, env);
  });
  after(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await labDown(lab);
  });

  it('the master serves the VIP; killed, the backup serves it after the failover bound', async () => {
    try {
      keepalived('director1', 'MASTER', 100);
      keepalived('director2', 'BACKUP', 50);
      await waitFor('director1 MASTER with the VIP', () => hasVip('director1') && !hasVip('director2'), 15_000);
      await waitFor('a request served through director1', async () => (await get()) !== null, 10_000);
      const served: string[] = [];
      for (let i = 0; i < 9; i++) served.push((await get()) ?? 'FAILED');
      assert.ok(!served.includes('FAILED'), served.join(','));
      assert.deepEqual([...new Set(served)].sort(), ['rs1', 'rs2']);
      const d1mac = execFileSync('ip', ['-n', nsName(lab, 'director1'), '-j', 'link', 'show', 'eth1'], { encoding: 'utf8' });
      const neigh = execFileSync('ip', ['-n', nsName(lab, 'client'), 'neigh', 'show', VIP], { encoding: 'utf8' });
      assert.ok(
        d1mac.includes(neigh.split('lladdr ')[1]!.split(' ')[0]!),
        `the client reaches the VIP at director1's MAC (the backup's engine does not claim it): ${neigh}`,
      );
      const st = await inNs(nsName(lab, 'director2'), [process.execPath, TSVS, 'status'], { env });
      assert.match(st.stdout, /vrrp_instance VI_1: BACKUP, priority 50, master 192\.168\.101\.166/);

      // Each director's daemon killed -9 (the backup's, then the master's) while tsvs keepalived
      // runs: keepalived starts it again and tells it the VIPs VRRP moves (kept next to its
      // rules); the master serves the VIP again and the backup's engine does not claim it.
      const pidOf = async (host: string): Promise<number | null> => {
        const r = await inNs(nsName(lab, host), [process.execPath, TSVS, 'status', '--json'], { env });
        return r.code === 0 ? (JSON.parse(r.stdout) as { pid: number }).pid : null;
      };
      for (const host of ['director2', 'director1']) {
        const old = await pidOf(host);
        assert.ok(old !== null, `${host} has a director`);
        process.kill(old, 'SIGKILL');
        await waitFor(`${host}'s director started again`, async () => ![null, old].includes(await pidOf(host)), 15_000);
        await waitFor(
          `${host}'s keepalived told the new director the VIPs`,
          () => logs[host]!.includes(`(was ${old}) told the 1 VIP(s)`),
          5000,
        );
        const vipsFile = join(runDir, `netns-${nsName(lab, host)}.vrrp-vips`);
        assert.equal(readFileSync(vipsFile, 'utf8'), `${VIP}\n`);
      }
      await waitFor('requests served through director1 again', async () => (await get()) !== null, 10_000);
      await ip(['-n', nsName(lab, 'client'), 'neigh', 'flush', 'dev', 'eth0']);
      const again: string[] = [];
      for (let i = 0; i < 9; i++) again.push((await get()) ?? 'FAILED');
      assert.ok(!again.includes('FAILED'), again.join(','));
      const neigh2 = execFileSync('ip', ['-n', nsName(lab, 'client'), 'neigh', 'show', VIP], { encoding: 'utf8' });
      assert.ok(d1mac.includes(neigh2.split('lladdr ')[1]!.split(' ')[0]!), `after the restarts the VIP is still director1's: ${neigh2}`);
      assert.ok(hasVip('director1') && !hasVip('director2'), 'no VRRP transition');

      // The master dies: every process of director1 killed, its public link down.
      const t0 = performance.now();
      const pids = (await ip(['netns', 'pids', nsName(lab, 'director1')])).split(/\s+/).filter(Boolean).map(Number);
      await stopPids(pids, 0);
      await ip(['-n', nsName(lab, 'director1'), 'link', 'set', 'eth1', 'down']);
      await waitFor('director2 MASTER with the VIP', () => hasVip('director2'), 5000);
      const took = await waitFor('a request served through director2', async () => (await get()) !== null, 10_000);
      const bound = 3 * 250 + ((256 - 50) * 250) / 256;
      const elapsed = performance.now() - t0;
      assert.ok(
        elapsed < bound + 2000,
        `first request after ${elapsed.toFixed(0)} ms (bound ${bound.toFixed(0)} ms; ${took.toFixed(0)} ms after the VIP moved)`,
      );
      const after2: string[] = [];
      for (let i = 0; i < 9; i++) after2.push((await get()) ?? 'FAILED');
      assert.ok(!after2.includes('FAILED'), after2.join(','));
      const st2 = await inNs(nsName(lab, 'director2'), [process.execPath, TSVS, 'status', '--json'], { env });
      const j = JSON.parse(st2.stdout) as { keepalived: { vrrpInstances: { state: string; lastTransition: { why: string } }[] } };
      assert.equal(j.keepalived.vrrpInstances[0]!.state, 'MASTER');
      assert.match(j.keepalived.vrrpInstances[0]!.lastTransition.why, /no advert/);
    } catch (e) {
      throw new Error(
        `${(e as Error).message}\n--- director1:\n${logs.director1?.slice(-2500)}\n--- director2:\n${logs.director2?.slice(-2500)}`,
      );
    }
  });
});
