// Connection sync driven by keepalived.conf's `lvs_sync_daemon`, end to end: seed 004's DR lab
// with two directors running `tsvs keepalived` (MASTER 100 / BACKUP 50, VRRPv3 at 0.25 s). The
// VRRP master runs the master sync daemon and the backup the backup daemon, as keepalived does.
// A client holds 200 long-lived connections through the VIP (16 bytes echoed every 100 ms each)
// and uploads 10 MB; the master director dies (off the network, then every process of its
// namespace killed) and nothing is done by hand: VRRP moves the VIP, and the connections must
// go on through the backup, the upload arrive intact, and the persistent service keep sending
// the client to the same real server. (sync-failover.test.ts does the same with the VIP moved
// by hand, for NAT, FULLNAT and IPv6 as well.)
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { labDown, labUp, nsName } from '../../src/lab/lab.js';
import { SEED004_HA, seed004HaConf } from '../../src/lab/labs.js';
import { ip } from '../../src/lab/netns.js';
import { checkTakeover, lineFrom } from './failover-client.js';
import { ensureBuilt, freshRunDir, inNs, requireNetns, TSVS } from './harness.js';

const skip = requireNetns();
const lab = SEED004_HA;
const VIP = lab.director.vip;
const fixture = (f: string) => fileURLToPath(new URL(`./fixtures/${f}`, import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Connections the client holds, and bytes it uploads (the figures). */
const CONNS = 200;
const UPLOAD = 10 << 20;
/** The echo service's port on the VIP and on the real servers (80 is the seed's web service). */
const PORT = 9000;
const SYNC_ID = 7;

/** The seed's configuration plus the sync daemon on the private LAN and a persistent echo service. */
function conf(state: 'MASTER' | 'BACKUP', priority: number): string {
  const real = (a: string) => `  real_server ${a} ${PORT} {\n    weight 1\n    TCP_CHECK {\n      connect_timeout 1\n    }\n  }\n`;
  return (
    seed004HaConf(state, priority).replace('global_defs {\n', `global_defs {\n  lvs_sync_daemon eth0 VI_1 id ${SYNC_ID}\n`) +
    `virtual_server ${VIP} ${PORT} {\n  delay_loop 1\n  lb_algo rr\n  lb_kind DR\n  protocol TCP\n  persistence_timeout 300\n` +
    real('10.10.10.11') +
    real('10.10.10.12') +
    '}\n'
  );
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    if (await cond()) return;
    await sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

const hasVip = (host: string) =>
  execFileSync('ip', ['-n', nsName(lab, host), 'addr', 'show', 'dev', 'eth1'], { encoding: 'utf8' }).includes(` ${VIP}/`);

describe('connection sync by lvs_sync_daemon: tsvs keepalived moves the VIP, the conns go on', { skip }, () => {
  const runDir = freshRunDir();
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-sync-ha-'));
  const env = { TSVS_RUN_DIR: runDir, TSVS_ENGINE: 'packet' };
  const procs: ChildProcess[] = [];
  const logs: Record<string, string> = {};

  const spawnLogged = (key: string, host: string, argv: string[], stdio: 'ignore' | 'pipe' = 'ignore') => {
    const p = spawn('ip', ['netns', 'exec', nsName(lab, host), ...argv], {
      env: { ...process.env, ...env },
      stdio: [stdio, 'pipe', 'pipe'],
    });
    logs[key] = '';
    if (key !== 'client') p.stdout!.on('data', (b: Buffer) => (logs[key] += b.toString()));
    p.stderr!.on('data', (b: Buffer) => (logs[key] += b.toString()));
    procs.push(p);
    return p;
  };
  const keepalived = (host: string, state: 'MASTER' | 'BACKUP', priority: number) => {
    const file = join(dir, `${host}.conf`);
    writeFileSync(file, conf(state, priority));
    spawnLogged(host, host, [process.execPath, TSVS, 'keepalived', '-n', '-l', '-f', file, '-p', join(dir, `${host}.pid`)]);
  };
  const backupCreated = async (): Promise<number> => {
    const r = await inNs(nsName(lab, 'director2'), [process.execPath, TSVS, 'status', '--json'], { env });
    if (r.code !== 0) return 0;
    const st = JSON.parse(r.stdout) as { sync?: { backup?: { created: number } }[] };
    return st.sync?.find((d) => d.backup)?.backup?.created ?? 0;
  };

  before(async () => {
    ensureBuilt();
    await labUp(lab, () => {}, env);
    for (const rs of ['rs1', 'rs2']) {
      const srv = spawnLogged(rs, rs, [process.execPath, '--import', 'tsx', fixture('sync-echo-server.ts'), rs, String(PORT)]);
      await lineFrom(srv, /^ready$/, 20_000);
    }
  });
  after(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await labDown(lab);
  });

  it(`${CONNS} connections and a 10 MB upload survive the VRRP master's death`, async () => {
    try {
      keepalived('director1', 'MASTER', 100);
      keepalived('director2', 'BACKUP', 50);
      await waitFor('director1 MASTER with the VIP', () => hasVip('director1') && !hasVip('director2'), 15_000);

      const client = spawnLogged(
        'client',
        'client',
        [process.execPath, '--import', 'tsx', fixture('sync-client.ts'), VIP, String(PORT), String(CONNS), String(UPLOAD)],
        'pipe',
      );
      await lineFrom(client, /^ready$/, 30_000);
      // Every conn and the persistence template reach the backup's sync daemon.
      await waitFor(`the backup to hold ${CONNS + 1} synced conns`, async () => (await backupCreated()) >= CONNS + 1, 15_000);

      // The master's host vanishes as in a power cut: off both networks first (a live kernel
      // holding the VIP would reset the conns that reach it before the client learns the new
      // MAC), then every process killed without a chance to say goodbye.
      for (const dev of ['eth1', 'eth0']) await ip(['-n', nsName(lab, 'director1'), 'link', 'set', dev, 'down']);
      const pids = (await ip(['netns', 'pids', nsName(lab, 'director1')])).split(/\s+/).filter(Boolean).map(Number);
      for (const pid of pids) process.kill(pid, 'SIGKILL');
      await waitFor('director2 MASTER with the VIP', () => hasVip('director2'), 5000);
      await checkTakeover(client, CONNS, UPLOAD);
    } catch (e) {
      throw new Error(
        `${(e as Error).message}\n--- director1:\n${logs.director1?.slice(-2500)}\n--- director2:\n${logs.director2?.slice(-2500)}`,
      );
    }
  });
});
