// `tsvs realserver check`: diagnose a real server for a forwarding mode. Each condition is
// reported as PASS or FAIL with the value found and, on FAIL, the exact command that fixes it.
// The kernel applies max(all, <iface>) for arp_ignore, arp_announce and rp_filter, so the
// effective value is checked per interface.

import { existsSync } from 'node:fs';
import { Addr } from '../core/inet.js';
import { readDecapCounters } from './decap-process.js';
import { addresses, interfaces, ip, readSysctl, routes } from './sys.js';

export type CheckMode = 'dr' | 'tun' | 'nat';

export interface CheckResult {
  ok: boolean;
  what: string;
  found: string;
  fix?: string;
}

async function effective(name: string, dev: string): Promise<number> {
  const all = Number((await readSysctl(`net.ipv4.conf.all.${name}`)) ?? '0');
  const own = Number((await readSysctl(`net.ipv4.conf.${dev}.${name}`)) ?? '0');
  return Math.max(all, own);
}

/** The kernel modules that decapsulate VS/TUN packets, where loaded. */
export function kernelTunnels(): string[] {
  return ['ipip', 'ip_gre', 'fou', 'ip6_tunnel', 'sit', 'ip6_gre'].filter((m) => existsSync(`/sys/module/${m}`));
}

/** `runDir`: the agent's run directory, to find its tunnel agent. */
export async function checkRealserver(vip: Addr, mode: CheckMode, dev = 'lo', dip?: Addr, runDir?: string): Promise<CheckResult[]> {
  const res: CheckResult[] = [];
  const p = vip.isV6 ? 128 : 32;
  const addrs = await addresses();
  const ifaces = (await interfaces()).filter((i) => i !== 'lo');

  if (mode === 'dr' || mode === 'tun') {
    const onDev = addrs.find((a) => a.ifname === dev && Addr.parse(a.local)?.equals(vip));
    res.push({
      ok: onDev !== undefined && onDev.prefixlen === p,
      what: `VIP ${vip}/${p} on ${dev}`,
      found: onDev ? `${onDev.local}/${onDev.prefixlen} on ${dev}` : `not on ${dev}`,
      fix: onDev
        ? `ip addr del ${vip}/${onDev.prefixlen} dev ${dev} && ip addr add ${vip}/${p} dev ${dev}`
        : `ip addr add ${vip}/${p} dev ${dev}`,
    });
    const elsewhere = addrs.filter((a) => a.ifname !== dev && Addr.parse(a.local)?.equals(vip));
    for (const a of elsewhere) {
      res.push({
        ok: false,
        what: `VIP only on ${dev}`,
        found: `${a.local}/${a.prefixlen} also on ${a.ifname}: it would answer ARP for the VIP`,
        fix: `ip addr del ${a.local}/${a.prefixlen} dev ${a.ifname}`,
      });
    }
    if (!vip.isV6) {
      for (const i of ifaces) {
        const ig = await effective('arp_ignore', i);
        res.push({
          ok: ig >= 1,
          what: `arp_ignore on ${i} >= 1 (do not answer ARP for the VIP)`,
          found: String(ig),
          fix: 'sysctl -w net.ipv4.conf.all.arp_ignore=1',
        });
        const an = await effective('arp_announce', i);
        res.push({
          ok: an >= 2,
          what: `arp_announce on ${i} = 2 (never announce the VIP as ARP source)`,
          found: String(an),
          fix: 'sysctl -w net.ipv4.conf.all.arp_announce=2',
        });
      }
    }
  }

  if ((mode === 'dr' || mode === 'tun') && vip.isV6) {
    // IPv6 has no arp_ignore: Linux answers a neighbour solicitation only for addresses of the
    // interface it arrived on, so a VIP on lo stays silent unless NDP proxying speaks for it.
    for (const i of ifaces) {
      const px = Number((await readSysctl(`net.ipv6.conf.${i}.proxy_ndp`)) ?? '0');
      if (px === 0) continue;
      const entries = await ip(['-6', 'neigh', 'show', 'proxy', 'dev', i]).catch(() => '');
      const speaks = entries.split('\n').some((l) => Addr.parse(l.split(' ')[0] ?? '')?.equals(vip) === true);
      res.push({
        ok: !speaks,
        what: `no NDP proxy for the VIP on ${i} (it would answer solicitations for it)`,
        found: speaks ? `proxy_ndp=${px} with a proxy entry for ${vip}` : `proxy_ndp=${px}, no entry for ${vip}`,
        fix: `ip -6 neigh del proxy ${vip} dev ${i}`,
      });
    }
  }

  if (mode === 'tun') {
    const agent = runDir ? await readDecapCounters(runDir) : null;
    const kernel = kernelTunnels();
    res.push({
      ok: agent !== null || kernel.length > 0,
      what: 'tunnel decapsulation',
      found: agent
        ? `in user space by the tsvs agent (${agent.tunnel}${agent.port ? ` on udp port ${agent.port}` : ''}; ${agent.delivered} delivered)`
        : kernel.length
          ? `by the kernel (${kernel.join(', ')} loaded)`
          : "nothing unwraps the director's packets: no ipip, sit, ip6_tunnel, ip_gre or fou kernel module, no tsvs tunnel agent",
      fix: `tsvs realserver start --vip ${vip} --tunnel ipip   (or gue/gre, as the director's --tun-type)`,
    });
    for (const i of vip.isV6 ? [] : ifaces) {
      const rp = await effective('rp_filter', i);
      res.push({
        ok: rp !== 1,
        what: `rp_filter on ${i} not strict (tunnelled requests come from any client)`,
        found: String(rp),
        fix: `sysctl -w net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.${i}.rp_filter=0`,
      });
    }
  }

  if (mode === 'nat') {
    const rs = await routes(vip.isV6 ? 6 : 4);
    const def = rs.find((r) => r.dst === 'default');
    const gw = def?.gateway;
    if (dip) {
      res.push({
        ok: gw !== undefined && Addr.parse(gw)?.equals(dip) === true,
        what: `default gateway is the director (${dip}): replies must go back through it`,
        found: gw ?? 'no default route',
        fix: `ip route replace default via ${dip}`,
      });
    } else {
      res.push({
        ok: gw !== undefined,
        what: 'a default gateway (it must be the director DIP; pass --dip to check it)',
        found: gw ?? 'no default route',
        fix: 'ip route replace default via <DIP>',
      });
    }
  }
  for (const r of res) if (r.ok) r.fix = undefined;
  return res;
}

/**
 * PASS/FAIL lines, each FAIL with its fix; a fix already printed (one sysctl for every
 * interface, one per VIP checked) is not printed again. `shown`: the fixes printed so far.
 */
export function formatCheck(results: CheckResult[], shown = new Set<string>()): string {
  let out = '';
  for (const r of results) {
    if (r.ok) {
      out += `PASS  ${r.what}: ${r.found}\n`;
      continue;
    }
    out += `FAIL  ${r.what}: ${r.found}\n`;
    if (r.fix && shown.has(r.fix)) out += '      fix: the same as above\n';
    else if (r.fix) {
      shown.add(r.fix);
      out += `      fix: ${r.fix}\n`;
    }
  }
  return out;
}
