// The IPVS sysctls as the kernel stores them and as sysctl(8) shows them (tables of cases).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ipvs } from '../../src/core/ipvs.js';
import { parseInts, SYSCTL_DEFS, SysctlTable } from '../../src/core/sysctl.js';
import { bindSysctls } from '../../src/core/sysctl-bind.js';
import { runSysctl } from '../../src/control/sysctl-cmd.js';
import { makeEnv } from '../helpers/rules.js';

describe('sysctl values (proc_dointvec and the IPVS handlers)', () => {
  it('every name the issue lists but sync_period (not a kernel sysctl) is in the table', () => {
    const names = new Set(SYSCTL_DEFS.map((d) => d.name));
    for (const n of 'sync_version sync_threshold sync_refresh_period sync_retries sync_qlen_max sync_sock_size sync_ports sync_persist_mode expire_nodest_conn expire_quiescent_template conn_reuse_mode sloppy_tcp sloppy_sctp nat_icmp_send cache_bypass snat_reroute schedule_icmp ignore_tunneled pmtu_disc backup_only conntrack drop_entry drop_packet secure_tcp amemthresh am_droprate est_nice run_estimation'.split(
      ' ',
    )) {
      assert.ok(names.has(n), n);
    }
  });

  const cases: [string, string, string | null, string][] = [
    // name, written, errno, value after
    ['amemthresh', '2048', null, '2048'],
    ['amemthresh', ' 0x10\n', null, '16'],
    ['amemthresh', '010', null, '8'],
    ['amemthresh', '-5', null, '-5'],
    ['amemthresh', '08', 'EINVAL', '1024'],
    ['amemthresh', '12abc', 'EINVAL', '1024'],
    ['amemthresh', '2147483648', 'EINVAL', '1024'],
    ['amemthresh', '7 9', null, '7'],
    ['amemthresh', '', null, '1024'],
    ['drop_entry', '3', null, '3'],
    ['drop_entry', '4', 'EINVAL', '0'],
    ['secure_tcp', '-1', 'EINVAL', '0'],
    ['sync_version', '2', 'EINVAL', '1'],
    ['sync_ports', '4', null, '4'],
    ['sync_ports', '3', 'EINVAL', '1'],
    ['sync_ports', '0', 'EINVAL', '1'],
    ['sync_threshold', '10 100', null, '10\t100'],
    ['sync_threshold', '100 10', 'EINVAL', '3\t50'],
    ['sync_threshold', '100 0', null, '100\t0'],
    ['sync_threshold', '40', null, '40\t50'],
    ['sync_retries', '4', 'EINVAL', '0'],
    ['est_nice', '-20', null, '-20'],
    ['est_nice', '20', 'EINVAL', '0'],
    ['nosuch', '1', 'ENOENT', ''],
  ];
  for (const [name, text, errno, after] of cases) {
    it(`${name} <- ${JSON.stringify(text)}: ${errno ?? 'ok'}`, () => {
      const t = new SysctlTable();
      assert.equal(t.write(name, text), errno);
      if (after !== '') assert.equal(t.text(name), after);
    });
  }

  it('parseInts reads base 0 like the kernel and refuses garbage', () => {
    assert.deepEqual(parseInts('0x1F 017 9', 3), [31, 15, 9]);
    assert.equal(parseInts('1e3', 1), null);
  });

  it('the core follows its sysctls', () => {
    const ipvs = new Ipvs({ env: makeEnv() });
    const t = new SysctlTable();
    bindSysctls(ipvs, t);
    t.write('expire_nodest_conn', '1');
    t.write('conn_reuse_mode', '2');
    t.write('sloppy_tcp', '1');
    t.write('run_estimation', '0');
    t.write('lblc_expiration', '60');
    assert.equal(ipvs.sysctls.expireNodestConn, true);
    assert.equal(ipvs.sysctls.connReuseMode, 2);
    assert.equal(ipvs.sysctls.sloppyTcp, true);
    assert.equal(ipvs.sysctls.runEstimation, false);
    assert.equal(ipvs.rules.env.lblcExpiration, 60_000);
  });
});

