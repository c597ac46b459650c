// The master and backup sync daemons: UDP multicast on one interface, as ip_vs_sync.c's sender
// and receiver threads. The master takes the conns the core hands it (Ipvs.setSyncSink), packs
// them into messages and sends them with the kernel's pacing; the backup decodes what arrives
// and applies each conn to the core (Ipvs.applySync).

import dgram from 'node:dgram';
import { networkInterfaces } from 'node:os';
import type { Ipvs } from '../core/ipvs.js';
import type { SyncDaemonConfig } from '../core/rules.js';
import { decodeMessage, SyncEntry, SyncPacker, SyncRxStats } from './codec.js';
import {
  IPVS_SYNC_CHECK_PERIOD_MS,
  IPVS_SYNC_FLUSH_TIME_MS,
  IPVS_SYNC_SEND_DELAY_MS,
  IPVS_SYNC_WAKEUP_RATE,
  SYNC_QLEN_MAX_DEFAULT,
} from './constants.js';

export type SyncLog = (msg: string) => void;

/** The interface's first address of the family, or null (the kernel binds the master to it). */
export function interfaceAddress(ifname: string, v6: boolean): string | null {
  const list = networkInterfaces()[ifname];
  if (!list) return null;
  for (const a of list) {
    if (v6 ? a.family === 'IPv6' : a.family === 'IPv4') return a.address;
  }
  return null;
}

function socketFor(cfg: SyncDaemonConfig): { v6: boolean; group: string } {
  const group = cfg.group.toString();
  return { v6: group.includes(':'), group };
}

/** What a master did since it started. */
export interface SyncMasterStats {
  /** Conns packed into messages. */
  conns: number;
  messages: number;
  bytes: number;
  /** Messages discarded because sync_qlen_max were already waiting. */
  queueDrops: number;
  sendErrors: number;
  lastError: string | null;
}

export class SyncMaster {
  readonly stats: SyncMasterStats = { conns: 0, messages: 0, bytes: 0, queueDrops: 0, sendErrors: 0, lastError: null };
  private sock: dgram.Socket | null = null;
  private readonly queue: Uint8Array[] = [];
  private packer: SyncPacker;
  private readonly entry = new SyncEntry();
  private sendTimer: NodeJS.Timeout | null = null;
  private checkTimer: NodeJS.Timeout | null = null;
  private sending = false;
  qlenMax = SYNC_QLEN_MAX_DEFAULT;

  constructor(
    readonly cfg: SyncDaemonConfig,
    private readonly ipvs: Ipvs,
    private readonly now: () => number,
    private readonly log: SyncLog,
  ) {
    this.packer = this.newPacker();
  }

  private newPacker(): SyncPacker {
    return new SyncPacker(this.cfg.syncid, this.cfg.maxlen, this.ipvs.syncParams.version, (m) => this.enqueue(m));
  }

