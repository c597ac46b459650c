// The /metrics renderer against node_exporter's expected output for the spec's sample
// director (docs/spec/metrics.md §1.2), Go's float formatting, label escaping, and the registration
// point: checker and VRRP families appear only when a source registered them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from '../fc.js';
import type { DaemonStatus } from '../../src/control/daemon.js';
import { IP_VS_CONN_F_DROUTE, IP_VS_CONN_F_TUNNEL, IP_VS_SVC_F_PERSISTENT } from '../../src/core/constants.js';
import { Ipvs } from '../../src/core/ipvs.js';
import { STAT_CONNS, STAT_INBYTES, STAT_OUTBYTES, Stats } from '../../src/core/stats.js';
import type { DirectorSource } from '../../src/http/director.js';
import { escapeLabel, Exposition, goFloat, writeValue } from '../../src/http/exposition.js';
import { collectMetrics } from '../../src/http/metrics.js';
import { Observers } from '../../src/http/observers.js';
import { destSpec, makeEnv, svcSpec } from '../helpers/rules.js';

function sampleDirector(): DirectorSource {
  const ipvs = new Ipvs({ env: makeEnv() });
  const r = ipvs.rules;
  const tcp = svcSpec('192.168.0.22', 3306, { schedName: 'wlc' });
  r.addService(tcp, 0);
  const d1 = r.addDest(tcp, destSpec('192.168.82.22', 3306, 100, IP_VS_CONN_F_TUNNEL), 0);
  d1.activeConns = 248;
  d1.inactConns = 2;
  const fwm = svcSpec('0.0.0.0', 0, { fwmark: 10, schedName: 'wrr', flags: IP_VS_SVC_F_PERSISTENT, timeout: 360 });
  r.addService(fwm, 0);
  const d2 = r.addDest(fwm, destSpec('192.168.10.1', 0, 1, IP_VS_CONN_F_DROUTE), 0);
  d2.activeConns = 3;
  r.total.setRaw(STAT_CONNS, 23765872n);
  r.total.setRaw(STAT_INBYTES, 89991519156915n);
  const status: DaemonStatus = {
    engine: 'packet',
    interfaces: ['eth0'],
    unserved: [],
    drops: { no_dest: 4, bad_checksum: 1 },
    counters: { received_frames: 1000 },
    maxConns: 0,
    pid: 1,
    netns: '1',
    services: 2,
    conns: 0,
    connTableBytes: 0,
    coreThread: false,
  };
  return { ipvs, now: () => 0, status: () => status, observers: new Observers() };
}

function family(text: string, name: string): string {
  return text
    .split('\n')
    .filter(
      (l) =>
        l.startsWith(`${name}{`) ||
        l.startsWith(`${name} `) ||
        l.endsWith(` ${name} gauge`) ||
        l.endsWith(` ${name} counter`) ||
        l.startsWith(`# HELP ${name} `),
    )
    .join('\n');
}

