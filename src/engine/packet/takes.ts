// What the packet engine takes, computed from the rules: the forwarder's prefilters (VIPs,
// masq and FULLNAT dests), the kernel filter's matches, the addresses the engine answers
// ARP/NDP for, and the rules it cannot serve, with why. Pure: the engine applies the plan.

import { type UnservedRule, label } from '../../control/engine.js';
import { IP_VS_CONN_F_FULLNAT, IP_VS_CONN_F_MASQ } from '../../core/constants.js';
import type { Dest } from '../../core/dest.js';
import type { Addr } from '../../core/inet.js';
import type { Service } from '../../core/service.js';
import type { IngressMatch } from './nft.js';

/** The namespace as far as planning needs it. */
export interface Host {
  /** Every local address of both families (as text) and the interface name that holds it. */
  local: Map<string, string>;
  /** Names of the interfaces the engine runs on. */
  served: ReadonlySet<string>;
}

export interface Takes {
  vips: Set<number>;
  /** rip * 65536 + rport, as Forwarder.rips. */
  rips: Set<number>;
  ripAddrs: Set<number>;
  laddrs: Set<number>;
  /** VIP * 65536 + port (0: every port) per protocol: what the kernel filter takes in. */
  vipPorts4: { tcp: Set<number>; udp: Set<number> };
  vips6: Map<string, Addr>;
  /** Four address words, the port (0: every port) and the protocol per IPv6 service. */
  vipPorts6: number[];
  /** Four address words and the port per masq or FULLNAT dest, as Path6.rips. */
  rips6: number[];
  laddrs6: Map<string, Addr>;
  /** Director addresses that are not FULLNAT local addresses: replies to them are the kernel's. */
  own4: Set<number>;
  own6: Addr[];
  matches: IngressMatch[];
  unserved: UnservedRule[];
  /** Dests whose next hop is worth resolving now. */
  dests: Addr[];
}

/** Why the packet engine cannot serve `svc`, or null. */
function unservable(svc: Service, host: Host): string | null {
  if (svc.fwmark) return 'fwmark services need the kernel firewall marks, which raw frames do not carry';
  if (svc.protocol !== 6 && svc.protocol !== 17) return 'SCTP is not in the packet engine yet';
  if (host.served.size === 0) {
    return 'no interface serves it: the packet engine runs on no interface (none is up and Ethernet, or TSVS_INTERFACES names none that is)';
  }
  const on = host.local.get(svc.addr.toString());
  if (on !== undefined && on !== 'lo' && !host.served.has(on)) {
    return `no interface serves it: its VIP is on ${on}, which the packet engine does not run on (not Ethernet, down, or left out by TSVS_INTERFACES), so frames to it never reach the engine`;
  }
  return null;
}

/** A masq or FULLNAT dest's replies come back through the director: take them (the out-hook). */
function takeReplies(t: Takes, ripMatches: IngressMatch[], svc: Service, d: Dest): void {
  const fwdm = d.fwd;
  if (fwdm !== IP_VS_CONN_F_MASQ && fwdm !== IP_VS_CONN_F_FULLNAT) return;
  const family = svc.addr.isV6 ? 'ip6' : 'ip';
  const proto = svc.protocol === 17 ? 'udp' : 'tcp';
  if (svc.addr.isV6) {
    t.rips6.push(d.addr.w0, d.addr.w1, d.addr.w2, d.addr.w3, d.port);
    ripMatches.push({ family, proto, saddr: d.addr.toString(), sport: d.port });
    if (fwdm === IP_VS_CONN_F_FULLNAT) for (const a of svc.laddrs) t.laddrs6.set(a.toString(), a);
    return;
  }
  const k = d.addr.w0 * 65536 + d.port;
  if (!t.rips.has(k)) ripMatches.push({ family, proto, saddr: d.addr.toString(), sport: d.port });
  t.rips.add(k);
  t.ripAddrs.add(d.addr.w0);
  if (fwdm === IP_VS_CONN_F_FULLNAT) for (const a of svc.laddrs) t.laddrs.add(a.w0);
}

/** The plan for `services`, and for `trashed` (Rules.trashed()) dests' replies. */
export function planTakes(services: Iterable<Service>, host: Host, parse: (s: string) => Addr | null, trashed: Iterable<Dest> = []): Takes {
  const t: Takes = {
    vips: new Set(),
    rips: new Set(),
    ripAddrs: new Set(),
    laddrs: new Set(),
    vipPorts4: { tcp: new Set(), udp: new Set() },
    vips6: new Map(),
    vipPorts6: [],
    rips6: [],
    laddrs6: new Map(),
    own4: new Set(),
    own6: [],
    matches: [],
    unserved: [],
    dests: [],
  };
  const ripMatches: IngressMatch[] = [];
  for (const svc of services) {
    const why = unservable(svc, host);
    if (why) {
      t.unserved.push({ rule: `-A ${label(svc)}`, reason: why });
      continue;
    }
    const proto = svc.protocol === 17 ? 'udp' : 'tcp';
    const v6 = svc.addr.isV6;
    const family = v6 ? 'ip6' : 'ip';
    if (v6) {
      t.vips6.set(svc.addr.toString(), svc.addr);
      t.vipPorts6.push(svc.addr.w0, svc.addr.w1, svc.addr.w2, svc.addr.w3, svc.port, svc.protocol);
    } else {
      t.vips.add(svc.addr.w0);
      t.vipPorts4[proto].add(svc.addr.w0 * 65536 + svc.port);
    }
    t.matches.push({ family, proto, daddr: svc.addr.toString(), dport: svc.port });
    for (const d of svc.dests) {
      if (d.fwd === IP_VS_CONN_F_FULLNAT && svc.laddrs.length === 0) {
        t.unserved.push({
          rule: `-a ${label(svc)} -r ${d.addr}:${d.port}`,
          reason: 'FULLNAT needs local addresses on its service (tsvsadm -E … --laddr ADDR); conns scheduled to this dest are dropped',
        });
      } else takeReplies(t, ripMatches, svc, d);
      t.dests.push(d.addr);
    }
  }
  // A deleted dest's conns live on until they end (ip_vs_out finds them whatever became of the
  // dest): the engine takes its replies until the trash frees it (RulesListener.destFreed).
  for (const d of trashed) {
    const svc = d.svc;
    if (unservable(svc, host) || (d.fwd === IP_VS_CONN_F_FULLNAT && svc.laddrs.length === 0)) continue;
    takeReplies(t, ripMatches, svc, d);
  }
  // The director's own conns to a dest (health checks, an operator's curl) get their replies,
  // as ip_vs_out accepts a packet that matches no conn: the out-hook takes only replies that are
  // not addressed to the director, except to a FULLNAT local address (those are its conns').
  const ownText: Record<'ip' | 'ip6', string[]> = { ip: [], ip6: [] };
  for (const [text] of host.local) {
    const a = parse(text);
    if (!a) continue;
    if (a.isV6) {
      if (t.laddrs6.has(text)) continue;
      t.own6.push(a);
      ownText.ip6.push(text);
    } else if (!t.laddrs.has(a.w0)) {
      t.own4.add(a.w0);
      ownText.ip.push(text);
    }
  }
  for (const m of ripMatches) {
    const own = ownText[m.family];
    t.matches.push(own.length > 0 ? { ...m, notDaddr: own } : m);
  }
  return t;
}
