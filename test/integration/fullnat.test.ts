// FULLNAT on the packet engine, in the lab 'fullnat': the real servers sit behind a router and
// route nothing back through the director; they see the service's local address (which no
// interface holds: the engine answers ARP for it) with a port of its own per conn; 10 MB both
// ways intact; `-c` and the counters follow the conns; with --proxy-protocol the director writes
// a PROXY header into the stream, so a real server that reads it learns the true client, and
// every byte still arrives in both directions across the sequence shift.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { blob, sha256 } from '../../src/lab/blob.js';
import { labDown, labUp, nsName } from '../../src/lab/lab.js';
import { findLab } from '../../src/lab/labs.js';
import { ensureBuilt, inNs, requireNetns, TSVS, TSVSADM } from './harness.js';

const skip = requireNetns();
const env = { TSVS_ENGINE: 'packet' };
const lab = findLab('fullnat')!;
const URL_ = lab.client.url;
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

async function sh(host: string, script: string): Promise<string> {
  const r = await inNs(nsName(lab, host), ['sh', '-c', script], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `${host}: ${script}: ${r.stderr}`);
  return r.stdout.trim();
}

/** Starts a long-running fixture in a lab host; labDown ends it with the namespace. */
function startDetached(host: string, cmd: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', nsName(lab, host), ...cmd], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
    const t = setTimeout(() => reject(new Error(`${cmd.join(' ')} did not start`)), 20_000);
    child.stdout!.on('data', (b: Buffer) => {
      if (!b.toString().includes('ready')) return;
      clearTimeout(t);
      child.stdout!.destroy();
      child.unref();
      resolve();
    });
    child.on('exit', (code) => reject(new Error(`${cmd.join(' ')} exited ${code}`)));
  });
}

async function adm(args: string[]): Promise<string> {
  const r = await inNs(nsName(lab, 'director'), [process.execPath, TSVSADM, ...args], { env });
  assert.equal(r.code, 0, `tsvsadm ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

describe('FULLNAT on the packet engine (lab fullnat)', { skip }, () => {
  before(async () => {
    ensureBuilt();
    await labUp(lab, () => {}, env);
  });
  after(async () => {
    await labDown(lab);
  });

  it('real servers see the local address, a distinct port per conn; replies come back through the director', async () => {
    const peers: string[] = [];
    for (let i = 0; i < 20; i++) peers.push(await sh('client', `curl -sf --max-time 3 ${URL_}peer`));
    const ports = new Set<string>();
    for (const p of peers) {
      const [a, port] = p.split(':');
      assert.equal(a, '10.0.2.100', `the real server saw ${p}`);
      assert.ok(Number(port) >= 1025);
      ports.add(port!);
    }
    assert.equal(ports.size, 20, 'every conn had its own local port');
    const conns = await adm(['-L', '-n', '-c']);
    const rows = conns.split('\n').filter((l) => l.startsWith('TCP'));
    assert.equal(rows.length, 20, conns);
    for (const r of rows) assert.match(r, /^TCP +\S+ +TIME_WAIT +172\.16\.0\.200:\d+ +172\.16\.0\.100:80 +10\.0\.3\.1[12]:8080$/);
    // The extension column: the local address and port each conn used, as the real server saw them.
    const local = (await adm(['-L', '-n', '-c', '--laddr-info'])).split('\n').filter((l) => l.startsWith('TCP'));
    assert.deepEqual(
      new Set(local.map((l) => l.trim().split(/\s+/)[6])),
      new Set(peers),
      'the local column lists what the real servers saw',
    );
    const stats = await adm(['-L', '-n', '--stats']);
    assert.match(stats, /^TCP +172\.16\.0\.100:80 +20 /m);
    // Both directions go through the director, so OutPkts counts the replies.
    const outPkts = Number(stats.split('\n').find((l) => l.startsWith('TCP'))!.trim().split(/\s+/)[4]);
    assert.ok(outPkts >= 60, stats);
  });

  it('10 MB down and up arrive intact', async () => {
    const down = await sh('client', `curl -sf --max-time 60 ${URL_}blob/${10 << 20} | sha256sum`);
    assert.equal(down.split(' ')[0], sha256(blob(10 << 20)));
    const dir = mkdtempSync(join(tmpdir(), 'tsvs-fullnat-'));
    try {
      const file = join(dir, 'up.bin');
      const data = blob((10 << 20) + 999);
      writeFileSync(file, data);
      const up = await sh('client', `curl -sf --max-time 60 --data-binary @${file} ${URL_}`);
      assert.equal(up.split(' ')[1], sha256(data));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--proxy-protocol v1 and v2: the real server learns the true client; 4 MB up, 3 MB down intact', async () => {
    for (const rs of ['rs1', 'rs2']) {
      await startDetached(rs, [process.execPath, '--import', 'tsx', fixture('pp-server.ts'), '9090', String(3 << 20)]);
    }
    await adm(['-A', '-t', '172.16.0.100:9090', '-s', 'rr', '--laddr', '10.0.2.100']);
    await adm(['-a', '-t', '172.16.0.100:9090', '-r', '10.0.3.11', '--fullnat', '--proxy-protocol', 'v1']);
    await adm(['-a', '-t', '172.16.0.100:9090', '-r', '10.0.3.12', '--fullnat', '--proxy-protocol', 'v2']);
    const send = (4 << 20) + 17;
    for (let i = 0; i < 4; i++) {
      const out = await sh('client', [process.execPath, '--import', 'tsx', fixture('pp-client.ts'), '172.16.0.100', '9090', String(send)].join(' '));
      const r = JSON.parse(out) as { line: string; bytes: number; sha: string };
      const [from, to, bytes, sha] = r.line.split(' ');
      assert.match(from!, /^172\.16\.0\.200:\d+$/, `the real server was told ${r.line}`);
      assert.equal(to, '172.16.0.100:9090');
      assert.equal(Number(bytes), send, 'the header is not part of the client bytes');
      assert.equal(sha, sha256(blob(send)), 'upload intact after the sequence shift');
      assert.equal(r.bytes, 3 << 20);
      assert.equal(r.sha, sha256(blob(3 << 20)), 'download intact after the acknowledgment shift');
    }
    await adm(['-D', '-t', '172.16.0.100:9090']);
  });

  it('a FULLNAT dest of a service without --laddr is reported as not served', async () => {
    await adm(['-A', '-t', '172.16.0.100:81', '-s', 'rr']);
    await adm(['-a', '-t', '172.16.0.100:81', '-r', '10.0.3.11:8080', '--fullnat']);
    const r = await inNs(nsName(lab, 'director'), [process.execPath, TSVS, 'status', '--json']);
    const st = JSON.parse(r.stdout) as { unserved: { rule: string; reason: string }[] };
    assert.ok(
      st.unserved.some((u) => u.rule.includes(':81') && /--laddr/.test(u.reason)),
      JSON.stringify(st.unserved),
    );
    await adm(['-D', '-t', '172.16.0.100:81']);
  });
});
