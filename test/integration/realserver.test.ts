// `tsvs realserver` in a namespace: start does what seed 004's RS script does (ARP sysctls,
// VIP /32 on lo, host route), is idempotent, check passes then, and stop restores the values
// it found; check names each failing condition with its fix.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Topology } from '../../src/lab/netns.js';
import { ensureBuilt, freshRunDir, inNs, requireNetns, TSVS } from './harness.js';

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
  });
  after(() => topo.teardown());

  it('check fails on a fresh host and names the fixes', async () => {
    const r = await inNs(rs, [TSVS, 'realserver', 'check', '--vip', VIP, '--mode', 'dr'], { env });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /FAIL {2}VIP 192\.168\.101\.168\/32 on lo: not on lo\n {6}fix: ip addr add 192\.168\.101\.168\/32 dev lo\n/);
    assert.match(r.stdout, /FAIL {2}arp_ignore on eth0 >= 1 .*: 0\n {6}fix: sysctl -w net\.ipv4\.conf\.all\.arp_ignore=1\n/);
    assert.match(r.stdout, /FAIL {2}arp_announce on eth0 = 2 .*: 0\n/);
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
  });

  it('stop removes the VIP and restores the sysctls it found', async () => {
    const r = await inNs(rs, [TSVS, 'realserver', 'stop'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await sysctl('net.ipv4.conf.all.arp_ignore'), '0');
    assert.equal(await sysctl('net.ipv4.conf.all.arp_announce'), '1', 'the value before start, not 0');
    const addrs = await inNs(rs, ['ip', '-o', 'addr', 'show', 'dev', 'lo']);
    assert.doesNotMatch(addrs.stdout, /192\.168\.101\.168/);
  });

  it('check --mode nat wants the director as default gateway', async () => {
    const r = await inNs(rs, [TSVS, 'realserver', 'check', '--vip', VIP, '--mode', 'nat', '--dip', '10.10.10.10'], { env });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /fix: ip route replace default via 10\.10\.10\.10\n/);
    await inNs(rs, ['ip', 'route', 'add', 'default', 'via', '10.10.10.10']);
    const ok = await inNs(rs, [TSVS, 'realserver', 'check', '--vip', VIP, '--mode', 'nat', '--dip', '10.10.10.10'], { env });
    assert.equal(ok.code, 0, ok.stdout);
  });
});
