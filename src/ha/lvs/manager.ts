// Drives the director's rules from the virtual servers' health, as keepalived's checker
// process drives IPVS (docs/spec/ha.md §B.5): one VsState per virtual_server, its checkers, and the
// table last applied; every change is applied as the difference from that table.
import { Checker, type CheckerStatus } from '../check/checker.js';
import { MAX_CONCURRENT_CHECKS, START_SPREAD_MS } from '../check/constants.js';
import { driverNote } from '../check/driver/select.js';
import { Limiter } from '../check/limiter.js';
import type { HaLog } from '../log.js';
import { runScript } from './scripts.js';
import { isAlive, rsKey, VsState, type VsEvent } from './state.js';
import { diffTables, svcRules, type Table } from './table.js';
import type { LvsConfig, VirtualServerConf } from './types.js';

/** Runs one tsvsadm command on the director (src/ha/director.ts; tests use an in-process one). */
export interface AdmSink {
  run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
}

export interface RealServerStatus {
  rs: string;
  weight: number;
  alive: boolean;
  inRules: boolean;
  checkers: CheckerStatus[];
}

export interface VirtualServerStatus {
  name: string;
  services: string[];
  quorumUp: boolean;
  sorryServerActive: boolean;
  realServers: RealServerStatus[];
}

interface Vs {
  state: VsState;
  checkers: Checker[][];
}

const vsIdentity = (c: VirtualServerConf): string => c.targets.map((t) => `${t.proto} ${t.addr ?? t.fwmark} ${t.port} ${t.af}`).join(',');

export class LvsManager {
  private vss: Vs[] = [];
  private applied: Table = new Map();
  private queue: Promise<void> = Promise.resolve();
  private readonly limiter = new Limiter(MAX_CONCURRENT_CHECKS);

  constructor(
    private readonly sink: AdmSink,
    private readonly log: HaLog,
    private readonly now: () => number = Date.now,
  ) {}

  /** Installs `config` (first start or reload): real servers that stay keep their state. */
  async apply(config: LvsConfig): Promise<void> {
    const old = new Map(this.vss.map((v) => [vsIdentity(v.state.conf), v]));
    for (const v of this.vss) for (const cs of v.checkers) for (const k of cs) k.stop();
    const first = this.vss.length === 0 && this.applied.size === 0;
    if (first) this.log('info', driverNote());
    this.vss = config.virtualServers.map((conf) => {
      const prev = old.get(vsIdentity(conf))?.state;
      return { state: new VsState(conf, prev), checkers: [] };
    });
    await this.sync(first ? 'start' : 'reload');
    let n = 0;
    const total = this.vss.reduce((s, v) => s + v.state.rs.reduce((t, r) => t + r.conf.checkers.length, 0), 0);
    this.vss.forEach((v, vi) => {
      v.checkers = v.state.rs.map((r, ri) =>
        r.conf.checkers.map((conf, ci) => {
          const k = new Checker(conf, r.checkerUp[ci] as boolean, this.limiter, this.now, (up, res) => {
            const st = this.vss[vi]?.state;
            if (!st || this.vss[vi] !== v) return;
            const ev = st.setChecker(ri, ci, up);
            if (res.weight !== undefined || (!up && conf.misc?.dynamic)) ev.push(...st.setDynWeight(ri, up ? (res.weight ?? null) : null));
            this.log(
              up ? 'info' : 'warn',
              `${conf.kind} on ${rsKey(conf.connectIp, conf.connectPort)} ${up ? 'succeeded' : 'failed'}: ${res.detail}`,
            );
            this.handle(st, ev);
          });
          // Spread first checks so that a thousand checkers do not fire in the same tick.
          k.start(total > 1 ? Math.floor((n++ * Math.min(START_SPREAD_MS, conf.delayLoopMs)) / total) : 0);
          return k;
        }),
      );
    });
  }

  /** keepalived's shutdown: checkers stop; the services it created are removed (§B.5). */
  async shutdown(): Promise<void> {
    for (const v of this.vss) {
      for (const cs of v.checkers) for (const k of cs) k.stop();
      if (v.state.conf.omega) {
        runScript(v.state.conf.quorumDown, this.log, 'quorum_down (omega)');
        for (const r of v.state.rs) if (isAlive(r)) runScript(r.conf.notifyDown, this.log, 'notify_down (omega)');
      }
    }
    this.vss = [];
    await this.sync('shutdown');
  }

  status(): VirtualServerStatus[] {
    return this.vss.map((v) => {
      const wanted = v.state.wanted();
      const sorry = v.state.conf.sorry;
      return {
        name: v.state.conf.name,
        services: [...svcRules(v.state.conf, wanted)].map((s) => s.key),
        quorumUp: v.state.quorumUp,
        sorryServerActive: sorry !== null && !v.state.quorumUp,
        realServers: v.state.rs.map((r, i) => ({
          rs: rsKey(r.conf.addr, r.conf.port),
          weight: r.dynWeight ?? r.conf.weight,
          alive: isAlive(r),
          inRules: (wanted.get(rsKey(r.conf.addr, r.conf.port))?.weight ?? 0) > 0,
          checkers: (v.checkers[i] ?? []).map((k) => k.status()),
        })),
      };
    });
  }

  /** Waits until every rule change queued so far is applied (tests, shutdown). */
  settled(): Promise<void> {
    return this.queue;
  }

  /** Logs and scripts for `events`, then the rules (a misc_dynamic weight has no event). */
  private handle(st: VsState, events: VsEvent[]): void {
    for (const e of events) {
      const name = st.conf.name;
      if ('rs' in e) {
        this.log('info', `virtual_server ${name}: real server ${rsKey(e.rs.addr, e.rs.port)} is ${e.kind === 'rs-up' ? 'up' : 'down'}`);
        runScript(e.kind === 'rs-up' ? e.rs.notifyUp : e.rs.notifyDown, this.log, e.kind === 'rs-up' ? 'notify_up' : 'notify_down');
      } else {
        this.log(
          e.kind === 'quorum-up' ? 'info' : 'warn',
          `virtual_server ${name}: quorum ${e.kind === 'quorum-up' ? 'gained' : 'lost'} (alive weight ${e.sum}, quorum ${st.conf.quorum})`,
        );
        runScript(e.kind === 'quorum-up' ? st.conf.quorumUp : st.conf.quorumDown, this.log, e.kind);
      }
    }
    void this.sync('change');
  }

  private wantedTable(): Table {
    const t: Table = new Map();
    for (const v of this.vss) for (const s of svcRules(v.state.conf, v.state.wanted())) t.set(s.key, s);
    return t;
  }

  /** Queues one application of the difference between the applied and the wanted table. */
  private sync(why: string): Promise<void> {
    this.queue = this.queue.then(async () => {
      const want = this.wantedTable();
      for (const argv of diffTables(this.applied, want)) {
        let r = await this.sink.run(argv);
        // A rule left by an earlier run (killed keepalived): take it over, as -E / -e.
        if (r.code !== 0 && /already exists/i.test(r.stderr) && (argv[0] === '-A' || argv[0] === '-a')) {
          r = await this.sink.run([argv[0] === '-A' ? '-E' : '-e', ...argv.slice(1)]);
        }
        if (r.code !== 0) this.log('error', `${why}: ipvsadm ${argv.join(' ')} failed: ${r.stderr.trim() || `exit ${r.code}`}`);
        else this.log('debug', `${why}: ipvsadm ${argv.join(' ')}`);
      }
      this.applied = want;
    });
    return this.queue;
  }
}
