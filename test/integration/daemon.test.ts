// The director daemon in real network namespaces: started by the first tsvsadm, one per
// namespace, robust to garbage on its socket, closed to other users, gone with its namespace.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Topology } from '../../src/lab/netns.js';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, freshRunDir, inNs, pidsInNs, requireNetns, ROOT, TSVS, TSVSADM } from './harness.js';

const skip = requireNetns();

function rawSend(path: string, bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const s = connect(path, () => {
      s.end(bytes);
    });
    s.on('error', () => resolve());
    s.on('close', () => resolve());
    s.resume();
  });
}

describe('director daemon', { skip }, () => {
  const topo = new Topology();
  let a = '';
  let b = '';
  const runDir = freshRunDir();
  const env = { TSVS_RUN_DIR: runDir };
  before(async () => {
    ensureBuilt();
    a = await topo.netns('a');
    b = await topo.netns('b');
  });
  after(() => topo.teardown());

  const sockOf = async (ns: string) => {
    const r = await inNs(ns, ['stat', '-L', '-c', '%i', '/proc/self/ns/net']);
    return `${runDir}/${r.stdout.trim()}.sock`;
  };

  it('the first tsvsadm starts the director of its namespace; each namespace has its own', async () => {
    const r = await inNs(a, [TSVSADM, '-L', '-n'], { env });
    assert.deepEqual([r.stderr, r.code], ['', 0]);
    assert.match(r.stdout, /^IP Virtual Server version 1\.2\.1 \(size=4096\)\n/);
    const st = await inNs(a, [TSVS, 'status', '--json'], { env });
    assert.equal(st.code, 0, st.stderr);
    const sa = JSON.parse(st.stdout) as { pid: number; netns: string };
    await inNs(b, [TSVSADM, '-L', '-n'], { env });
    const sb = JSON.parse((await inNs(b, [TSVS, 'status', '--json'], { env })).stdout) as { pid: number; netns: string };
    assert.notEqual(sa.netns, sb.netns);
    assert.notEqual(sa.pid, sb.pid);
    assert.ok((await pidsInNs(a)).includes(sa.pid), 'the director of a runs inside a');
  });

  it('20 tsvsadm processes at once: every command lands, in some serial order', async () => {
    const adds = Array.from({ length: 20 }, (_, k) => inNs(a, [TSVSADM, '-A', '-t', `10.1.${k}.1:80`, '-s', 'rr'], { env }));
    for (const r of await Promise.all(adds)) assert.deepEqual([r.stderr, r.code], ['', 0]);
    const saved = await inNs(a, [TSVSADM, '-S', '-n'], { env });
    const lines = saved.stdout.trim().split('\n');
    assert.equal(lines.length, 20);
    for (let k = 0; k < 20; k++) assert.ok(lines.includes(`-A -t 10.1.${k}.1:80 -s rr`), `service ${k}`);
  });

  it('a rejected command changes nothing', async () => {
    const rules = (await inNs(a, [TSVSADM, '-S', '-n'], { env })).stdout;
    const r = await inNs(a, [TSVSADM, '-A', '-t', '10.1.0.1:80', '-s', 'rr'], { env });
    assert.deepEqual([r.stderr, r.code], ['Service already exists\n', 255]);
    assert.equal((await inNs(a, [TSVSADM, '-S', '-n'], { env })).stdout, rules);
  });

  it('--rules FILE loads an ipvsadm -S file at start', async () => {
    const ns = await topo.netns('rules');
    const file = `${runDir}/rules.save`;
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, '-A -t 192.0.2.1:80 -s wrr\n-a -t 192.0.2.1:80 -r 10.0.0.1:8080 -m -w 3\n');
    assert.equal((await inNs(ns, [TSVS, 'daemon', '--detach', '--rules', file], { env })).code, 0);
    const saved = await inNs(ns, [TSVSADM, '-S', '-n'], { env });
    assert.equal(saved.stdout, '-A -t 192.0.2.1:80 -s wrr\n-a -t 192.0.2.1:80 -r 10.0.0.1:8080 -m -w 3\n');
  });

  it('garbage, truncated and oversized frames do not kill it', async () => {
    const sock = await sockOf(a);
    await rawSend(sock, Buffer.from('GET / HTTP/1.0\r\n\r\n'));
    await rawSend(sock, Buffer.from([0, 0, 0, 10, 1, 2]));
    await rawSend(sock, Buffer.from([0xff, 0xff, 0xff, 0xff, 0]));
    const bad = Buffer.from('{"op":"nope"}');
    const head = Buffer.alloc(4);
    head.writeUInt32BE(bad.length);
    await rawSend(sock, Buffer.concat([head, bad]));
    await rawSend(sock, Buffer.concat([Buffer.from([0, 0, 0, 5]), Buffer.from('{{{{{')]));
    const st = await inNs(a, [TSVS, 'status'], { env });
    assert.equal(st.code, 0, 'still answering');
  });

  it("a user who cannot open the socket gets ipvsadm's message and exit 2", async () => {
    // The checkout may sit where the other user cannot read it: run a world-readable copy of
    // the client (it needs only bin/, dist/ and package.json).
    const copy = mkdtempSync(join(tmpdir(), 'tsvs-client-'));
    for (const f of ['bin', 'dist', 'package.json']) cpSync(join(ROOT, f), join(copy, f), { recursive: true });
    await inNs(null, ['chmod', '-R', 'a+rX', copy]);
    const r = await inNs(
      a,
      ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, join(copy, 'bin/tsvsadm'), '-L', '-n'],
      { env },
    );
    assert.equal(r.stdout, '');
    assert.equal(
      r.stderr,
      "Can't initialize ipvs: Permission denied (you must be root)\nAre you sure that IP Virtual Server is built in the kernel or as module?\n",
    );
    assert.equal(r.code, 2);
  });

  it('tsvs daemon stop stops it; tsvs status then says none runs', async () => {
    assert.equal((await inNs(b, [TSVS, 'daemon', 'stop'], { env })).code, 0);
    for (let i = 0; i < 50 && (await inNs(b, [TSVS, 'status'], { env })).code === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const st = await inNs(b, [TSVS, 'status'], { env });
    assert.equal(st.code, 1);
    assert.match(st.stderr, /no director runs/);
  });

  it('the director exits when its namespace is deleted', async () => {
    const ns = await topo.netns('gone');
    await inNs(ns, [TSVS, 'daemon', '--detach', '--engine', 'proxy'], { env });
    const [pid] = await pidsInNs(ns);
    assert.ok(pid, 'a director runs in the namespace');
    await inNs(null, ['ip', 'netns', 'del', ns]);
    topo.namespaces.splice(topo.namespaces.indexOf(ns), 1);
    let alive = true;
    for (let i = 0; i < 60 && alive; i++) {
      await new Promise((r) => setTimeout(r, 100));
      try {
        process.kill(pid!, 0);
      } catch {
        alive = false;
      }
    }
    assert.equal(alive, false, 'gone within 6 s');
  });
});
