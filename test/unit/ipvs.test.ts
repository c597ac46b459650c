// The data-path core: scheduling, states and accounting per packet, persistence, expiry
// (docs/spec/ipvs-kernel.md §2, §3, §5, §7.2), through the same calls the engines make.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TCP_ACK, TCP_FIN, TCP_SYN } from '../../src/core/conn/tcp.js';
import {
  IP_VS_CONN_F_DROUTE,
  IP_VS_CONN_F_FULLNAT,
  IP_VS_CONN_F_MASQ,
  IP_VS_CONN_F_NOOUTPUT,
  IP_VS_SVC_F_ONEPACKET,
  IP_VS_SVC_F_PERSISTENT,
  IPPROTO_TCP,
  IPPROTO_UDP,
} from '../../src/core/constants.js';
import { rates } from '../../src/core/estimator.js';
import { Ipvs, packet4, type Sysctls, VERDICT_ACCEPT, VERDICT_DROP, VERDICT_NO_DEST, VERDICT_NO_LPORT } from '../../src/core/ipvs.js';
import { addr, destSpec, makeEnv, svcSpec } from '../helpers/rules.js';

const VIP = '192.0.2.10';

function director(
  opts: {
    sched?: string;
    fwd?: number;
    flags?: number;
    timeout?: number;
    netmask?: number;
    proto?: number;
    sysctls?: Partial<Sysctls>;
    rips?: string[];
  } = {},
) {
  const ipvs = new Ipvs({ env: makeEnv(), sysctls: opts.sysctls });
  const key = svcSpec(VIP, 80, {
    schedName: opts.sched ?? 'rr',
    flags: opts.flags ?? 0,
    timeout: opts.timeout ?? 0,
    netmask: opts.netmask ?? 0xffffffff,
    protocol: opts.proto ?? IPPROTO_TCP,
  });
  ipvs.rules.addService(key, 0);
  for (const rip of opts.rips ?? ['10.0.0.1', '10.0.0.2']) {
    // ipvsadm forces the service port for DR/TUN dests; NAT keeps the mapped port.
    const port = opts.fwd === IP_VS_CONN_F_DROUTE ? 80 : 8080;
    ipvs.rules.addDest(key, destSpec(rip, port, 1, (opts.fwd ?? IP_VS_CONN_F_MASQ) as 0), 0);
  }
  const svc = ipvs.rules.findService(key)!;
  const dest = (rip: string) => svc.findDest(addr(rip), opts.fwd === IP_VS_CONN_F_DROUTE ? 80 : 8080)!;
  return { ipvs, key, svc, dest };
}

const tcpIn = (client: string, cport: number, flags: number, len = 60) => packet4(IPPROTO_TCP, client, cport, VIP, 80, flags, len);

