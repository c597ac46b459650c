// keepalived.conf → IPVS rules (docs/spec/ha.md §B.2–B.5): every supported virtual_server and real_server
// keyword becomes the expected `tsvsadm -S -n`, through the real ipvsadm front end on a real
// in-process Ipvs; bad input names file:line and produces no config; the health state machine
// (inhibit, quorum + hysteresis + sorry server, misc_dynamic, reload) gives the expected dests.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { staticResolver } from '../../../src/adm/resolve.js';
import { runAdm } from '../../../src/adm/run.js';
import { Ipvs } from '../../../src/core/ipvs.js';
import { parseConfText } from '../../../src/ha/conf/parse.js';
import { lvsFromConf } from '../../../src/ha/lvs/config.js';
import { type AdmSink, LvsManager } from '../../../src/ha/lvs/manager.js';
import { VsState } from '../../../src/ha/lvs/state.js';
import type { LvsConfig } from '../../../src/ha/lvs/types.js';

const resolver = staticResolver({});

function conf(text: string): ReturnType<typeof lvsFromConf> {
  const p = parseConfText(text, '/etc/keepalived/keepalived.conf');
  assert.deepEqual(p.errors, []);
  return lvsFromConf(p.nodes);
}

function director(): { sink: AdmSink; save: () => Promise<string>; log: string[] } {
  const ipvs = new Ipvs();
  const log: string[] = [];
  const sink: AdmSink = { run: (argv) => runAdm(argv, 'ipvsadm', { ipvs, now: 0, resolver, stdin: '' }) };
  return { sink, log, save: async () => (await sink.run(['-S', '-n'])).stdout };
}

// No checkers here, so no probe leaves the process: every real server is alive.
const FULL = `
global_defs {
  router_id lvs1
  notification_email { root@localhost }
}
virtual_server_group WEB {
  10.0.0.10-11 80
}
virtual_server 10.0.0.1 80 {
  delay_loop 6
  lb_algo wrr
  lb_kind NAT
  persistence_timeout 50
  persistence_granularity 255.255.255.0
  protocol TCP
  real_server 10.0.1.1 8080 {
    weight 3
    uthreshold 100
    lthreshold 10
  }
  real_server 10.0.1.2 8080 {
    weight 2
    lvs_method DR
  }
}
virtual_server fwmark 7 {
  lvs_sched sh
  sh-port
  sh-fallback
  lvs_method TUN
  real_server 10.0.2.1 0 {
    weight 1
  }
}
virtual_server 2001:db8::1 443 {
  lvs_sched rr
  protocol TCP
  persistence_timeout
  real_server 2001:db8::10 443 {
  }
}
virtual_server group WEB {
  lvs_sched lc
  protocol UDP
  ops
  real_server 10.0.3.1 53 {
    weight 5
  }
}
`;

