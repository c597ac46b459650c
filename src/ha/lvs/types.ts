// What a keepalived.conf says about LVS: virtual servers, their real servers and checkers,
// with every default resolved (docs/spec/ha.md §B.2–B.4). Times are milliseconds.

export type CheckerKind = 'TCP_CHECK' | 'HTTP_GET' | 'SSL_GET' | 'MISC_CHECK' | 'DNS_CHECK';
export type Fwd = 'NAT' | 'DR' | 'TUN';
export type Proto = 'TCP' | 'UDP' | 'SCTP';

export interface Where {
  file: string;
  line: number;
}

export interface HttpUrl {
  path: string;
  /** Accepted status ranges, inclusive; default [[200, 299]]. */
  status: [number, number][];
  digest: string | null;
  virtualhost: string | null;
}

export interface CheckerConf extends Where {
  kind: CheckerKind;
  connectIp: string;
  connectPort: number;
  bindto: string | null;
  bindPort: number | null;
  delayLoopMs: number;
  connectTimeoutMs: number;
  retry: number;
  delayBeforeRetryMs: number;
  alpha: boolean;
  http: { urls: HttpUrl[]; virtualhost: string | null; protocol: '1.0' | '1.0C' | '1.1'; sni: string | null } | null;
  misc: { argv: string[]; timeoutMs: number; dynamic: boolean } | null;
  dns: { name: string; type: string } | null;
}

export interface RealServerConf extends Where {
  addr: string;
  port: number;
  weight: number;
  fwd: Fwd;
  uthreshold: number;
  lthreshold: number;
  inhibitOnFailure: boolean;
  notifyUp: string[] | null;
  notifyDown: string[] | null;
  checkers: CheckerConf[];
}

/** One IPVS service a virtual_server stands for (a group stands for several). */
export interface VsTarget {
  proto: Proto | 'FWM';
  addr: string | null;
  port: number;
  fwmark: number;
  af: 4 | 6;
}

export interface SorryServer {
  addr: string;
  port: number;
  fwd: Fwd;
  inhibit: boolean;
}

export interface VirtualServerConf extends Where {
  /** How the file names it: `10.0.0.1 80`, `fwmark 5`, `group NAME`. */
  name: string;
  targets: VsTarget[];
  sched: string;
  persistenceS: number | null;
  granularity: string | null;
  pe: string | null;
  schedFlags: string[];
  ops: boolean;
  quorum: number;
  hysteresis: number;
  quorumUp: string[] | null;
  quorumDown: string[] | null;
  sorry: SorryServer | null;
  omega: boolean;
  realServers: RealServerConf[];
}

export interface LvsConfig {
  virtualServers: VirtualServerConf[];
}