describe('NAT TCP through processIn / processOut', () => {
  it('handshake, data and close: states, active/inactive counts, counters', () => {
    const { ipvs, svc, dest } = director();
    const ref = ipvs.processIn(tcpIn('198.51.100.1', 40000, TCP_SYN), 1000);
    assert.ok(ref >= 0);
    const d = ipvs.connDest(ref)!;
    assert.equal(d.addr.toString(), '10.0.0.2', 'rr starts at the list head (last added)');
    assert.equal(ipvs.connDport(ref), 8080, 'port mapping');
    assert.equal(d.inactConns, 1, 'a new conn starts inactive');
    // Reply from the RS: src RIP:8080 → client.
    const reply = packet4(IPPROTO_TCP, '10.0.0.2', 8080, '198.51.100.1', 40000, TCP_SYN | TCP_ACK, 60);
    assert.equal(ipvs.processOut(reply, 1001), ref);
    assert.equal(ipvs.processIn(tcpIn('198.51.100.1', 40000, TCP_ACK, 52), 1002), ref);
    assert.equal(d.activeConns, 1);
    assert.equal(d.inactConns, 0);
    assert.equal(ipvs.connExpiresIn(ref), 900);
    assert.equal(ipvs.processIn(tcpIn('198.51.100.1', 40000, TCP_FIN | TCP_ACK, 52), 1003), ref);
    assert.equal(d.activeConns, 0, 'CLOSE_WAIT is not active');
    assert.equal(d.inactConns, 1);
    const s = svc.stats.snapshot();
    assert.deepEqual(s, { conns: 1n, inpkts: 3n, outpkts: 1n, inbytes: 164n, outbytes: 60n });
    assert.deepEqual(d.stats.snapshot(), s);
    assert.deepEqual(ipvs.rules.total.snapshot(), s);
    assert.equal(dest('10.0.0.1').stats.snapshot().conns, 0n);
  });

  it('packets that are not ours are accepted, a failed schedule says no dest', () => {
    const { ipvs, key } = director();
    assert.equal(ipvs.processIn(tcpIn('198.51.100.1', 1, TCP_ACK), 0), VERDICT_ACCEPT, 'ACK of no conn');
    assert.equal(ipvs.processIn(packet4(IPPROTO_TCP, '198.51.100.1', 1, VIP, 81, TCP_SYN), 0), VERDICT_ACCEPT);
    ipvs.rules.editDest(key, destSpec('10.0.0.1', 8080, 0));
    ipvs.rules.editDest(key, destSpec('10.0.0.2', 8080, 0));
    assert.equal(ipvs.processIn(tcpIn('198.51.100.1', 2, TCP_SYN), 0), VERDICT_NO_DEST);
  });

  it('conns expire after their state timeout and release the dest', () => {
    const expired: number[] = [];
    const ipvs = new Ipvs({ env: makeEnv(), onExpire: (r) => expired.push(r) });
    const key = svcSpec(VIP, 80, { schedName: 'rr' });
    ipvs.rules.addService(key, 0);
    const d = ipvs.rules.addDest(key, destSpec('10.0.0.1', 80), 0);
    const ref = ipvs.processIn(tcpIn('198.51.100.1', 1, TCP_SYN), 0);
    ipvs.tick(59_000);
    assert.equal(ipvs.connCount(), 1, 'SYN_RECV lasts 60 s');
    ipvs.tick(60_100);
    assert.equal(ipvs.connCount(), 0);
    assert.deepEqual(expired, [ref]);
    assert.equal(d.inactConns, 0);
    assert.equal(d.refcnt, 0);
  });

  it('--set applies at the next packet', () => {
    const { ipvs } = director();
    const ref = ipvs.processIn(tcpIn('198.51.100.1', 1, TCP_SYN), 0);
    ipvs.processIn(tcpIn('198.51.100.1', 1, TCP_ACK), 0);
    ipvs.rules.setTimeouts({ tcp: 30, tcpfin: 0, udp: 0 });
    assert.equal(ipvs.connExpiresIn(ref), 900);
    ipvs.processIn(tcpIn('198.51.100.1', 1, TCP_ACK), 0);
    assert.equal(ipvs.connExpiresIn(ref), 30);
  });
});

describe('DR, UDP, thresholds', () => {
  it('DR conns see only the inbound direction', () => {
    const { ipvs } = director({ fwd: IP_VS_CONN_F_DROUTE });
    const ref = ipvs.processIn(tcpIn('198.51.100.1', 1, TCP_SYN), 0);
    const d = ipvs.connDest(ref)!;
    assert.equal(ipvs.connDport(ref), 80, 'DR keeps the service port');
    ipvs.processIn(tcpIn('198.51.100.1', 1, TCP_ACK), 0);
    assert.equal(d.activeConns, 1);
    ipvs.processIn(tcpIn('198.51.100.1', 1, TCP_FIN | TCP_ACK), 0);
    assert.equal(ipvs.connExpiresIn(ref), 120, 'FIN_WAIT in the input-only table');
  });

  it('UDP conns stay inactive and live for the udp timeout', () => {
    const { ipvs } = director({ proto: IPPROTO_UDP });
    const ref = ipvs.processIn(packet4(IPPROTO_UDP, '198.51.100.1', 5000, VIP, 80, 0, 40), 0);
    const d = ipvs.connDest(ref)!;
    ipvs.processOut(packet4(IPPROTO_UDP, d.addr.toString(), 8080, '198.51.100.1', 5000, 0, 40), 0);
    assert.equal(d.activeConns, 0);
    assert.equal(d.inactConns, 1);
    assert.equal(ipvs.connExpiresIn(ref), 300);
  });

  it('the upper threshold sets OVERLOAD, the lower rule clears it', () => {
    const ipvs = new Ipvs({ env: makeEnv() });
    const key = svcSpec(VIP, 80, { schedName: 'wlc' });
    ipvs.rules.addService(key, 0);
    const a = ipvs.rules.addDest(key, destSpec('10.0.0.1', 80, 1, 0, { uThreshold: 2 }), 0);
    const b = ipvs.rules.addDest(key, destSpec('10.0.0.2', 80, 1, 0), 0);
    b.flags |= 2; // OVERLOAD: keep the scheduler on A
    ipvs.processIn(tcpIn('198.51.100.1', 1, TCP_SYN), 0);
    assert.equal(a.overloaded, false);
    ipvs.processIn(tcpIn('198.51.100.1', 2, TCP_SYN), 0);
    assert.equal(a.overloaded, true, '2 conns reach u_threshold 2');
    assert.equal(ipvs.processIn(tcpIn('198.51.100.1', 3, TCP_SYN), 0), VERDICT_NO_DEST);
    ipvs.tick(61_000);
    assert.equal(a.overloaded, false, 'cleared when (active + inactive) * 4 < u_threshold * 3');
  });

  it('one-packet scheduling: each datagram is scheduled alone and leaves no conn', () => {
    const { ipvs } = director({ proto: IPPROTO_UDP, flags: IP_VS_SVC_F_ONEPACKET });
    const seen: string[] = [];
    for (let k = 0; k < 4; k++) {
      const ref = ipvs.processIn(packet4(IPPROTO_UDP, '198.51.100.1', 5000, VIP, 80, 0, 40), 0);
      seen.push(ipvs.connDest(ref)!.addr.toString());
    }
    assert.deepEqual(seen, ['10.0.0.2', '10.0.0.1', '10.0.0.2', '10.0.0.1']);
    ipvs.tick(100);
    assert.equal(ipvs.connCount(), 0);
    let listed = 0;
    ipvs.forEachConn(100, () => listed++);
    assert.equal(listed, 0);
  });
});