describe('tsvs sysctl output (procps sysctl 4.0 messages and exit codes)', () => {
  const cases: [string[], string, string, number][] = [
    [['net.ipv4.vs.amemthresh'], 'net.ipv4.vs.amemthresh = 1024\n', '', 0],
    [['net/ipv4/vs/sync_threshold'], 'net.ipv4.vs.sync_threshold = 3\t50\n', '', 0],
    [['-n', 'net.ipv4.vs.am_droprate'], '10\n', '', 0],
    [['-N', 'net.ipv4.vs.am_droprate'], 'net.ipv4.vs.am_droprate\n', '', 0],
    [['-w', 'net.ipv4.vs.drop_packet=2'], 'net.ipv4.vs.drop_packet = 2\n', '', 0],
    [['net.ipv4.vs.drop_packet = 2'], 'net.ipv4.vs.drop_packet = 2\n', '', 0],
    [['-q', '-w', 'net.ipv4.vs.drop_packet=2'], '', '', 0],
    [['-w', 'net.ipv4.vs.drop_packet=9'], '', 'sysctl: setting key "net.ipv4.vs.drop_packet": Invalid argument\n', 1],
    [['net.ipv4.vs.nope'], '', 'sysctl: cannot stat /proc/sys/net/ipv4/vs/nope: No such file or directory\n', 1],
    [['-e', 'net.ipv4.vs.nope'], '', '', 1],
    [['net.ipv4.tcp_syncookies'], '', 'sysctl: cannot stat /proc/sys/net/ipv4/tcp_syncookies: No such file or directory\n', 1],
    [['-w', 'net.ipv4.vs.amemthresh'], '', 'sysctl: command line(0): invalid syntax, continuing...\n', 1],
    [[], '', "sysctl: no variables specified\nTry `sysctl --help' for more information.\n", 1],
    [
      ['-w', 'net.ipv4.vs.drop_entry=1', 'net.ipv4.vs.nope=1', 'net.ipv4.vs.secure_tcp=1'],
      'net.ipv4.vs.drop_entry = 1\nnet.ipv4.vs.secure_tcp = 1\n',
      'sysctl: cannot stat /proc/sys/net/ipv4/vs/nope: No such file or directory\n',
      1,
    ],
  ];
  for (const [argv, out, err, code] of cases) {
    it(`sysctl ${argv.join(' ')}`, () => {
      assert.deepEqual(runSysctl(new SysctlTable(), argv), { stdout: out, stderr: err, code });
    });
  }

  it("-a lists every key, sorted, in sysctl's form", () => {
    const r = runSysctl(new SysctlTable(), ['-a']);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, SYSCTL_DEFS.length);
    assert.deepEqual(lines, [...lines].sort());
    assert.ok(lines.includes('net.ipv4.vs.conn_reuse_mode = 1'));
  });

  it('-p FILE applies a sysctl.d file line by line', () => {
    const t = new SysctlTable();
    const r = runSysctl(
      t,
      ['-p', '/etc/sysctl.d/90-lvs.conf'],
      '# LVS\nnet.ipv4.vs.expire_nodest_conn = 1\n; x\nnet.ipv4.vs.sync_ports=3\nbad line\n',
    );
    assert.equal(r.stdout, 'net.ipv4.vs.expire_nodest_conn = 1\n');
    assert.equal(
      r.stderr,
      'sysctl: setting key "net.ipv4.vs.sync_ports": Invalid argument\nsysctl: /etc/sysctl.d/90-lvs.conf(5): invalid syntax, continuing...\n',
    );
    assert.equal(r.code, 1);
    assert.equal(t.int('expire_nodest_conn'), 1);
  });
});
