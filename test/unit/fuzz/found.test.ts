// Failures the fuzzers found (test/unit/fuzz/*.ts), kept as fixed cases: each input, and what
// must happen to it now.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { staticResolver } from '../../../src/adm/resolve.js';
import { runAdm } from '../../../src/adm/run.js';
import { CONN_BYTES, Defence } from '../../../src/core/defence.js';
import { Addr } from '../../../src/core/inet.js';
import { Ipvs } from '../../../src/core/ipvs.js';
import { SysctlTable } from '../../../src/core/sysctl.js';
import { SyncEntry, SyncPacker } from '../../../src/sync/codec.js';
import { SyncBackup } from '../../../src/sync/daemon.js';
import { rxIpv4 } from '../../../src/ha/vrrp/rx.js';

async function backupCore(maxConns?: number): Promise<{ ipvs: Ipvs; backup: SyncBackup }> {
  const ipvs = new Ipvs({ now: 0 });
  if (maxConns !== undefined) ipvs.defence = new Defence(new SysctlTable(), maxConns * CONN_BYTES);
  const r = await runAdm(['-R'], 'ipvsadm', {
    ipvs,
    now: 0,
    resolver: staticResolver({}),
    stdin: '-A -t 192.0.2.10:80 -s rr\n-a -t 192.0.2.10:80 -r 10.0.0.1:8080 -m\n',
  });
  assert.equal(r.code, 0, r.stderr);
  const cfg = { state: 'backup' as const, ifname: 'lo', syncid: 0, group: Addr.parse('224.0.0.81')!, port: 8848, ttl: 1, maxlen: 1472 };
  return {
    ipvs,
    backup: new SyncBackup(
      cfg,
      ipvs,
      () => 0,
      () => {},
    ),
  };
}

/** One v1 message with `n` TCP conns from 198.51.100.x to `vip`:80, as `set` shapes them. */
function message(n: number, set: (e: SyncEntry, k: number) => void, vip = '192.0.2.10'): Uint8Array {
  const out: Uint8Array[] = [];
  const p = new SyncPacker(0, 65000, 1, (m) => out.push(m));
  const e = new SyncEntry();
  for (let k = 0; k < n; k++) {
    e.reset();
    e.proto = 6;
    e.state = 1;
    e.cport = 1024 + k;
    e.vport = 80;
    e.dport = 8080;
    e.caddr[0] = Addr.parse(`198.51.100.${k % 250}`)!.w0;
    e.vaddr[0] = Addr.parse(vip)!.w0;
    e.daddr[0] = Addr.parse('10.0.0.9')!.w0;
    set(e, k);
    p.add(e, 0);
  }
  p.flush();
  assert.equal(out.length, 1);
  return out[0]!;
}

describe('fuzz findings: sync backup', () => {
  it('an unbound conn with forwarding method 7 (no such method) is not created: counted bad_fwd', async () => {
    const { ipvs, backup } = await backupCore();
    backup.receive(message(1, (e) => (e.flags = 0x1007), '192.0.2.99'));
    assert.equal(ipvs.connCount(), 0);
    assert.equal(backup.stats.drops.bad_fwd, 1);
  });

  it('a template with state 300 is stored as NONE, not truncated to 44 in the table', async () => {
    const { ipvs, backup } = await backupCore();
    backup.receive(message(1, (e) => ((e.flags = 0x1000), (e.state = 300), (e.cport = 0))));
    const rows: string[] = [];
    ipvs.forEachConn(0, (c) => rows.push(`${c.template} ${c.state}`));
    assert.deepEqual(rows, ['true NONE']);
    assert.equal(ipvs.connState(0), 0, 'slot 0 holds the template');
  });

  it('a backup stays under conn_mem_max: conns past the bound are refused and counted conn_table_full', async () => {
    const { ipvs, backup } = await backupCore(100);
    backup.receive(message(150, () => {}));
    assert.equal(ipvs.connCount(), 100);
    assert.equal(backup.stats.drops.conn_table_full, 50);
    assert.equal(ipvs.syncStats.created, 100);
  });
});

describe('fuzz findings: VRRP', () => {
  it('a raw IPv4 read that is not VRRP, or has a bad header, is named (before: skipped uncounted in VrrpLink.drain)', () => {
    const p = new Uint8Array(48);
    p[0] = 0x45;
    p[2] = 0;
    p[3] = 48;
    p[8] = 255;
    p[9] = 6; // TCP on the raw 112 socket cannot come, but a truncated or foreign read can
    assert.equal(rxIpv4(p), 'not_vrrp');
    p[3] = 200; // total length past the read
    assert.equal(rxIpv4(p), 'bad_ip_header');
    assert.equal(rxIpv4(p.subarray(0, 12)), 'bad_ip_header');
  });
});