describe('persistence', () => {
  it('a client sticks to its dest across connections; the template is listed and assured', () => {
    const { ipvs } = director({ flags: IP_VS_SVC_F_PERSISTENT, timeout: 360 });
    const first = ipvs.connDest(ipvs.processIn(tcpIn('198.51.100.1', 1, TCP_SYN), 0))!;
    for (let p = 2; p < 6; p++) {
      assert.equal(ipvs.connDest(ipvs.processIn(tcpIn('198.51.100.1', p, TCP_SYN), 0)), first);
    }
    const other = ipvs.connDest(ipvs.processIn(tcpIn('198.51.100.2', 1, TCP_SYN), 0))!;
    assert.notEqual(other, first, 'another client is scheduled (rr)');
    assert.equal(first.persistConns, 1);
    ipvs.processIn(tcpIn('198.51.100.1', 1, TCP_ACK), 0);
    const rows: string[] = [];
    ipvs.forEachConn(0, (c) => {
      if (c.template) rows.push(`${c.caddr}:${c.cport} ${c.vaddr}:${c.vport} ${c.daddr}:${c.dport} ${c.state} ${c.expires}`);
    });
    assert.deepEqual(rows.sort(), [
      '198.51.100.1:0 192.0.2.10:80 10.0.0.2:8080 ASSURED 360',
      '198.51.100.2:0 192.0.2.10:80 10.0.0.1:8080 NONE 360',
    ]);
  });

  it('-M 255.255.255.0 groups a /24', () => {
    const { ipvs } = director({ flags: IP_VS_SVC_F_PERSISTENT, timeout: 60, netmask: 0xffffff00 });
    const a = ipvs.connDest(ipvs.processIn(tcpIn('198.51.100.1', 1, TCP_SYN), 0));
    const b = ipvs.connDest(ipvs.processIn(tcpIn('198.51.100.77', 1, TCP_SYN), 0));
    assert.equal(a, b);
  });

  it('a template outlives its timeout while children live, then only in 60 s steps', () => {
    const { ipvs } = director({ flags: IP_VS_SVC_F_PERSISTENT, timeout: 10 });
    ipvs.processIn(tcpIn('198.51.100.1', 1, TCP_SYN), 0);
    ipvs.processIn(tcpIn('198.51.100.1', 1, TCP_ACK), 0); // ESTABLISHED: 900 s
    ipvs.tick(10_000);
    assert.equal(ipvs.connCount(), 2, 'the template waits for its child');
    let tplExpires = -1;
    ipvs.forEachConn(11_000, (c) => {
      if (c.template) tplExpires = c.expires;
    });
    assert.equal(tplExpires, 59, 'deferred by 60 s');
  });

  it('a template to a deleted dest is replaced; expire_quiescent_template drops weight-0 ones', () => {
    const { ipvs, key } = director({
      flags: IP_VS_SVC_F_PERSISTENT,
      timeout: 300,
      sysctls: { expireQuiescentTemplate: true },
    });
    const d1 = ipvs.connDest(ipvs.processIn(tcpIn('198.51.100.1', 1, TCP_SYN), 0))!;
    ipvs.rules.editDest(key, destSpec(d1.addr.toString(), 8080, 0));
    const d2 = ipvs.connDest(ipvs.processIn(tcpIn('198.51.100.1', 2, TCP_SYN), 0))!;
    assert.notEqual(d2, d1);
  });
});