describe('/metrics', () => {
  it('writes the node_exporter IPVS families as its fixture does', () => {
    const text = collectMetrics(sampleDirector());
    assert.equal(
      family(text, 'node_ipvs_backend_connections_active'),
      [
        '# HELP node_ipvs_backend_connections_active The current active connections by local and remote address.',
        '# TYPE node_ipvs_backend_connections_active gauge',
        'node_ipvs_backend_connections_active{local_address="",local_mark="0000000A",local_port="0",proto="FWM",remote_address="192.168.10.1",remote_port="0"} 3',
        'node_ipvs_backend_connections_active{local_address="192.168.0.22",local_mark="",local_port="3306",proto="TCP",remote_address="192.168.82.22",remote_port="3306"} 248',
      ].join('\n'),
    );
    assert.match(text, /\nnode_ipvs_backend_connections_inactive\{local_address="192\.168\.0\.22",.*remote_port="3306"\} 2\n/);
    assert.match(text, /\nnode_ipvs_backend_weight\{local_address="",local_mark="0000000A".*\} 1\n/);
    assert.match(
      text,
      /# HELP node_ipvs_connections_total The total number of connections made\.\n# TYPE node_ipvs_connections_total counter\nnode_ipvs_connections_total 2\.3765872e\+07\n/,
    );
    assert.match(text, /\nnode_ipvs_incoming_bytes_total 8\.9991519156915e\+13\n/);
  });

  it('adds drops by reason, engine counters and the service rule', () => {
    const text = collectMetrics(sampleDirector());
    assert.match(text, /\ntsvs_drops_total\{reason="bad_checksum"\} 1\ntsvs_drops_total\{reason="no_dest"\} 4\n/);
    assert.match(text, /\ntsvs_engine_received_frames_total 1000\n/);
    assert.match(
      text,
      /\ntsvs_service_info\{local_address="",local_mark="0000000A",local_port="0",proto="FWM",scheduler="wrr",service="-f 10"\} 1\n/,
    );
    assert.match(text, /\ntsvs_backend_connections_total\{dest="192\.168\.82\.22:3306",service="-t 192\.168\.0\.22:3306"\} 0\n/);
    assert.match(text, /\ntsvs_connection_table_bytes \d+/);
  });

  it('keeps families sorted, each once, with HELP before TYPE before samples', () => {
    const lines = collectMetrics(sampleDirector()).trimEnd().split('\n');
    const names: string[] = [];
    for (let i = 0; i < lines.length; i++) {
      const m = /^# HELP (\S+) /.exec(lines[i]!);
      if (!m) continue;
      names.push(m[1]!);
      assert.match(lines[i + 1]!, new RegExp(`^# TYPE ${m[1]} (counter|gauge)$`));
    }
    assert.deepEqual(names, [...names].sort());
    assert.equal(new Set(names).size, names.length);
  });

  it('shows checker and VRRP state only once a source registers', () => {
    const d = sampleDirector();
    assert.doesNotMatch(collectMetrics(d), /tsvs_checker_up|tsvs_vrrp_state/);
    const off = d.observers.addHealth({
      destHealth: () => [{ service: '-t 192.168.0.22:3306', dest: '192.168.82.22:3306', up: false, checker: 'TCP_CHECK', transitions: 2 }],
    });
    d.observers.addVrrp({
      vrrpInstances: () => [{ name: 'VI_1', state: 'MASTER', priority: 150, vrid: 51, interface: 'eth0', becameMaster: 1 }],
    });
    const text = collectMetrics(d);
    assert.match(text, /\ntsvs_checker_up\{checker="TCP_CHECK",dest="192\.168\.82\.22:3306",service="-t 192\.168\.0\.22:3306"\} 0\n/);
    assert.match(text, /\ntsvs_vrrp_state\{instance="VI_1",state="MASTER"\} 1\n/);
    assert.match(text, /\ntsvs_vrrp_state\{instance="VI_1",state="BACKUP"\} 0\n/);
    off();
    assert.doesNotMatch(collectMetrics(d), /tsvs_checker_up/);
  });

  it('formats values as Go FormatFloat(v, g, -1, 64)', () => {
    const cases: [number, string][] = [
      [0, '0'],
      [248, '248'],
      [999999, '999999'],
      [1000000, '1e+06'],
      [23765872, '2.3765872e+07'],
      [3811989221, '3.811989221e+09'],
      [89991519156915, '8.9991519156915e+13'],
      [0.5, '0.5'],
      [0.0001, '0.0001'],
      [0.00001, '1e-05'],
      [-1, '-1'],
      [1.5e300, '1.5e+300'],
      [NaN, 'NaN'],
      [Infinity, '+Inf'],
      [-Infinity, '-Inf'],
    ];
    for (const [v, s] of cases) assert.equal(goFloat(v), s, String(v));
  });

  it('escapes label values and refuses bad names', () => {
    assert.equal(escapeLabel('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
    const x = new Exposition();
    assert.throws(() => x.family('bad-name', 'gauge', 'x'), /not \[a-zA-Z_\]/);
    x.family('a_total', 'counter', 'x');
    assert.throws(() => x.family('a_total', 'gauge', 'x'), /registered as counter and as gauge/);
  });

  it('writes values as bytes exactly as goFloat spells them', () => {
    const b = Buffer.alloc(64);
    const check = (v: number) => assert.equal(b.toString('latin1', 0, writeValue(b, 0, v)), `${goFloat(v)}\n`, String(v));
    for (const v of [0, -0, 7, 10, 999999, 1e6, 1000001, 1200000, 23765872, 2 ** 53 - 1, 2 ** 53, -(2 ** 53), -123, 0.5, NaN, -Infinity]) {
      check(v);
    }
    fc.assert(fc.property(fc.maxSafeInteger(), (v) => check(v)));
    fc.assert(fc.property(fc.double(), (v) => check(v)));
  });

  it('gives the same text on a second scrape, and follows a scheduler edit and -Z', () => {
    const d = sampleDirector();
    const first = collectMetrics(d, { lastDurationSeconds: 0 });
    const again = collectMetrics(d, { lastDurationSeconds: 0 });
    const stable = (t: string) => t.replace(/\n(process_|tsvs_connection_table_bytes)[^\n]*/g, '');
    assert.equal(stable(again), stable(first));
    const r = d.ipvs.rules;
    r.editService(svcSpec('192.168.0.22', 3306, { schedName: 'rr' }), 0);
    assert.match(collectMetrics(d), /\ntsvs_service_info\{[^}]*proto="TCP",scheduler="rr",service="-t 192\.168\.0\.22:3306"\} 1\n/);
    r.total.addOutN(1, 100);
    r.total.zeroStats();
    r.total.addOutN(2, 40);
    assert.match(collectMetrics(d), /\nnode_ipvs_outgoing_bytes_total 40\n/);
  });
});

describe('Stats.valueNumber', () => {
  it('agrees with the exact value after -Z, and past 2^52 and 2^64', () => {
    const s = new Stats();
    const exact = () => Number(s.value(STAT_OUTBYTES));
    s.setRaw(STAT_OUTBYTES, 1000n);
    s.zeroStats();
    s.addOutN(1, 5);
    assert.equal(s.valueNumber(STAT_OUTBYTES), 5);
    s.setRaw(STAT_OUTBYTES, 2n ** 60n);
    s.zeroStats();
    s.addOutN(1, 3);
    assert.equal(s.valueNumber(STAT_OUTBYTES), exact());
    assert.equal(s.valueNumber(STAT_OUTBYTES), 3);
    s.setRaw(STAT_OUTBYTES, 2n ** 64n - 2n);
    s.zeroStats();
    s.addOutN(1, 5); // wraps past 2^64: 3 on the raw counter, 5 since -Z
    assert.equal(s.valueNumber(STAT_OUTBYTES), 5);
    s.setRaw(STAT_OUTBYTES, 10n);
    s.zeroStats();
    s.setRaw(STAT_OUTBYTES, 4n); // setRaw clears the zero point
    assert.equal(s.valueNumber(STAT_OUTBYTES), 4);
  });
});
