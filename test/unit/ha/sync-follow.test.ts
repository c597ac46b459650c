// keepalived's lvs_sync_daemon: what it reads from global_defs, and the tsvsadm commands that
// follow a VRRP instance's transitions (master daemon while MASTER, backup daemon otherwise).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfText } from '../../../src/ha/conf/parse.js';
import { SyncFollower, syncDaemonFromConf } from '../../../src/ha/sync/follow.js';

const conf = (line: string) =>
  syncDaemonFromConf(
    parseConfText(`global_defs {\n ${line}\n}\nvrrp_instance VI_1 {\n state BACKUP\n virtual_router_id 51\n}\n`, '/k.conf').nodes,
  );

describe('lvs_sync_daemon', () => {
  it('reads the interface, the instance (with or without "inst") and the options; id defaults to the VRID', () => {
    assert.deepEqual(conf('lvs_sync_daemon eth1 VI_1').conf, {
      ifname: 'eth1',
      instance: 'VI_1',
      id: 51,
      maxlen: null,
      port: null,
      ttl: null,
      group: null,
      file: '/k.conf',
      line: 2,
    });
    const c = conf('lvs_sync_daemon eth1 inst VI_1 id 7 maxlen 1400 port 9000 ttl 3 group 224.0.0.99').conf!;
    assert.deepEqual([c.id, c.maxlen, c.port, c.ttl, c.group], [7, 1400, 9000, 3, '224.0.0.99']);
    assert.equal(conf('lvs_sync_daemon eth1').conf!.id, 0);
  });
  it('names file:line for a bad value or an instance that does not exist', () => {
    assert.deepEqual(
      conf('lvs_sync_daemon eth1 VI_1 id 300').errors.map((e) => `${e.line} ${e.text}`),
      ['2 lvs_sync_daemon id 300: give 0 to 255'],
    );
    assert.match(conf('lvs_sync_daemon eth1 VI_9').errors[0]?.text ?? '', /no vrrp_instance VI_9/);
  });
  it('starts the backup daemon, swaps to master on MASTER and back on BACKUP, and stops both at the end', async () => {
    const calls: string[] = [];
    const f = new SyncFollower({ run: async (argv) => (calls.push(argv.join(' ')), { code: 0, stdout: '', stderr: '' }) }, () => {});
    const c = conf('lvs_sync_daemon eth1 VI_1').conf!;
    await f.follow(c, SyncFollower.wanted('BACKUP'));
    await f.follow(c, SyncFollower.wanted('MASTER'));
    await f.follow(c, SyncFollower.wanted('FAULT'));
    await f.stop(c);
    assert.deepEqual(calls, [
      '--start-daemon backup --mcast-interface eth1 --syncid 51',
      '--stop-daemon backup',
      '--start-daemon master --mcast-interface eth1 --syncid 51',
      '--stop-daemon master',
      '--start-daemon backup --mcast-interface eth1 --syncid 51',
      '--stop-daemon backup',
    ]);
    assert.deepEqual(SyncFollower.wanted(null), ['master', 'backup']);
  });
});