describe('keepalived.conf → rules', () => {
  it('every supported virtual_server/real_server keyword gives the expected tsvsadm -S -n', async () => {
    const r = conf(FULL);
    assert.deepEqual(r.errors, []);
    assert.match(r.warnings.map((w) => `${w.line}: ${w.text}`).join('\n'), /4: global_defs notification_email is not implemented/);
    const d = director();
    const m = new LvsManager(d.sink, (l, s) => d.log.push(`${l} ${s}`));
    await m.apply(r.config);
    assert.deepEqual(
      d.log.filter((l) => l.startsWith('error')),
      [],
    );
    assert.equal(
      await d.save(),
      [
        '-A -t 10.0.0.1:80 -s wrr -p 50 -M 255.255.255.0',
        '-a -t 10.0.0.1:80 -r 10.0.1.1:8080 -m -w 3',
        '-a -t 10.0.0.1:80 -r 10.0.1.2:80 -g -w 2',
        '-A -u 10.0.0.10:80 -s lc -o',
        '-a -u 10.0.0.10:80 -r 10.0.3.1:53 -m -w 5',
        '-A -u 10.0.0.11:80 -s lc -o',
        '-a -u 10.0.0.11:80 -r 10.0.3.1:53 -m -w 5',
        '-A -t [2001:db8::1]:443 -s rr -p 360',
        '-a -t [2001:db8::1]:443 -r [2001:db8::10]:443 -m -w 1',
        '-A -f 7 -s sh -b sh-fallback,sh-port',
        '-a -f 7 -r 10.0.2.1:0 -i -w 1 --tun-type ipip',
        '',
      ].join('\n'),
    );
    const thr = await d.sink.run(['-L', '-n', '--thresholds']);
    assert.match(thr.stdout, /-> 10\.0\.1\.1:8080\s+100\s+10\s/, 'uthreshold and lthreshold');
    await m.shutdown();
    assert.equal(await d.save(), '', 'shutdown removes the services keepalived created');
  });

  it('reload applies only the difference: a dest that stays is not touched', async () => {
    const d = director();
    const cmds: string[] = [];
    const sink: AdmSink = { run: (argv) => (cmds.push(argv.join(' ')), d.sink.run(argv)) };
    const m = new LvsManager(sink, () => {});
    await m.apply(conf(FULL).config);
    cmds.length = 0;
    const changed = FULL.replace('weight 2\n    lvs_method DR', 'weight 4\n    lvs_method DR').replace(
      /virtual_server fwmark 7 \{[\s\S]*?\n\}\n/,
      '',
    );
    await m.apply(conf(changed).config);
    assert.deepEqual(cmds, ['-D -f 7', '-e -t 10.0.0.1:80 -r 10.0.1.2:80 -g -w 4 -x 0 -y 0']);
    await m.shutdown();
  });
});

describe('bad input: a clear message naming file:line, and no virtual server', () => {
  const cases: { what: string; text: string; line: number; re: RegExp }[] = [
    {
      what: 'wrong virtual server address',
      text: 'virtual_server 10.0.0.300 80 {\n protocol TCP\n}\n',
      line: 1,
      re: /'10.0.0.300' is not an IPv4 or IPv6 address/,
    },
    {
      what: 'wrong real server address',
      text: 'virtual_server 10.0.0.1 80 {\n protocol TCP\n real_server 10.1 80 {\n }\n}\n',
      line: 3,
      re: /real_server address '10.1'/,
    },
    {
      what: 'family mismatch',
      text: 'virtual_server 10.0.0.1 80 {\n protocol TCP\n real_server ::1 80 {\n }\n}\n',
      line: 3,
      re: /IPv6 but the virtual server is IPv4/,
    },
    {
      what: 'duplicate virtual servers',
      text: 'virtual_server 10.0.0.1 80 {\n protocol TCP\n}\nvirtual_server 10.0.0.1 80 {\n protocol TCP\n}\n',
      line: 4,
      re: /duplicate virtual server TCP 10.0.0.1:80 \(already defined at .*:1\)/,
    },
    {
      what: 'missing script',
      text: 'virtual_server 10.0.0.1 80 {\n protocol TCP\n real_server 10.0.0.2 80 {\n  MISC_CHECK {\n   misc_path "/nonexistent/check.sh arg"\n  }\n }\n}\n',
      line: 5,
      re: /script \/nonexistent\/check.sh does not exist/,
    },
    { what: 'bad scheduler', text: 'virtual_server 10.0.0.1 80 {\n lb_algo fastest\n}\n', line: 2, re: /unknown scheduler/ },
    { what: 'bad number', text: 'virtual_server 10.0.0.1 80 {\n delay_loop soon\n}\n', line: 2, re: /delay_loop soon: not a number/ },
    { what: 'unknown group', text: 'virtual_server group NOPE {\n}\n', line: 1, re: /no virtual_server_group of that name/ },
    {
      what: 'bad digest',
      text: 'virtual_server 10.0.0.1 80 {\n protocol TCP\n real_server 10.0.0.2 80 {\n  HTTP_GET {\n   url {\n    path /\n    digest xyz\n   }\n  }\n }\n}\n',
      line: 7,
      re: /32 hex digits/,
    },
  ];
  for (const c of cases) {
    it(c.what, () => {
      const r = lvsFromConf(parseConfText(c.text, '/k.conf').nodes);
      const e = r.errors[0];
      assert.ok(e, 'an error');
      assert.equal(`${e.file}:${e.line}`, `/k.conf:${c.line}`);
      assert.match(e.text, c.re);
      assert.equal(r.config.virtualServers.length, c.what === 'duplicate virtual servers' ? 2 : 0);
    });
  }
  it('unknown keywords are warnings with file:line, VRRP keywords are not', () => {
    const r = lvsFromConf(
      parseConfText(
        'global_defs {\n router_id a\n lvs_sync_daemon eth0 VI_1\n frobnicate 1\n}\nvrrp_instance VI_1 {\n state MASTER\n}\nbogus_block {\n}\n',
        '/k.conf',
      ).nodes,
    );
    assert.deepEqual(r.errors, []);
    assert.deepEqual(
      r.warnings.map((w) => `${w.line} ${w.text.split(':')[0]}`),
      ["4 unknown keyword 'frobnicate' in global_defs", "9 unknown keyword 'bogus_block' in the top level"],
    );
  });
});

