// The packet engine with its core and frame loop on a thread of their own (--core-thread on,
// here through TSVS_CORE_THREAD, which the director tsvsadm starts inherits), in seed 002's NAT
// lab: every request succeeds with rr's exact distribution, 10 MB cross both ways intact,
// malformed frames are dropped and counted on the core thread and shown by the daemon's thread,
// the HTTP endpoint's copy of the rules carries the core's counters, `-L -c` lists the conns,
// and a stop removes the engine's nftables table. The warm-up of the forwarding path
// (TSVS_WARMUP=on) runs on the core thread before the first frame and forwards all its frames.
// The lab always comes down, even on failure.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CONTROL_NICE } from '../../src/control/daemon.js';
import { logPath, runDir } from '../../src/control/paths.js';
import { WARMUP_FRAMES } from '../../src/engine/packet/warmup.js';
import { blob, sha256 } from '../../src/lab/blob.js';
import { labDown, labRun, labUp, nsName } from '../../src/lab/lab.js';
import { findLab } from '../../src/lab/labs.js';
import { ensureBuilt, ifaceAddr, inNs, requireNetns, TSVS, TSVSADM } from './harness.js';

const skip = requireNetns();
const HTTP = '127.0.0.1:9207';
const env = { TSVS_ENGINE: 'packet', TSVS_CORE_THREAD: 'on', TSVS_HTTP: HTTP, TSVS_WARMUP: 'on' };
const lab = findLab('seed002-nat')!;
const MB10 = 10 * 1024 * 1024;
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

interface Status {
  pid: number;
  engine: string;
  coreThread: boolean;
  conns: number;
  drops: Record<string, number>;
  unserved: unknown[];
}

