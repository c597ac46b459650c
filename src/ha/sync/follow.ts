// keepalived's `lvs_sync_daemon IF [[inst] INSTANCE] [id N] [maxlen N] [port N] [ttl N] [group ADDR]`
// (global_defs): the VRRP master of INSTANCE runs the IPVS master sync daemon, a backup (or
// faulty) one the backup daemon, switched on each transition; without an instance both run.
// The id defaults to the instance's virtual_router_id (0 without one). The daemons are started
// and stopped through the director's control path, as `tsvsadm --start-daemon` would.

import type { ConfMessage, ConfNode } from '../conf/node.js';
import type { AdmSink } from '../lvs/manager.js';

export interface SyncDaemonConf {
  ifname: string;
  instance: string | null;
  id: number;
  maxlen: number | null;
  port: number | null;
  ttl: number | null;
  group: string | null;
  file: string;
  line: number;
}

const NUM_OPTS: Record<string, [min: number, max: number]> = {
  id: [0, 255],
  maxlen: [1, 65507],
  port: [1, 65535],
  ttl: [1, 255],
};

/** Reads `lvs_sync_daemon` from global_defs; errors name file:line. */
export function syncDaemonFromConf(nodes: ConfNode[]): { conf: SyncDaemonConf | null; errors: ConfMessage[] } {
  const errors: ConfMessage[] = [];
  let conf: SyncDaemonConf | null = null;
  for (const g of nodes.filter((n) => n.keyword === 'global_defs')) {
    for (const n of g.children.filter((c) => c.keyword === 'lvs_sync_daemon')) {
      const err = (text: string) => errors.push({ file: n.file, line: n.line, text });
      const a = [...n.args];
      const ifname = a.shift();
      if (!ifname) {
        err('lvs_sync_daemon needs an interface');
        continue;
      }
      const c: SyncDaemonConf = {
        ifname,
        instance: null,
        id: -1,
        maxlen: null,
        port: null,
        ttl: null,
        group: null,
        file: n.file,
        line: n.line,
      };
      while (a.length) {
        const k = a.shift()!;
        if (k === 'inst') c.instance = a.shift() ?? null;
        else if (k in NUM_OPTS) {
          const v = a.shift() ?? '';
          const [min, max] = NUM_OPTS[k]!;
          const x = Number(v);
          if (!/^\d+$/.test(v) || x < min || x > max) err(`lvs_sync_daemon ${k} ${v}: give ${min} to ${max}`);
          else if (k === 'id') c.id = x;
          else if (k === 'maxlen') c.maxlen = x;
          else if (k === 'port') c.port = x;
          else c.ttl = x;
        } else if (k === 'group') c.group = a.shift() ?? null;
        else if (c.instance === null) c.instance = k;
        else err(`lvs_sync_daemon: unknown option ${k}`);
      }
      if (c.id < 0) c.id = c.instance ? vrid(nodes, c.instance) : 0;
      if (c.instance && !nodes.some((x) => x.keyword === 'vrrp_instance' && x.args[0] === c.instance)) {
        err(`lvs_sync_daemon: no vrrp_instance ${c.instance}`);
      }
      conf = c;
    }
  }
  return { conf, errors };
}

function vrid(nodes: ConfNode[], instance: string): number {
  const inst = nodes.find((x) => x.keyword === 'vrrp_instance' && x.args[0] === instance);
  const v = Number(inst?.children.find((c) => c.keyword === 'virtual_router_id')?.args[0]);
  return Number.isInteger(v) && v >= 0 && v <= 255 ? v : 0;
}

type Role = 'master' | 'backup';

/** Starts and stops the director's sync daemons to follow one VRRP instance's state. */
export class SyncFollower {
  private running = new Set<Role>();
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly sink: AdmSink,
    private readonly log: (level: 'info' | 'warn' | 'error', msg: string) => void,
  ) {}

  private args(c: SyncDaemonConf, role: Role): string[] {
    const a = ['--start-daemon', role, '--mcast-interface', c.ifname, '--syncid', String(c.id)];
    if (c.maxlen !== null) a.push('--sync-maxlen', String(c.maxlen));
    if (c.group !== null) a.push('--mcast-group', c.group);
    if (c.port !== null) a.push('--mcast-port', String(c.port));
    if (c.ttl !== null) a.push('--mcast-ttl', String(c.ttl));
    return a;
  }

  /** The roles wanted for an instance state (null: no instance, both run). */
  static wanted(state: string | null): Role[] {
    if (state === null) return ['master', 'backup'];
    return state === 'MASTER' ? ['master'] : ['backup'];
  }

  /** Brings the director's daemons to `roles` (stops first, as keepalived does). */
  follow(c: SyncDaemonConf, roles: Role[]): Promise<void> {
    const run = async () => {
      for (const r of [...this.running]) {
        if (roles.includes(r)) continue;
        const out = await this.sink.run(['--stop-daemon', r]);
        if (out.code !== 0) this.log('warn', `lvs_sync_daemon: stopping the ${r} sync daemon: ${out.stderr.trim()}`);
        this.running.delete(r);
      }
      for (const r of roles) {
        if (this.running.has(r)) continue;
        const out = await this.sink.run(this.args(c, r));
        if (out.code !== 0) this.log('error', `lvs_sync_daemon: starting the ${r} sync daemon on ${c.ifname}: ${out.stderr.trim()}`);
        else {
          this.running.add(r);
          this.log('info', `lvs_sync_daemon: ${r} sync daemon on ${c.ifname} (syncid ${c.id})`);
        }
      }
    };
    this.chain = this.chain.then(run, run);
    return this.chain;
  }

  /** Stops what it started (keepalived's shutdown). */
  stop(c: SyncDaemonConf): Promise<void> {
    return this.follow(c, []);
  }
}
