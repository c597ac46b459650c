// Runs the sync daemons the rules ask for: `--start-daemon` stores a config in the core's
// Rules (with ipvsadm's validation and messages); after each command the director calls
// follow(), which starts or stops the master and backup to match.

import type { Ipvs } from '../core/ipvs.js';
import type { SyncDaemonConfig } from '../core/rules.js';
import { SYNC_DROP_REASONS } from './codec.js';
import { type SyncLog, SyncBackup, SyncMaster, type SyncMasterStats } from './daemon.js';

export interface SyncDaemonStatus {
  state: 'master' | 'backup';
  ifname: string;
  syncid: number;
  group: string;
  port: number;
  /** Running, or why not (the socket could not be opened). */
  running: boolean;
  error: string | null;
  master?: SyncMasterStats;
  backup?: {
    messages: number;
    entries: number;
    otherSyncid: number;
    drops: Record<string, number>;
    created: number;
    updated: number;
    unbound: number;
  };
}

function sameConfig(a: SyncDaemonConfig, b: SyncDaemonConfig): boolean {
  return (
    a.ifname === b.ifname &&
    a.syncid === b.syncid &&
    a.maxlen === b.maxlen &&
    a.group.equals(b.group) &&
    a.port === b.port &&
    a.ttl === b.ttl
  );
}

export class SyncDaemons {
  private master: SyncMaster | null = null;
  private backup: SyncBackup | null = null;
  private readonly errors: { master: string | null; backup: string | null } = { master: null, backup: null };
  private readonly configs: { master: SyncDaemonConfig | null; backup: SyncDaemonConfig | null } = {
    master: null,
    backup: null,
  };

  constructor(
    private readonly ipvs: Ipvs,
    private readonly now: () => number,
    private readonly log: SyncLog,
  ) {}

  /** Brings the running daemons in line with the rules' master and backup configs. */
  async follow(): Promise<void> {
    await this.followOne('master');
    await this.followOne('backup');
  }

  private async followOne(state: 'master' | 'backup'): Promise<void> {
    const want = this.ipvs.rules[state];
    const have = this.configs[state];
    if (want && have && sameConfig(want, have)) return;
    if (have) {
      if (state === 'master') this.master?.stop();
      else this.backup?.stop();
      this.master = state === 'master' ? null : this.master;
      this.backup = state === 'backup' ? null : this.backup;
      this.configs[state] = null;
      this.errors[state] = null;
      this.log(`sync ${state} daemon stopped`);
    }
    if (!want) return;
    this.configs[state] = want;
    const d =
      state === 'master' ? new SyncMaster(want, this.ipvs, this.now, this.log) : new SyncBackup(want, this.ipvs, this.now, this.log);
    try {
      await d.start();
      if (d instanceof SyncMaster) this.master = d;
      else this.backup = d;
      this.errors[state] = null;
      this.log(`sync ${state} daemon on ${want.ifname} (syncid ${want.syncid}, group ${want.group.toString()}:${want.port})`);
    } catch (e) {
      this.errors[state] = (e as Error).message;
      this.log(`sync ${state} daemon not running: ${(e as Error).message}`);
    }
  }

  /** Sends what the master has packed, now (a clean stop; tests). */
  flush(): void {
    this.master?.flush();
  }

  status(): SyncDaemonStatus[] {
    const out: SyncDaemonStatus[] = [];
    for (const state of ['master', 'backup'] as const) {
      const cfg = this.configs[state];
      if (!cfg) continue;
      const s: SyncDaemonStatus = {
        state,
        ifname: cfg.ifname,
        syncid: cfg.syncid,
        group: cfg.group.toString(),
        port: cfg.port,
        running: (state === 'master' ? this.master : this.backup) !== null,
        error: this.errors[state],
      };
      if (state === 'master' && this.master) s.master = { ...this.master.stats };
      if (state === 'backup' && this.backup) {
        const rx = this.backup.stats;
        const a = this.ipvs.syncStats;
        s.backup = {
          messages: rx.messages,
          entries: rx.entries,
          otherSyncid: rx.otherSyncid,
          drops: Object.fromEntries(SYNC_DROP_REASONS.filter((r) => rx.drops[r] > 0).map((r) => [r, rx.drops[r]])),
          created: a.created,
          updated: a.updated,
          unbound: a.unbound,
        };
      }
      out.push(s);
    }
    return out;
  }

  stop(): void {
    this.master?.stop();
    this.backup?.stop();
    this.master = this.backup = null;
  }
}