describe('health state → dests (§B.5)', () => {
  const base = (extra: string, rs: string): LvsConfig =>
    conf(`virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n${extra}\n${rs}\n}\n`).config;
  const rs = (a: string, w: number, body = '') => ` real_server ${a} 80 {\n  weight ${w}\n  TCP_CHECK {\n  }\n${body} }\n`;
  const dests = (s: VsState) => [...s.wanted().values()].map((d) => `${d.rs}=${d.weight}`).join(' ');

  it('a failed RS is removed, or kept at weight 0 with inhibit_on_failure, and comes back', () => {
    const s = new VsState(base('', rs('10.0.1.1', 2) + rs('10.0.1.2', 3, '  inhibit_on_failure\n')).virtualServers[0]!);
    assert.equal(dests(s), '10.0.1.1:80=2 10.0.1.2:80=3');
    assert.deepEqual(
      s.setChecker(0, 0, false).map((e) => e.kind),
      ['rs-down'],
    );
    s.setChecker(1, 0, false);
    assert.equal(dests(s), '10.0.1.2:80=0');
    s.setChecker(0, 0, true);
    assert.equal(dests(s), '10.0.1.1:80=2 10.0.1.2:80=0');
  });

  it('quorum with hysteresis switches to the sorry server and back', () => {
    const s = new VsState(
      base(' quorum 4\n hysteresis 1\n sorry_server 10.0.9.9 8080', rs('10.0.1.1', 2) + rs('10.0.1.2', 3)).virtualServers[0]!,
    );
    s.setChecker(0, 0, false); // sum 3 = quorum − hysteresis: still up
    assert.equal(dests(s), '10.0.1.2:80=3');
    assert.deepEqual(
      s.setChecker(1, 0, false).map((e) => e.kind),
      ['rs-down', 'quorum-down'],
    );
    assert.equal(dests(s), '10.0.9.9:8080=1');
    assert.deepEqual(
      s.setChecker(0, 0, true).map((e) => e.kind),
      ['rs-up'],
      'sum 2 < quorum + hysteresis',
    );
    assert.equal(dests(s), '10.0.9.9:8080=1', 'alive RS are not served while the sorry server is');
    assert.deepEqual(
      s.setChecker(1, 0, true).map((e) => e.kind),
      ['rs-up', 'quorum-up'],
    );
    assert.equal(dests(s), '10.0.1.1:80=2 10.0.1.2:80=3');
  });

  it('sorry_server_inhibit keeps the sorry server at weight 0; alpha starts failed', () => {
    const s = new VsState(base(' sorry_server 10.0.9.9 80\n sorry_server_inhibit\n alpha', rs('10.0.1.1', 2)).virtualServers[0]!);
    assert.equal(dests(s), '10.0.9.9:80=1', 'alpha: no RS alive at start, the sorry server serves');
    s.setChecker(0, 0, true);
    assert.equal(dests(s), '10.0.1.1:80=2 10.0.9.9:80=0');
  });

  it('misc_dynamic weight, and state kept across a reload', () => {
    const c = base('', rs('10.0.1.1', 2) + rs('10.0.1.2', 3)).virtualServers[0]!;
    const s = new VsState(c);
    s.setDynWeight(0, 7);
    s.setChecker(1, 0, false);
    const again = new VsState(c, s);
    assert.equal(dests(again), '10.0.1.1:80=7');
  });
});
