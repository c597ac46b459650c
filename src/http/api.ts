// The JSON API (docs/http-api.md is its schema): /api/v1/status is `tsvs status --json` plus
// where the log goes; /api/v1/services is `tsvsadm -L -n --stats --rate` (with weights,
// conns and thresholds); /api/v1/conns is `tsvsadm -L -n -c`. Counters are JSON numbers,
// exact below 2^53 (about 9 PB), as the dashboard needs numbers.

import { label } from '../control/engine.js';
import { IP_VS_DEST_F_OVERLOAD, IP_VS_SVC_F_PERSISTENT } from '../core/constants.js';
import { rates } from '../core/estimator.js';
import type { Dest } from '../core/dest.js';
import type { Service } from '../core/service.js';
import type { Stats } from '../core/stats.js';
import { type DirectorSource, fwdName, hostPort, protocolName, protoName } from './director.js';
import type { DestHealth, VrrpInstance } from './observers.js';

export const API_VERSION = 1;
/** Default and largest `limit` of /api/v1/conns: a listing stays a few MB at most. */
export const CONNS_DEFAULT_LIMIT = 100;
export const CONNS_MAX_LIMIT = 10_000;

export interface StatsJson {
  conns: number;
  inpkts: number;
  outpkts: number;
  inbytes: number;
  outbytes: number;
}

export interface RatesJson {
  cps: number;
  inpps: number;
  outpps: number;
  inbps: number;
  outbps: number;
}

export interface DestJson {
  address: string;
  port: number;
  forward: string;
  weight: number;
  activeConns: number;
  inactConns: number;
  persistConns: number;
  upperThreshold: number;
  lowerThreshold: number;
  overloaded: boolean;
  stats: StatsJson;
  rates: RatesJson;
  /** Present when a health checker reports on this dest. */
  health?: { up: boolean; checker: string; detail?: string };
}

export interface ServiceJson {
  /** The service as `ipvsadm -S -n` names it (`-t 127.0.0.1:8080`). */
  rule: string;
  protocol: string;
  address: string | null;
  port: number;
  fwmark: number;
  family: 'inet' | 'inet6';
  scheduler: string;
  persistent: boolean;
  timeout: number;
  stats: StatsJson;
  rates: RatesJson;
  dests: DestJson[];
}

export interface ServicesJson {
  version: number;
  time: string;
  total: { stats: StatsJson; rates: RatesJson };
  services: ServiceJson[];
}

export function statsJson(s: Stats): StatsJson {
  const v = s.snapshot();
  return {
    conns: Number(v.conns),
    inpkts: Number(v.inpkts),
    outpkts: Number(v.outpkts),
    inbytes: Number(v.inbytes),
    outbytes: Number(v.outbytes),
  };
}

function destJson(d: Dest, health: Map<string, DestHealth>, svcRule: string): DestJson {
  const j: DestJson = {
    address: String(d.addr),
    port: d.port,
    forward: fwdName(d.fwd),
    weight: d.weight,
    activeConns: d.activeConns,
    inactConns: d.inactConns,
    persistConns: d.persistConns,
    upperThreshold: d.uThreshold,
    lowerThreshold: d.lThreshold,
    overloaded: (d.flags & IP_VS_DEST_F_OVERLOAD) !== 0,
    stats: statsJson(d.stats),
    rates: rates(d.stats),
  };
  const h = health.get(`${svcRule} ${hostPort(d.addr, d.port)}`);
  if (h) j.health = h.detail === undefined ? { up: h.up, checker: h.checker } : { up: h.up, checker: h.checker, detail: h.detail };
  return j;
}

export function serviceJson(svc: Service, health: Map<string, DestHealth>): ServiceJson {
  const rule = label(svc);
  return {
    rule,
    protocol: protoName(svc),
    address: svc.fwmark ? null : String(svc.addr),
    port: svc.port,
    fwmark: svc.fwmark,
    family: svc.isIpv4 ? 'inet' : 'inet6',
    scheduler: svc.schedName,
    persistent: (svc.flags & IP_VS_SVC_F_PERSISTENT) !== 0,
    timeout: svc.timeout,
    stats: statsJson(svc.stats),
    rates: rates(svc.stats),
    dests: svc.dests.map((d) => destJson(d, health, rule)),
  };
}

export function servicesJson(d: DirectorSource): ServicesJson {
  const health = new Map<string, DestHealth>();
  for (const h of d.observers.destHealth()) health.set(`${h.service} ${h.dest}`, h);
  const rules = d.ipvs.rules;
  return {
    version: API_VERSION,
    time: new Date().toISOString(),
    total: { stats: statsJson(rules.total), rates: rates(rules.total) },
    services: rules.services().map((s) => serviceJson(s, health)),
  };
}

/** `tsvs status --json` (with `log` and `http`) plus the VRRP instances registered. */
export function statusJson(d: DirectorSource) {
  const vrrp: VrrpInstance[] = d.observers.vrrpInstances();
  return { version: API_VERSION, time: new Date().toISOString(), ...d.status(), vrrp };
}

export interface ConnJson {
  protocol: string;
  client: string;
  virtual: string;
  dest: string;
  /** FULLNAT: the director's local address toward the real server; else null. */
  local: string | null;
  state: string;
  expires: number;
  template: boolean;
  forward: string;
}

export function connsJson(d: Pick<DirectorSource, 'ipvs' | 'now'>, limit: number) {
  const conns: ConnJson[] = [];
  // One more than asked for tells whether the list is cut short.
  let seen = 0;
  d.ipvs.forEachConnFrom(d.now(), 0, limit + 1, (c) => {
    if (++seen > limit) return;
    const fullnat = fwdName(c.fwd) === 'FullNat';
    conns.push({
      protocol: protocolName(c.protocol),
      client: hostPort(c.caddr, c.cport),
      virtual: hostPort(c.vaddr, c.vport),
      dest: hostPort(c.daddr, c.dport),
      local: fullnat ? hostPort(c.laddr, c.lport) : null,
      state: c.state,
      expires: c.expires,
      template: c.template,
      forward: fwdName(c.fwd),
    });
  });
  const truncated = seen > limit;
  // connCount() also counts one-packet conns, which -c does not list.
  const total = Math.max(d.ipvs.connCount(), conns.length);
  return { version: API_VERSION, time: new Date().toISOString(), total, truncated, conns };
}

export type ConnsJson = ReturnType<typeof connsJson>;

/** Parses `limit` of /api/v1/conns: a whole number 1..CONNS_MAX_LIMIT, or an error text. */
export function parseLimit(v: string | null): number | string {
  if (v === null || v === '') return CONNS_DEFAULT_LIMIT;
  if (!/^[0-9]{1,6}$/.test(v)) return `limit=${v}: give a whole number from 1 to ${CONNS_MAX_LIMIT}`;
  const n = Number(v);
  if (n < 1 || n > CONNS_MAX_LIMIT) return `limit=${v}: give a whole number from 1 to ${CONNS_MAX_LIMIT}`;
  return n;
}
