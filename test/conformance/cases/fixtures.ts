// State that commands cannot create: counters and rates (§11.3, set with Stats.setRaw and the
// estimator's fields), connections made by packets through the core, and the §11.4 rows
// (one of which no kernel produces, so they are served by a fake connection walk).

import { AF_INET, AF_INET6, IP_VS_CONN_F_LOCALNODE, IP_VS_CONN_F_MASQ, IPPROTO_TCP } from '../../../src/core/constants.js';
import { TCP_ACK, TCP_SYN } from '../../../src/core/conn/tcp.js';
import { Addr } from '../../../src/core/inet.js';
import { type Ipvs, packet4 } from '../../../src/core/ipvs.js';
import type { Stats } from '../../../src/core/stats.js';
import type { ConnRow } from '../../../src/core/conn/row.js';

export interface FixtureResult {
  /** Replaces the connection walk (a fake -c backend). */
  conns?: ConnRow[];
  /** Clock for the command under test, ms (default 0). */
  now?: number;
}

export type Fixture = (ipvs: Ipvs) => FixtureResult | undefined;

/** A listed row with what the -c listing does not show filled in: masq, the client as local address. */
function row(r: Omit<ConnRow, 'laddr' | 'lport' | 'template' | 'fwd'>): ConnRow {
  return { ...r, laddr: r.caddr, lport: r.cport, template: r.protocol === 0, fwd: IP_VS_CONN_F_MASQ };
}

function setStats(s: Stats, v: [bigint, bigint, bigint, bigint, bigint]): void {
  v.forEach((x, i) => s.setRaw(i, x));
}

/** Rates as the estimator would report them: rates() rounds est >> 10 / >> 5. */
function setRates(s: Stats, r: [number, number, number, number, number]): void {
  s.est.cps = r[0] * 1024;
  s.est.inpps = r[1] * 1024;
  s.est.outpps = r[2] * 1024;
  s.est.inbps = r[3] * 32;
  s.est.outbps = r[4] * 32;
}

function svc4(ipvs: Ipvs, vip: string, port: number) {
  const s = ipvs.rules.findService({
    af: AF_INET,
    protocol: IPPROTO_TCP,
    addr: Addr.parse4(vip)!,
    port,
    fwmark: 0,
  });
  if (!s) throw new Error(`fixture: no service ${vip}:${port}`);
  return s;
}

function destOf(ipvs: Ipvs, vip: string, port: number, rip: string) {
  const d = svc4(ipvs, vip, port).findDest(Addr.parse4(rip)!, port);
  if (!d) throw new Error(`fixture: no dest ${rip}`);
  return d;
}

const v6 = (s: string) => Addr.parse6(s)!;
const v4 = (s: string) => Addr.parse4(s)!;

export const FIXTURES: Record<string, Fixture> = {
  /** T52: needs -A -t 192.168.1.1:80 with -m dests 10.0.0.1:80 and 10.0.0.2:80. */
  t52(ipvs) {
    const svc = svc4(ipvs, '192.168.1.1', 80);
    setStats(svc.stats, [123456789n, 99999999n, 100000000n, 1234567890123n, 98765432109876543n]);
    setRates(svc.stats, [12, 345, 67, 123456789, 4000000000]);
    const d1 = destOf(ipvs, '192.168.1.1', 80, '10.0.0.1');
    setStats(d1.stats, [5n, 1000n, 2000n, 150000n, 999999999n]);
    setRates(d1.stats, [1, 2, 3, 100000000, 99999999]);
    const d2 = destOf(ipvs, '192.168.1.1', 80, '10.0.0.2');
    setStats(d2.stats, [4294967295n, 0n, 1n, 99999n, 100000000000000n]);
    setRates(d2.stats, [4294967295, 123456789, 0, 0, 0]);
    return undefined;
  },
  /** Thresholds, conn counts and a Local server (needs the t52 service). */
  counts(ipvs) {
    const d1 = destOf(ipvs, '192.168.1.1', 80, '10.0.0.1');
    d1.activeConns = 1234567;
    d1.inactConns = 42;
    d1.persistConns = 7;
    const d2 = destOf(ipvs, '192.168.1.1', 80, '10.0.0.2');
    d2.fwd = IP_VS_CONN_F_LOCALNODE;
    return undefined;
  },
  /** §11.4, row for row. */
  conns114() {
    return {
      conns: [
        row({
          af: AF_INET,
          protocol: 6,
          caddr: v4('192.168.1.100'),
          cport: 54321,
          vaddr: v4('192.168.1.1'),
          vport: 80,
          daddr: v4('10.0.0.1'),
          dport: 80,
          state: 'ESTABLISHED',
          expires: 899,
        }),
        row({
          af: AF_INET,
          protocol: 17,
          caddr: v4('10.0.0.2'),
          cport: 33333,
          vaddr: v4('192.168.1.1'),
          vport: 53,
          daddr: v4('10.0.0.1'),
          dport: 53,
          state: 'UDP',
          expires: 299,
        }),
        row({
          af: AF_INET,
          protocol: 0,
          caddr: v4('192.168.1.100'),
          cport: 0,
          vaddr: v4('192.168.1.1'),
          vport: 80,
          daddr: v4('10.0.0.1'),
          dport: 80,
          state: 'NONE',
          expires: 6000,
        }),
        row({
          af: AF_INET6,
          protocol: 6,
          caddr: v6('2001:db8::1'),
          cport: 8080,
          vaddr: v6('2001:db8::80'),
          vport: 443,
          daddr: v6('2001:db8::10'),
          dport: 443,
          state: 'SYN_RECV',
          expires: 59,
        }),
      ],
    };
  },
  /** Rows ipvsadm mis-reads: mixed-family servers, and one with persistence-engine data. */
  connsOdd() {
    return {
      conns: [
        row({
          af: AF_INET,
          protocol: 6,
          caddr: v4('192.168.1.100'),
          cport: 1000,
          vaddr: v4('192.168.1.1'),
          vport: 80,
          daddr: v6('2001:db8::10'),
          dport: 80,
          state: 'ESTABLISHED',
          expires: 60,
        }),
        row({
          af: AF_INET6,
          protocol: 17,
          caddr: v6('2001:db8::1'),
          cport: 5060,
          vaddr: v6('2001:db8::80'),
          vport: 5060,
          daddr: v4('10.0.0.1'),
          dport: 5060,
          state: 'UDP',
          expires: 5,
          peName: 'sip',
          peData: 'abc@example',
        }),
      ],
    };
  },
  /**
   * Real conns through the core (needs -A -t 192.168.1.1:80 -p 600 with -m 10.0.0.1:80): a SYN
   * makes a SYN_RECV conn and its persistence template; a second client completes a handshake.
   */
  synConns(ipvs) {
    ipvs.processIn(packet4(IPPROTO_TCP, '192.168.1.100', 54321, '192.168.1.1', 80, TCP_SYN), 0);
    ipvs.processIn(packet4(IPPROTO_TCP, '192.168.1.101', 40000, '192.168.1.1', 80, TCP_SYN), 0);
    ipvs.processIn(packet4(IPPROTO_TCP, '192.168.1.101', 40000, '192.168.1.1', 80, TCP_ACK), 0);
    return { now: 1000 };
  },
};