async function director(cmd: string[]): Promise<string> {
  const r = await inNs(nsName(lab, 'director'), cmd, { env, timeoutMs: 60_000 });
  assert.equal(r.code, 0, `${cmd.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const status = async (): Promise<Status> => JSON.parse(await director([process.execPath, TSVS, 'status', '--json'])) as Status;

async function client(script: string): Promise<string> {
  const r = await inNs(nsName(lab, 'client'), ['sh', '-c', script], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `${script}: ${r.stderr}`);
  return r.stdout.trim();
}

describe('packet engine: the core on a thread of its own', { skip }, () => {
  after(async () => {
    await labDown(lab);
  });

  it('forwards the NAT lab exactly, counts, lists and serves metrics from the core thread', async () => {
    ensureBuilt();
    await labUp(lab, () => {}, env);
    const st0 = await status();
    assert.equal(st0.engine, 'packet');
    assert.equal(st0.coreThread, true);
    assert.deepEqual(st0.unserved, []);
    assert.match(await director([process.execPath, TSVS, 'status']), /engine packet, core on its own thread/);
    // The director tsvsadm started logs to <run dir>/<netns inode>.log.
    const inode = (await director(['stat', '-L', '-c', '%i', '/proc/self/ns/net'])).trim();
    const log = readFileSync(logPath(runDir(), inode), 'utf8');
    assert.match(log, new RegExp(`compiled the forwarding path on ${WARMUP_FRAMES} synthetic frames`));
    assert.doesNotMatch(log, /the warm-up forwarded/);
    // The daemon's thread yields to the core thread where the two share a core.
    const nice = (tid: string) => {
      const st = readFileSync(`/proc/${st0.pid}/task/${tid}/stat`, 'utf8');
      return Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[16]);
    };
    const tids = readdirSync(`/proc/${st0.pid}/task`);
    assert.equal(nice(String(st0.pid)), CONTROL_NICE);
    assert.ok(
      tids.some((t) => nice(t) === 0),
      'some thread (the core thread) keeps nice 0',
    );

    const r = await labRun(lab, 30, env);
    assert.equal(r.failures, 0, r.stats);
    assert.deepEqual(Object.values(r.counts), [15, 15], JSON.stringify(r.counts));
    assert.match(r.stats, /\nTCP {2}\S+ +30 /, r.stats);

    // Large transfers both ways, through the core thread's frame loop.
    const url = lab.client.url;
    const down = await client(`curl -sf --max-time 60 '${url}blob/${MB10}' | sha256sum`);
    assert.equal(down.split(' ')[0], sha256(blob(MB10)), 'download digest');
    const dir = mkdtempSync(join(tmpdir(), 'tsvs-core-thread-'));
    try {
      const file = join(dir, 'up.bin');
      const data = blob(MB10 + 12345);
      writeFileSync(file, data);
      const up = await client(`curl -sf --max-time 60 --data-binary @${file} '${url}'`);
      assert.equal(up.split(' ')[1], sha256(data), 'upload digest');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    // -L -c comes from the core thread's table.
    const conns = await director([process.execPath, TSVSADM, '-L', '-c', '-n']);
    const rows = conns.split('\n').filter((l) => l.startsWith('TCP '));
    assert.ok(rows.length >= 30, conns);
    const st = await status();
    assert.ok(st.conns >= 30, `conns ${st.conns}`);

    // The HTTP endpoint on the daemon's thread shows the core's counters.
    const metrics = await director(['curl', '-sf', '--max-time', '5', `http://${HTTP}/metrics`]);
    assert.match(metrics, /\ntsvs_service_connections_total\{[^}]*\} 32\n/, 'the 30 requests and the two transfers');
    assert.match(metrics, /\ntsvs_engine_info\{engine="packet"\} 1\n/);
    assert.match(metrics, /\ntsvs_connections [1-9]\d*\n/);
    const api = JSON.parse(await director(['curl', '-sf', '--max-time', '5', `http://${HTTP}/api/v1/conns?limit=5`])) as {
      conns: unknown[];
      truncated: boolean;
    };
    assert.deepEqual([api.conns.length, api.truncated], [5, true]);
  });

  it('drops and counts malformed frames on the core thread, and goes on forwarding', async () => {
    const dir = ifaceAddr(nsName(lab, 'director'), 'eth0');
    const cl = ifaceAddr(nsName(lab, 'client'), 'eth0');
    const before = await status();
    const count = 20;
    const sent = await client(
      [
        process.execPath,
        '--import',
        'tsx',
        fixture('bad-frames.ts'),
        'eth0',
        dir.mac,
        cl.mac,
        cl.ip,
        lab.director.vip,
        '80',
        String(count),
      ].join(' '),
    );
    assert.equal((JSON.parse(sent) as { txDropped: number }).txDropped, 0, sent);
    await new Promise((r) => setTimeout(r, 300));
    const st = await status();
    assert.equal(st.pid, before.pid, 'the director did not restart');
    for (const reason of ['truncated', 'bad_ip_header', 'bad_length', 'bad_ip_checksum', 'bad_l4_checksum', 'bad_arp']) {
      const d = (st.drops[reason] ?? 0) - (before.drops[reason] ?? 0);
      assert.ok(d >= count, `${reason}: ${d} counted of ${count} sent; drops ${JSON.stringify(st.drops)}`);
    }
    const r = await labRun(lab, 10, env);
    assert.equal(r.failures, 0);
    assert.deepEqual(Object.values(r.counts), [5, 5]);
  });

  it('stops cleanly: the engine removes its nftables table and the process exits', async () => {
    const { pid } = await status();
    await director([process.execPath, TSVS, 'daemon', 'stop']);
    const deadline = Date.now() + 10_000;
    let alive = true;
    while (alive && Date.now() < deadline) {
      try {
        process.kill(pid, 0);
        await new Promise((r) => setTimeout(r, 50));
      } catch {
        alive = false;
      }
    }
    assert.equal(alive, false, `pid ${pid} still runs 10 s after stop`);
    const tables = await director(['nft', 'list', 'tables']);
    assert.doesNotMatch(tables, /tsvs/, tables);
  });
});