describe('dest removal, connection reuse, estimator', () => {
  it('expire_nodest_conn 0 drops packets of a deleted dest; 1 reschedules them', () => {
    for (const nodest of [false, true]) {
      const { ipvs, key } = director({ sysctls: { expireNodestConn: nodest } });
      const ref = ipvs.processIn(tcpIn('198.51.100.1', 1, TCP_SYN), 0);
      const d = ipvs.connDest(ref)!;
      ipvs.rules.delDest(key, d.addr, 8080, 0);
      const r2 = ipvs.processIn(tcpIn('198.51.100.1', 1, TCP_SYN), 0);
      if (!nodest) assert.equal(r2, VERDICT_DROP);
      else assert.notEqual(ipvs.connDest(r2), d);
    }
  });

  it('conn_reuse_mode 1: a SYN on a TIME_WAIT conn starts a new connection', () => {
    const { ipvs } = director();
    const ref = ipvs.processIn(tcpIn('198.51.100.1', 1, TCP_SYN), 0);
    const d = ipvs.connDest(ref)!;
    ipvs.processOut(packet4(IPPROTO_TCP, d.addr.toString(), 8080, '198.51.100.1', 1, TCP_SYN | TCP_ACK), 0);
    ipvs.processIn(tcpIn('198.51.100.1', 1, TCP_ACK), 0);
    ipvs.processIn(tcpIn('198.51.100.1', 1, TCP_FIN | TCP_ACK), 0);
    ipvs.processOut(packet4(IPPROTO_TCP, d.addr.toString(), 8080, '198.51.100.1', 1, TCP_FIN | TCP_ACK), 0);
    const again = ipvs.processIn(tcpIn('198.51.100.1', 1, TCP_SYN), 0);
    assert.notEqual(ipvs.connDest(again), d, 'rescheduled (rr moves on)');
    assert.equal(ipvs.connCount(), 1);
  });

  it('the estimator turns 10 conns/s into cps 10 over time', () => {
    const { ipvs, svc } = director();
    let port = 1;
    for (let t = 0; t <= 80_000; t += 100) {
      ipvs.processIn(tcpIn('198.51.100.1', port++, TCP_SYN), t);
      ipvs.tick(t);
    }
    assert.equal(rates(svc.stats).cps, 10);
    assert.equal(rates(svc.stats).inpps, 10);
    assert.equal(rates(svc.stats).inbps, 600);
  });
});

