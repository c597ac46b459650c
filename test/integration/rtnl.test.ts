// The packet engine follows the kernel's network state over rtnetlink while it runs: a client,
// a director (packet engine, one NAT service) and a real server in namespaces. The dest's
// address is behind a route the director does not have at first; adding the route makes the
// service answer; a wrong permanent neighbour entry for the next hop stops it and the right
// one brings it back; an added address and a link set down and up show in `tsvs status`.
// Each change is checked within a bounded wait. Needs root and iproute2; CI must not skip it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ip, Topology } from '../../src/lab/netns.js';
import { ensureBuilt, inNs, requireNetns, ROOT, TSVS, TSVSADM } from './harness.js';

const skip = requireNetns();
const VIP = '10.74.1.100';
const RIP = '10.74.9.2';
const NEXT_HOP = '10.74.2.2';
const WAIT_MS = 5000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('packet engine follows rtnetlink changes', { skip }, () => {
  const topo = new Topology();
  const runDir = mkdtempSync(join(tmpdir(), 'tsvs-rtnl-'));
  const env = { TSVS_RUN_DIR: runDir };
  let c = '';
  let d = '';
  let r = '';
  let rsMac = '';

  /** True when one HTTP request through the VIP is answered by the real server. */
  const served = async (): Promise<boolean> => {
    const res = await inNs(c, ['curl', '-s', '--max-time', '1', `http://${VIP}/`], { timeoutMs: 5000 });
    return res.code === 0 && res.stdout.trim() === 'rs';
  };
  /** Waits up to WAIT_MS for `cond`; returns whether it held. */
  const within = async (cond: () => Promise<boolean>): Promise<boolean> => {
    const end = Date.now() + WAIT_MS;
    for (;;) {
      if (await cond()) return true;
      if (Date.now() > end) return false;
      await sleep(100);
    }
  };
  const status = async (): Promise<string> => {
    const res = await inNs(d, [process.execPath, TSVS, 'status'], { env });
    assert.equal(res.code, 0, res.stderr);
    return res.stdout;
  };

  before(async () => {
    ensureBuilt();
    c = await topo.netns('c');
    d = await topo.netns('d');
    r = await topo.netns('r');
    await topo.link({ ns: c, dev: 'c0' }, { ns: d, dev: 'd0' });
    await topo.link({ ns: r, dev: 'r0' }, { ns: d, dev: 'd1' });
    await topo.addr(c, 'c0', '10.74.1.2/24');
    await topo.addr(d, 'd0', '10.74.1.1/24');
    await topo.addr(d, 'd1', '10.74.2.1/24');
    await topo.addr(r, 'r0', `${NEXT_HOP}/24`);
    await topo.addr(r, 'lo', `${RIP}/32`);
    await topo.route(r, ['default', 'via', '10.74.2.1']);
    await topo.route(c, ['default', 'via', '10.74.1.1']);
    rsMac = await topo.mac(r, 'r0');
    topo.spawn(r, [process.execPath, join(ROOT, 'dist/lab/http-server.js'), 'rs', '80']).stdout!.resume();
    const daemon = topo.spawn(d, [process.execPath, TSVS, 'daemon', '--engine', 'packet'], { env: { ...process.env, ...env } });
    daemon.stdout!.resume();
    daemon.stderr!.resume();
    assert.ok(
      await within(async () => (await inNs(d, [process.execPath, TSVS, 'status'], { env })).code === 0),
      'the director answers tsvs status',
    );
    for (const args of [
      ['-A', '-t', `${VIP}:80`, '-s', 'rr'],
      ['-a', '-t', `${VIP}:80`, '-r', `${RIP}:80`, '-m'],
    ]) {
      const res = await inNs(d, [process.execPath, TSVSADM, ...args], { env });
      assert.equal(res.code, 0, res.stderr);
    }
  });

  after(async () => {
    await topo.teardown();
    rmSync(runDir, { recursive: true, force: true });
  });

  it('a route added while it runs makes the dest reachable', async () => {
    assert.equal(await served(), false, 'no route to the dest yet: the service cannot answer');
    await ip(['-n', d, 'route', 'add', '10.74.9.0/24', 'via', NEXT_HOP]);
    assert.ok(await within(served), `served within ${WAIT_MS} ms of the route:\n${await status()}`);
    assert.match(await status(), /routes \(main table\): 3 IPv4/);
  });

  it('a changed neighbour entry is followed: a wrong MAC stops the traffic, the right one restores it', async () => {
    await ip(['-n', d, 'neigh', 'replace', NEXT_HOP, 'lladdr', '02:00:00:00:00:99', 'dev', 'd1', 'nud', 'permanent']);
    assert.ok(await within(async () => !(await served())), 'frames go to the wrong MAC: the real server never sees them');
    await ip(['-n', d, 'neigh', 'replace', NEXT_HOP, 'lladdr', rsMac, 'dev', 'd1', 'nud', 'permanent']);
    assert.ok(await within(served), `served again within ${WAIT_MS} ms of the right MAC`);
  });

  it('an added address and a link set down then up show in tsvs status', async () => {
    await ip(['-n', d, 'addr', 'add', '10.74.3.1/24', 'dev', 'd1']);
    assert.ok(await within(async () => /interface d1: .*addresses 10\.74\.2\.1\/24 10\.74\.3\.1\/24/.test(await status())), await status());
    await ip(['-n', d, 'link', 'set', 'd1', 'down']);
    assert.ok(await within(async () => /^interfaces: d0\n/m.test(await status())), `d1 is no longer used:\n${await status()}`);
    await ip(['-n', d, 'link', 'set', 'd1', 'up']);
    assert.ok(await within(async () => /^interfaces: d0, d1\n/m.test(await status())), `d1 is used again:\n${await status()}`);
    // The kernel flushed the route through d1 when it went down: the director follows that too.
    assert.ok(await within(async () => /routes \(main table\): 3 IPv4/.test(await status())), await status());
    await ip(['-n', d, 'route', 'add', '10.74.9.0/24', 'via', NEXT_HOP]);
    assert.ok(await within(served), `served within ${WAIT_MS} ms after the link came back and the route was restored`);
    assert.match(await status(), /kernel network state: rtnetlink, \d+ notifications/);
  });
});
