// Seed 004's director init script, run unchanged inside a network namespace, with tsvsadm
// installed as /sbin/ipvsadm (an overlay over /usr/sbin in the private mount namespace that
// `ip netns exec` makes) and ifconfig/route/iptables from Debian. The fixture is the seed's
// text with the web page's non-breaking spaces turned into spaces, nothing else.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Topology } from '../../src/lab/netns.js';
import { ensureBuilt, freshRunDir, inNs, requireNetns, TSVS } from './harness.js';

const skip = requireNetns();
const SCRIPT = fileURLToPath(new URL('./fixtures/seed004-director.sh', import.meta.url));
const green = (s: string) => `\x1b[32m${s}\x1b[0m\n`;

describe('seed 004: the director init script', { skip }, () => {
  const topo = new Topology();
  let ns = '';
  const runDir = freshRunDir();
  const shim = mkdtempSync(join(tmpdir(), 'tsvs-shim-'));
  before(async () => {
    ensureBuilt();
    ns = await topo.netns('dir');
    const peer = await topo.netns('lan');
    await topo.link({ ns, dev: 'eth1' }, { ns: peer, dev: 'lan0' });
    mkdirSync(join(shim, 'upper'));
    mkdirSync(join(shim, 'work'));
    const r = await inNs(null, [TSVS, 'shim', 'install', join(shim, 'upper')]);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await topo.teardown();
    rmSync(shim, { recursive: true, force: true });
  });

  /** Runs `script ARG` with /sbin/ipvsadm → tsvsadm and a private /var/lock/subsys. */
  const initScript = (arg: string) =>
    inNs(
      ns,
      [
        'bash',
        '-c',
        [
          'set -e',
          `mount -t overlay overlay -o lowerdir=/usr/sbin,upperdir=${shim}/upper,workdir=${shim}/work /usr/sbin`,
          'mount -t tmpfs tmpfs /run/lock',
          'mkdir -p /var/lock/subsys',
          // The lock file outlives each private mount namespace in ${shim}/lock.
          `[ ! -e ${shim}/lock ] || cp ${shim}/lock /var/lock/subsys/ipvsadm.lock`,
          `set +e; bash ${SCRIPT} ${arg}; rc=$?`,
          `if [ -e /var/lock/subsys/ipvsadm.lock ]; then cp /var/lock/subsys/ipvsadm.lock ${shim}/lock; else rm -f ${shim}/lock; fi`,
          'exit $rc',
        ].join('\n'),
      ],
      { env: { TSVS_RUN_DIR: runDir } },
    );

  it('start configures the VIP and the DR service and lists it', async () => {
    const r = await initScript('start');
    assert.equal(r.stderr, '');
    assert.equal(
      r.stdout,
      green('Start VS/DR of Director Server...') +
        'IP Virtual Server version 1.2.1 (size=4096)\n' +
        'Prot LocalAddress:Port Scheduler Flags\n' +
        '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n' +
        'TCP  192.168.101.168:80 wlc\n' +
        '  -> 10.10.10.11:80               Route   2      0          0         \n' +
        '  -> 10.10.10.12:80               Route   1      0          0         \n',
    );
    assert.equal(r.code, 0);
    const addr = await inNs(ns, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth1']);
    assert.match(addr.stdout, /192\.168\.101\.168\/24/);
  });

  it('status says it runs; stop clears the rules; status says it does not', async () => {
    const st = await initScript('status');
    assert.equal(st.stdout, green('ipvsadm is running...'));
    const stop = await initScript('stop');
    assert.equal(stop.stdout, green('Stop VS/DR of Director Server...'));
    assert.equal(stop.code, 0);
    const list = await inNs(ns, ['node', fileURLToPath(new URL('../../bin/tsvsadm', import.meta.url)), '-S', '-n'], {
      env: { TSVS_RUN_DIR: runDir },
    });
    assert.equal(list.stdout, '', 'ipvsadm -C ran');
    const st2 = await initScript('status');
    assert.equal(st2.stdout, green('ipvsadm is not running...'));
  });
});