describe('FULLNAT local addresses (tsvs extension, DPVS semantics)', () => {
  function fullnat(laddrs: string[]) {
    const ipvs = new Ipvs({ env: makeEnv() });
    const key = svcSpec(VIP, 80, { schedName: 'rr', laddrs: laddrs.map(addr) });
    ipvs.rules.addService(key, 0);
    ipvs.rules.addDest(key, destSpec('10.0.3.11', 8080, 1, IP_VS_CONN_F_FULLNAT), 0);
    return ipvs;
  }

  it('each conn gets a local address and port no other conn to that real server uses; replies find it', () => {
    const ipvs = fullnat(['10.0.2.100', '10.0.2.101']);
    const seen = new Set<string>();
    const used = { a: 0, b: 0 };
    for (let i = 0; i < 3000; i++) {
      const ref = ipvs.processIn(tcpIn(`198.51.100.${i % 250}`, 20000 + i, TCP_SYN), 0);
      assert.ok(ref >= 0);
      const la = ipvs.conn4Laddr(ref);
      const lp = ipvs.connLport(ref);
      assert.ok(lp >= 1025 && lp <= 65535);
      const k = `${la}:${lp}`;
      assert.ok(!seen.has(k), `${k} handed out twice`);
      seen.add(k);
      if (la === addr('10.0.2.100').w0) used.a++;
      else if (la === addr('10.0.2.101').w0) used.b++;
      else assert.fail(`local address ${la} is not in the pool`);
      // The real server answers the local address: the out lookup finds this very conn.
      const reply = packet4(IPPROTO_TCP, '10.0.3.11', 8080, '10.0.2.100', 0, TCP_SYN | TCP_ACK);
      reply.daddr[0] = la;
      reply.dport = lp;
      assert.equal(ipvs.processOut(reply, 0), ref);
    }
    assert.equal(used.a, 1500);
    assert.equal(used.b, 1500);
  });

  it('ipvsadm -c rows: a FULLNAT conn shows its local pair, a NAT conn its client', () => {
    const ipvs = fullnat(['10.0.2.100']);
    const ref = ipvs.processIn(tcpIn('198.51.100.1', 4000, TCP_SYN), 0);
    const nat = director();
    nat.ipvs.processIn(tcpIn('198.51.100.2', 4001, TCP_SYN), 0);
    const rows = (d: Ipvs) => {
      const out: { laddr: string; lport: number }[] = [];
      d.forEachConn(0, (c) => out.push({ laddr: c.laddr.toString(), lport: c.lport }));
      return out;
    };
    assert.deepEqual(rows(ipvs), [{ laddr: '10.0.2.100', lport: ipvs.connLport(ref) }]);
    assert.deepEqual(rows(nat.ipvs), [{ laddr: '198.51.100.2', lport: 4001 }]);
  });

  it('FULLNAT conns follow the normal TCP table (both directions seen), not the input-only one', () => {
    const ipvs = fullnat(['10.0.2.100']);
    const ref = ipvs.processIn(tcpIn('198.51.100.1', 4000, TCP_SYN), 0);
    const reply = packet4(IPPROTO_TCP, '10.0.3.11', 8080, '10.0.2.100', ipvs.connLport(ref), TCP_SYN | TCP_ACK);
    ipvs.processOut(reply, 1);
    ipvs.processIn(tcpIn('198.51.100.1', 4000, TCP_ACK), 2);
    assert.equal(ipvs.connFlags(ref) & IP_VS_CONN_F_NOOUTPUT, 0, 'replies drive the state too');
    assert.equal(ipvs.connDest(ref)!.activeConns, 1, 'ESTABLISHED after the three-way handshake');
  });

  it('when every local port toward the real server is taken, new conns are refused', () => {
    const ipvs = fullnat(['10.0.2.100']);
    const n = 65535 - 1025 + 1;
    for (let i = 0; i < n; i++) {
      const ref = ipvs.processIn(tcpIn(`198.51.${100 + (i >> 16)}.${(i >> 8) & 255}`, 1024 + (i & 255), TCP_SYN), 0);
      assert.ok(ref >= 0, `conn ${i}`);
    }
    assert.equal(ipvs.processIn(tcpIn('203.0.113.1', 5555, TCP_SYN), 0), VERDICT_NO_LPORT);
  });
});

describe('adopt: a conn whose dest was picked outside the core (proxy workers)', () => {
  it('is the conn schedule() would make to that dest, and moves no scheduler', () => {
    const a = director();
    const b = director();
    const p = tcpIn('198.51.100.7', 41000, TCP_SYN);
    const want = a.ipvs.schedule(a.svc, p, 1000);
    const picked = a.ipvs.connDest(want)!;
    const got = b.ipvs.adopt(b.svc, b.dest(picked.addr.toString()), p, 1000);
    assert.ok(got >= 0);
    assert.equal(b.ipvs.connDest(got)!.addr.toString(), picked.addr.toString());
    assert.equal(b.ipvs.connDport(got), a.ipvs.connDport(want), 'port mapping');
    assert.equal(b.ipvs.connState(got), a.ipvs.connState(want));
    assert.equal(b.ipvs.connExpiresIn(got), a.ipvs.connExpiresIn(want));
    assert.deepEqual(b.svc.stats.snapshot(), a.svc.stats.snapshot(), 'conns counted');
    assert.equal(b.dest(picked.addr.toString()).inactConns, 1);
    assert.equal(b.ipvs.findIn(p), got, 'hashed: the next packet finds it');
    // b's rr did not move: its first pick is the one a made.
    assert.equal(b.ipvs.connDest(b.ipvs.schedule(b.svc, tcpIn('198.51.100.8', 41000, TCP_SYN), 1001))!, b.dest(picked.addr.toString()));
  });

  it("refuses a dest deleted since the pick, another service's dest, and persistent services", () => {
    const { ipvs, key, svc, dest } = director();
    const d = dest('10.0.0.1');
    const p = tcpIn('198.51.100.7', 41000, TCP_SYN);
    ipvs.rules.delDest(key, addr('10.0.0.1'), 8080, 0);
    assert.equal(ipvs.adopt(svc, d, p, 1000), VERDICT_NO_DEST);
    const other = director();
    assert.equal(ipvs.adopt(svc, other.dest('10.0.0.2'), p, 1000), VERDICT_NO_DEST);
    const pers = director({ flags: IP_VS_SVC_F_PERSISTENT, timeout: 300 });
    assert.equal(pers.ipvs.adopt(pers.svc, pers.dest('10.0.0.2'), p, 1000), VERDICT_NO_DEST);
    assert.equal(svc.stats.snapshot().conns, 0n);
  });
});

