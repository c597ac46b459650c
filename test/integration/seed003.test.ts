// Seed 003's ipvsadm session, end to end against a real director in a namespace: a NAT
// service, -E from rr to sh, the port remap 80 → 8080 (which -e cannot do, as the seed found:
// the dest's port is part of its identity), done the seed's way with -S, edit, -C, -R; then
// --stats, --rate, -c, -d and -D.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Topology } from '../../src/lab/netns.js';
import { ensureBuilt, freshRunDir, inNs, requireNetns, TSVSADM } from './harness.js';

const skip = requireNetns();
const HEAD =
  'IP Virtual Server version 1.2.1 (size=4096)\n' +
  'Prot LocalAddress:Port Scheduler Flags\n' +
  '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n';
const rs = (addr: string, w = 1) => `  -> ${addr.padEnd(28)} Masq    ${String(w).padEnd(6)} 0          0         \n`;
const VIP = '172.16.100.9:80';

describe('seed 003: the ipvsadm session', { skip }, () => {
  const topo = new Topology();
  let ns = '';
  const env = { TSVS_RUN_DIR: freshRunDir() };
  const adm = (args: string[], input?: string) => inNs(ns, [process.execPath, TSVSADM, ...args], { env, input });
  before(async () => {
    ensureBuilt();
    ns = await topo.netns('dir');
  });
  after(() => topo.teardown());

  it('runs as the seed describes it', async () => {
    for (const a of [
      ['-A', '-t', VIP, '-s', 'rr'],
      ['-a', '-t', VIP, '-r', '192.168.20.7', '-m'],
      ['-a', '-t', VIP, '-r', '192.168.20.8', '-m'],
    ]) {
      const r = await adm(a);
      assert.deepEqual([r.stdout, r.stderr, r.code], ['', '', 0], a.join(' '));
    }
    assert.equal((await adm(['-L', '-n'])).stdout, `${HEAD}TCP  ${VIP} rr\n${rs('192.168.20.7:80')}${rs('192.168.20.8:80')}`);

    assert.equal((await adm(['-E', '-t', VIP, '-s', 'sh'])).code, 0);
    assert.equal((await adm(['-L', '-n'])).stdout, `${HEAD}TCP  ${VIP} sh\n${rs('192.168.20.7:80')}${rs('192.168.20.8:80')}`);

    const e = await adm(['-e', '-t', VIP, '-r', '192.168.20.7:8080', '-m']);
    assert.deepEqual([e.stdout, e.stderr, e.code], ['', 'No such destination\n', 255]);

    const saved = await adm(['-S', '-n']);
    assert.equal(saved.stdout, `-A -t ${VIP} -s sh\n-a -t ${VIP} -r 192.168.20.7:80 -m -w 1\n-a -t ${VIP} -r 192.168.20.8:80 -m -w 1\n`);
    const edited = saved.stdout.replace(/(-r [\d.]+):80/g, '$1:8080');
    assert.equal((await adm(['-C'])).code, 0);
    assert.equal((await adm(['-L', '-n'])).stdout, HEAD);
    const r = await adm(['-R'], edited);
    assert.deepEqual([r.stdout, r.stderr, r.code], ['', '', 0]);
    assert.equal((await adm(['-L', '-n'])).stdout, `${HEAD}TCP  ${VIP} sh\n${rs('192.168.20.7:8080')}${rs('192.168.20.8:8080')}`);

    const zeros = `${'        0'.repeat(5)}\n`; // each number is %9u
    assert.equal(
      (await adm(['-L', '-n', '--stats'])).stdout,
      'IP Virtual Server version 1.2.1 (size=4096)\n' +
        'Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n' +
        '  -> RemoteAddress:Port\n' +
        `${`TCP  ${VIP}`.padEnd(33)}${zeros}` +
        `  -> ${'192.168.20.7:8080'.padEnd(28)}${zeros}` +
        `  -> ${'192.168.20.8:8080'.padEnd(28)}${zeros}`,
    );
    assert.equal(
      (await adm(['-L', '-n', '--rate'])).stdout,
      'IP Virtual Server version 1.2.1 (size=4096)\n' +
        'Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n' +
        '  -> RemoteAddress:Port\n' +
        `${`TCP  ${VIP}`.padEnd(33)}${zeros}` +
        `  -> ${'192.168.20.7:8080'.padEnd(28)}${zeros}` +
        `  -> ${'192.168.20.8:8080'.padEnd(28)}${zeros}`,
    );
    assert.equal(
      (await adm(['-L', '-n', '-c'])).stdout,
      'IPVS connection entries\npro expire state       source             virtual            destination\n',
    );

    assert.equal((await adm(['-d', '-t', VIP, '-r', '192.168.20.8:8080'])).code, 0);
    assert.equal((await adm(['-L', '-n'])).stdout, `${HEAD}TCP  ${VIP} sh\n${rs('192.168.20.7:8080')}`);
    assert.equal((await adm(['-D', '-t', VIP])).code, 0);
    assert.equal((await adm(['-L', '-n'])).stdout, HEAD);
    const gone = await adm(['-D', '-t', VIP]);
    assert.deepEqual([gone.stderr, gone.code], ['No such service\n', 255]);
  });
});
