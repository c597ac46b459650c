// `tsvs realserver` in a namespace: start does what seed 004's RS script does (ARP sysctls,
// VIP /32 on lo, host route), is idempotent, check passes then, and stop restores the values
// it found; check names each failing condition with its fix.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Topology } from '../../src/lab/netns.js';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, freshRunDir, inNs, requireNetns, ROOT, TSVS } from './harness.js';

const skip = requireNetns();
const VIP = '192.168.101.168';

describe('tsvs realserver', { skip }, () => {
  const topo = new Topology();
  let rs = '';
  const env = { TSVS_RUN_DIR: freshRunDir() };
  const sysctl = async (name: string) => (await inNs(rs, ['sysctl', '-n', name])).stdout.trim();
  before(async () => {
    ensureBuilt();
    rs = await topo.netns('rs');
    const peer = await topo.netns('lan');
    await topo.link({ ns: rs, dev: 'eth0' }, { ns: peer, dev: 'p0' });
    await topo.addr(rs, 'eth0', '10.10.10.11/24');
    // A second interface: a fix that holds for every interface must still be printed once.
    await topo.link({ ns: rs, dev: 'eth1' }, { ns: peer, dev: 'p1' });
  });
  after(() => topo.teardown());

  it('check fails on a fresh host and names the fixes', async () => {
    const r = await inNs(rs, [TSVS, 'realserver', 'check', '--vip', VIP, '--mode', 'dr'], { env });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /FAIL {2}VIP 192\.168\.101\.168\/32 on lo: not on lo\n {6}fix: ip addr add 192\.168\.101\.168\/32 dev lo\n/);
    assert.match(r.stdout, /FAIL {2}arp_ignore on eth0 >= 1 .*: 0\n {6}fix: sysctl -w net\.ipv4\.conf\.all\.arp_ignore=1\n/);
    assert.match(r.stdout, /FAIL {2}arp_announce on eth0 = 2 .*: 0\n/);
  });

  it('status on a fresh host: not ready, exit 1, each fix once', async () => {
    const none = await inNs(rs, [TSVS, 'realserver', 'status'], { env });
    assert.equal(none.code, 1);
    assert.match(none.stdout, /\nnot ready: no VIP configured here \(tsvs realserver start --vip VIP\)\n$/);
    const r = await inNs(rs, [TSVS, 'realserver', 'status', '--vip', VIP], { env });
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /\nnot ready for DR: 5 problem\(s\)\n/);
    assert.match(r.stdout, /\n {2}arp_ignore on eth1 >= 1 .*: 0\n/);
    assert.match(
      r.stdout,
      /\nfix:\n {2}ip addr add 192\.168\.101\.168\/32 dev lo\n {2}sysctl -w net\.ipv4\.conf\.all\.arp_ignore=1\n {2}sysctl -w net\.ipv4\.conf\.all\.arp_announce=2\n$/,
    );
    const chk = await inNs(rs, [TSVS, 'realserver', 'check', '--vip', VIP], { env });
    assert.equal(chk.stdout.split('fix: sysctl -w net.ipv4.conf.all.arp_ignore=1').length, 2, chk.stdout);
    assert.match(chk.stdout, /FAIL {2}arp_ignore on eth1 >= 1 .*: 0\n {6}fix: the same as above\n/);
  });

  it('start configures, a second start changes nothing, check passes', async () => {
    await inNs(rs, ['sysctl', '-qw', 'net.ipv4.conf.all.arp_announce=1']);
    const r = await inNs(rs, [TSVS, 'realserver', 'start', '--vip', VIP], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /address 192\.168\.101\.168\/32 added on lo/);
    assert.equal(await sysctl('net.ipv4.conf.lo.arp_ignore'), '1');
    assert.equal(await sysctl('net.ipv4.conf.all.arp_ignore'), '1');
    assert.equal(await sysctl('net.ipv4.conf.all.arp_announce'), '2');
    const route = await inNs(rs, ['ip', 'route', 'show', `${VIP}/32`]);
    assert.match(route.stdout, /dev lo/);
    const again = await inNs(rs, [TSVS, 'realserver', 'start', '--vip', VIP], { env });
    assert.equal(again.stdout, 'already configured\n');
    const chk = await inNs(rs, [TSVS, 'realserver', 'check', '--vip', VIP, '--mode', 'dr'], { env });
    assert.equal(chk.code, 0, chk.stdout);
    assert.doesNotMatch(chk.stdout, /FAIL/);
    const st = await inNs(rs, [TSVS, 'realserver', 'status'], { env });
    assert.equal(st.code, 0, st.stdout);
    assert.match(st.stdout, /\nready: DR real server for 192\.168\.101\.168\n$/);
  });

  it('stop removes the VIP and restores the sysctls it found', async () => {
    const r = await inNs(rs, [TSVS, 'realserver', 'stop'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await sysctl('net.ipv4.conf.all.arp_ignore'), '0');
    assert.equal(await sysctl('net.ipv4.conf.all.arp_announce'), '1', 'the value before start, not 0');
    const addrs = await inNs(rs, ['ip', '-o', 'addr', 'show', 'dev', 'lo']);
    assert.doesNotMatch(addrs.stdout, /192\.168\.101\.168/);
  });

  it("stop leaves alone a VIP that start did not add; stopping a lab's agent says whose it was", async () => {
    await inNs(rs, ['ip', 'addr', 'add', '10.9.9.9/32', 'dev', 'lo']);
    const r = await inNs(rs, [TSVS, 'realserver', 'stop', '--vip', '10.9.9.9'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^10\.9\.9\.9 was not added by tsvs realserver start here: left as it is\n/);
    assert.match((await inNs(rs, ['ip', '-o', 'addr', 'show', 'dev', 'lo'])).stdout, /10\.9\.9\.9\/32/);
    await inNs(rs, ['ip', 'addr', 'del', '10.9.9.9/32', 'dev', 'lo']);
    await inNs(rs, [TSVS, 'realserver', 'start', '--vip', VIP, '--lab', 'demo'], { env });
    const stopped = await inNs(rs, [TSVS, 'realserver', 'stop'], { env });
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stdout, /\nnote: these were lab demo's settings: tsvs lab up demo rebuilds the lab\n$/);
    assert.doesNotMatch((await inNs(rs, ['ip', '-o', 'addr', 'show', 'dev', 'lo'])).stdout, /192\.168\.101\.168/);
  });

  it('start as non-root: one line saying it needs root', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'tsvs-client-'));
    try {
      for (const f of ['bin', 'dist', 'package.json']) cpSync(join(ROOT, f), join(copy, f), { recursive: true });
      await inNs(null, ['chmod', '-R', 'a+rX', copy]);
      const r = await inNs(
        rs,
        [
          'setpriv',
          '--reuid=65534',
          '--regid=65534',
          '--clear-groups',
          process.execPath,
          join(copy, 'bin/tsvs'),
          'realserver',
          'start',
          '--vip',
          VIP,
        ],
        { env },
      );
      assert.equal(r.code, 1);
      assert.equal(r.stderr, "tsvs realserver: start changes this host's addresses and sysctls and needs root: run it with sudo\n");
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('check --mode nat wants the director as default gateway', async () => {
    const r = await inNs(rs, [TSVS, 'realserver', 'check', '--vip', VIP, '--mode', 'nat', '--dip', '10.10.10.10'], { env });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /fix: ip route replace default via 10\.10\.10\.10\n/);
    await inNs(rs, ['ip', 'route', 'add', 'default', 'via', '10.10.10.10']);
    const ok = await inNs(rs, [TSVS, 'realserver', 'check', '--vip', VIP, '--mode', 'nat', '--dip', '10.10.10.10'], { env });
    assert.equal(ok.code, 0, ok.stdout);
  });

  it('IPv6: start puts the VIP /128 on lo; check passes, and fails while NDP proxying speaks for the VIP', async () => {
    const vip6 = '2001:db8:101::168';
    await inNs(rs, ['ip', 'addr', 'add', '2001:db8:10::11/64', 'dev', 'eth0', 'nodad']);
    const r = await inNs(rs, [TSVS, 'realserver', 'start', '--vip', vip6], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /address 2001:db8:101::168\/128 added on lo/);
    const ok = await inNs(rs, [TSVS, 'realserver', 'check', '--vip', vip6, '--mode', 'dr'], { env });
    assert.equal(ok.code, 0, ok.stdout);
    await inNs(rs, ['sysctl', '-qw', 'net.ipv6.conf.eth0.proxy_ndp=1']);
    await inNs(rs, ['ip', '-6', 'neigh', 'add', 'proxy', vip6, 'dev', 'eth0']);
    const bad = await inNs(rs, [TSVS, 'realserver', 'check', '--vip', vip6, '--mode', 'dr'], { env });
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /FAIL {2}no NDP proxy for the VIP on eth0 .*\n {6}fix: ip -6 neigh del proxy 2001:db8:101::168 dev eth0\n/);
    await inNs(rs, ['ip', '-6', 'neigh', 'del', 'proxy', vip6, 'dev', 'eth0']);
    const tun = await inNs(rs, [TSVS, 'realserver', 'check', '--vip', vip6, '--mode', 'tun'], { env });
    assert.equal(tun.code, 1, 'no decapsulation yet');
    assert.match(tun.stdout, /FAIL {2}tunnel decapsulation: /);
    const st = await inNs(rs, [TSVS, 'realserver', 'start', '--vip', vip6, '--tunnel', 'ipip'], { env });
    assert.equal(st.code, 0, st.stderr);
    const tun2 = await inNs(rs, [TSVS, 'realserver', 'check', '--vip', vip6, '--mode', 'tun'], { env });
    assert.equal(tun2.code, 0, tun2.stdout);
    const stop = await inNs(rs, [TSVS, 'realserver', 'stop'], { env });
    assert.equal(stop.code, 0, stop.stderr);
    assert.match(stop.stdout, /tunnel decapsulation stopped/);
    assert.doesNotMatch((await inNs(rs, ['ip', '-6', 'addr', 'show', 'dev', 'lo'])).stdout, /2001:db8:101::168/);
  });
});