  /** Opens the socket (bound to the interface's address, connected to group:port), then syncs. */
  async start(): Promise<void> {
    const { v6, group } = socketFor(this.cfg);
    const local = interfaceAddress(this.cfg.ifname, v6);
    if (!v6 && local === null) {
      throw new Error(`sync master: interface ${this.cfg.ifname} has no IPv4 address to send from; add one or give an IPv6 --mcast-group`);
    }
    const sock = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind({ address: v6 ? '::' : (local as string), port: 0 }, () => {
        sock.off('error', reject);
        resolve();
      });
    });
    try {
      sock.setMulticastInterface(v6 ? `::%${this.cfg.ifname}` : (local as string));
      sock.setMulticastTTL(this.cfg.ttl);
      sock.setMulticastLoopback(false);
      // sync_sock_size, read when the daemon starts as the kernel reads it (set_sock_size).
      if (this.ipvs.syncParams.sockSize > 0) sock.setSendBufferSize(this.ipvs.syncParams.sockSize);
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject);
        sock.connect(this.cfg.port, v6 ? `${group}%${this.cfg.ifname}` : group, () => {
          sock.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      sock.close();
      throw new Error(`sync master on ${this.cfg.ifname} to ${group}:${this.cfg.port}: ${(e as Error).message}`);
    }
    sock.on('error', (e) => {
      this.stats.sendErrors++;
      this.stats.lastError = e.message;
    });
    this.sock = sock;
    this.ipvs.setSyncSink((ref) => {
      if (this.packer.version !== this.ipvs.syncParams.version) {
        this.packer.flush(); // a message holds one version
        this.packer = this.newPacker();
      }
      this.ipvs.fillSync(ref, this.entry);
      if (this.packer.add(this.entry, this.now())) this.stats.conns++;
    });
    this.checkTimer = setInterval(() => this.check(), IPVS_SYNC_CHECK_PERIOD_MS);
    this.checkTimer.unref();
  }

  /** A partly filled message leaves once it is IPVS_SYNC_FLUSH_TIME old. */
  private check(): void {
    if (this.packer.pending > 0 && this.now() - this.packer.firstAt >= IPVS_SYNC_FLUSH_TIME_MS) this.packer.flush();
  }

  private enqueue(m: Uint8Array): void {
    if (this.queue.length >= this.qlenMax) {
      this.stats.queueDrops++;
      return;
    }
    this.queue.push(m);
    if (this.queue.length >= IPVS_SYNC_WAKEUP_RATE) {
      if (this.sendTimer) clearTimeout(this.sendTimer);
      this.sendTimer = null;
      setImmediate(() => this.drain());
    } else if (!this.sendTimer) {
      this.sendTimer = setTimeout(() => {
        this.sendTimer = null;
        this.drain();
      }, IPVS_SYNC_SEND_DELAY_MS);
    }
  }

  /** Sends the queue in order, one datagram at a time (the socket's callback paces it). */
  private drain(): void {
    const sock = this.sock;
    if (!sock || this.sending) return;
    const m = this.queue.shift();
    if (!m) return;
    this.sending = true;
    sock.send(m, (err) => {
      this.sending = false;
      if (err) {
        this.stats.sendErrors++;
        this.stats.lastError = err.message;
      } else {
        this.stats.messages++;
        this.stats.bytes += m.length;
      }
      if (this.queue.length > 0) this.drain();
    });
  }

  /** Sends what is packed now (tests and a clean stop would otherwise wait up to 2 s). */
  flush(): void {
    this.packer.flush();
  }

  /** Stops syncing; the queue is discarded as the kernel discards it. */
  stop(): void {
    this.ipvs.setSyncSink(null);
    if (this.sendTimer) clearTimeout(this.sendTimer);
    if (this.checkTimer) clearInterval(this.checkTimer);
    this.sendTimer = this.checkTimer = null;
    this.packer.discard();
    this.queue.length = 0;
    this.sock?.close();
    this.sock = null;
  }
}

export class SyncBackup {
  readonly stats = new SyncRxStats();
  private sock: dgram.Socket | null = null;
  private readonly entry = new SyncEntry();

  constructor(
    readonly cfg: SyncDaemonConfig,
    private readonly ipvs: Ipvs,
    private readonly now: () => number,
    private readonly log: SyncLog,
  ) {}

  /** Binds group:port with SO_REUSEADDR and joins the group on the interface. */
  async start(): Promise<void> {
    const { v6, group } = socketFor(this.cfg);
    const local = v6 ? `::%${this.cfg.ifname}` : interfaceAddress(this.cfg.ifname, false);
    if (local === null) {
      throw new Error(
        `sync backup: interface ${this.cfg.ifname} has no IPv4 address to join ${group} on; add one or give an IPv6 --mcast-group`,
      );
    }
    const sock = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4', reuseAddr: true });
    try {
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject);
        sock.bind({ address: v6 ? `${group}%${this.cfg.ifname}` : group, port: this.cfg.port }, () => {
          sock.off('error', reject);
          resolve();
        });
      });
      sock.addMembership(group, local);
      if (this.ipvs.syncParams.sockSize > 0) sock.setRecvBufferSize(this.ipvs.syncParams.sockSize);
    } catch (e) {
      sock.close();
      throw new Error(`sync backup on ${this.cfg.ifname} for ${group}:${this.cfg.port}: ${(e as Error).message}`);
    }
    sock.on('error', (e) => this.log(`sync backup: ${e.message}`));
    sock.on('message', (msg) => this.receive(msg));
    this.sock = sock;
  }

  /** One received datagram: decoded, each usable conn applied; nothing unused goes uncounted. */
  receive(msg: Uint8Array): void {
    decodeMessage(msg, this.cfg.syncid, this.entry, this.apply, this.stats);
  }

  private readonly apply = (e: SyncEntry): void => {
    if (!this.ipvs.applySync(e, this.now())) this.stats.drops.conn_table_full++;
  };

  stop(): void {
    this.sock?.close();
    this.sock = null;
  }
}