describe('forEachConnFrom: the conn table in pieces', () => {
  const row = (c: { caddr: unknown; cport: number; state: string; template: boolean }) => `${c.caddr}:${c.cport} ${c.state} ${c.template}`;

  it('pieces of any size, over IPv4 then IPv6 conns, add up to forEachConn', () => {
    const { ipvs } = director({ flags: IP_VS_SVC_F_PERSISTENT, timeout: 60 });
    const key6 = svcSpec('2001:db8::10', 80, { schedName: 'rr', flags: 0, timeout: 0, netmask: 128, protocol: IPPROTO_TCP });
    ipvs.rules.addService(key6, 0);
    ipvs.rules.addDest(key6, destSpec('2001:db8::1', 8080, 1, IP_VS_CONN_F_MASQ as 0), 0);
    for (let k = 0; k < 40; k++) ipvs.processIn(tcpIn(`198.51.100.${1 + (k % 7)}`, 1000 + k, TCP_SYN), 0);
    const p6 = packet4(IPPROTO_TCP, '198.51.100.1', 1, VIP, 80, TCP_SYN, 60);
    for (let k = 0; k < 9; k++) {
      p6.setV6(IPPROTO_TCP, addrWords(`2001:db8:1::${k + 1}`), 2000 + k, addrWords('2001:db8::10'), 80);
      assert.ok(ipvs.processIn(p6, 0) >= 0);
    }
    const whole: string[] = [];
    ipvs.forEachConn(0, (c) => whole.push(row(c)));
    assert.equal(whole.length, 40 + 7 + 9, '40 conns, 7 templates, 9 IPv6 conns');
    for (const size of [1, 2, 3, 7, 46, 47, 48, 1000]) {
      const got: string[] = [];
      let pieces = 0;
      for (let from = 0; from >= 0; pieces++) {
        let n = 0;
        from = ipvs.forEachConnFrom(0, from, size, (c) => {
          n++;
          got.push(row(c));
        });
        assert.ok(n <= size, `a piece of ${n} conns for size ${size}`);
      }
      assert.deepEqual(got, whole, `pieces of ${size}`);
      assert.ok(pieces >= Math.ceil(whole.length / size), `${pieces} pieces of ${size}`);
    }
  });

  it('a conn removed ahead of the walk is not listed, and none behind it is listed again', () => {
    const { ipvs } = director();
    const refs: number[] = [];
    for (let k = 0; k < 10; k++) refs.push(ipvs.processIn(tcpIn('198.51.100.1', 1000 + k, TCP_SYN), 0));
    const got: number[] = [];
    const from = ipvs.forEachConnFrom(0, 0, 4, (c) => got.push(c.cport));
    // Conns 1000 and 1008 go away (the SYN_RECV timeout passes for all but those re-sent).
    for (let k = 0; k < 10; k++) if (k !== 0 && k !== 8) ipvs.processIn(tcpIn('198.51.100.1', 1000 + k, TCP_SYN), 50_000);
    ipvs.tick(61_000);
    assert.equal(ipvs.connCount(), 8);
    for (let f = from; f >= 0;) f = ipvs.forEachConnFrom(61_000, f, 4, (c) => got.push(c.cport));
    assert.deepEqual(got, [1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1009]);
  });
});

function addrWords(s: string): number[] {
  const a = addr(s);
  return [a.w0, a.w1, a.w2, a.w3];
}
