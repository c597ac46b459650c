// A virtual server's health state and the dests it wants in IPVS (docs/spec/ha.md §B.5). Pure: the
// checkers report results in, the rules to install come out; time and I/O are elsewhere.
import type { RealServerConf, VirtualServerConf } from './types.js';

export interface RsState {
  conf: RealServerConf;
  /** One flag per checker; the RS is alive only when all are up (none = always alive). */
  checkerUp: boolean[];
  /** Weight set by misc_dynamic, or null for the configured one. */
  dynWeight: number | null;
}

/** What changed for the operator's scripts and logs. */
export type VsEvent = { kind: 'rs-up' | 'rs-down'; rs: RealServerConf } | { kind: 'quorum-up' | 'quorum-down'; sum: number };

export function rsKey(addr: string, port: number): string {
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

export const isAlive = (r: RsState): boolean => r.checkerUp.every(Boolean);
const weightOf = (r: RsState): number => r.dynWeight ?? r.conf.weight;

export interface WantedDest {
  rs: string;
  addr: string;
  port: number;
  fwd: RealServerConf['fwd'];
  weight: number;
  uthreshold: number;
  lthreshold: number;
}

export class VsState {
  readonly rs: RsState[];
  quorumUp: boolean;

  /** `previous` carries the state of real servers that stay across a reload (§B.5 Reload). */
  constructor(
    readonly conf: VirtualServerConf,
    previous?: VsState,
  ) {
    this.rs = conf.realServers.map((c) => {
      const old = previous?.rs.find((o) => o.conf.addr === c.addr && o.conf.port === c.port);
      const checkerUp = c.checkers.map((k, i) => (old && old.conf.checkers[i]?.kind === k.kind ? (old.checkerUp[i] as boolean) : !k.alpha));
      return { conf: c, checkerUp, dynWeight: old?.dynWeight ?? null };
    });
    this.quorumUp = previous ? previous.quorumUp : this.sum() >= conf.quorum && this.sum() > 0;
    if (previous) this.evalQuorum();
  }

  /** Σ weight of alive real servers. */
  sum(): number {
    let s = 0;
    for (const r of this.rs) if (isAlive(r)) s += weightOf(r);
    return s;
  }

  /** A checker's verdict; returns the events it caused (none when nothing changed). */
  setChecker(rsIndex: number, checkerIndex: number, up: boolean): VsEvent[] {
    const r = this.rs[rsIndex];
    if (!r || r.checkerUp[checkerIndex] === up) return [];
    const was = isAlive(r);
    r.checkerUp[checkerIndex] = up;
    const now = isAlive(r);
    const out: VsEvent[] = [];
    if (was !== now) out.push({ kind: now ? 'rs-up' : 'rs-down', rs: r.conf });
    return out.concat(this.evalQuorum());
  }

  /** misc_dynamic: exit code 2..255 sets the weight to code − 2 (§B.4). */
  setDynWeight(rsIndex: number, weight: number | null): VsEvent[] {
    const r = this.rs[rsIndex];
    if (!r || r.dynWeight === weight) return [];
    r.dynWeight = weight;
    return this.evalQuorum();
  }

  private evalQuorum(): VsEvent[] {
    const sum = this.sum();
    const { quorum, hysteresis } = this.conf;
    if (this.quorumUp && (sum === 0 || sum < quorum - hysteresis)) {
      this.quorumUp = false;
      return [{ kind: 'quorum-down', sum }];
    }
    if (!this.quorumUp && sum >= quorum + hysteresis && sum > 0) {
      this.quorumUp = true;
      return [{ kind: 'quorum-up', sum }];
    }
    return [];
  }

  /** The dests IPVS should hold for this virtual server now, keyed by `addr:port`. */
  wanted(): Map<string, WantedDest> {
    const out = new Map<string, WantedDest>();
    const sorry = this.conf.sorry;
    const sorryActive = sorry !== null && !this.quorumUp;
    for (const r of this.rs) {
      const alive = isAlive(r) && !sorryActive;
      if (!alive && !r.conf.inhibitOnFailure) continue;
      const c = r.conf;
      out.set(rsKey(c.addr, c.port), {
        rs: rsKey(c.addr, c.port),
        addr: c.addr,
        port: c.port,
        fwd: c.fwd,
        weight: alive ? weightOf(r) : 0,
        uthreshold: c.uthreshold,
        lthreshold: c.lthreshold,
      });
    }
    if (sorry && (sorryActive || sorry.inhibit)) {
      const k = rsKey(sorry.addr, sorry.port);
      if (!out.has(k)) {
        out.set(k, {
          rs: k,
          addr: sorry.addr,
          port: sorry.port,
          fwd: sorry.fwd,
          weight: sorryActive ? 1 : 0,
          uthreshold: 0,
          lthreshold: 0,
        });
      }
    }
    return out;
  }
}
