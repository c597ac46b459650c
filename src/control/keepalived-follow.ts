// The director's view of `tsvs keepalived` in its namespace: the keepalived process serves its
// status on a socket next to the director's (<netns>.keepalived.sock); the director polls it so
// that its own /metrics, JSON API and dashboard show the checkers' verdicts per real server and
// the VRRP instances, as docs/http-api.md promises. The observers answer from the last poll
// (no I/O at scrape time) and show nothing once keepalived is gone or stops answering.

import { existsSync } from 'node:fs';
import { request } from '../cli/client.js';
import { healthOf } from '../ha/health.js';
import type { KeepalivedStatus } from '../ha/status.js';
import type { Observers, VrrpInstance } from '../http/observers.js';

/** The dashboard polls every 2 s; a poll per second keeps it at most one poll behind. */
export const KEEPALIVED_POLL_MS = 1000;
/** The status socket answers from memory: a second without an answer means it is stuck. */
const KEEPALIVED_ANSWER_MS = 1000;
/** A status older than this (three polls missed) is dropped rather than shown as current. */
const KEEPALIVED_STALE_MS = 3 * KEEPALIVED_POLL_MS + KEEPALIVED_ANSWER_MS;

const STATES = new Set(['INIT', 'BACKUP', 'MASTER', 'FAULT']);

/** The VRRP part's instance status (typed loosely in KeepalivedStatus) as the observers want it. */
function vrrpOf(st: KeepalivedStatus): VrrpInstance[] {
  const out: VrrpInstance[] = [];
  for (const raw of st.vrrpInstances) {
    const v = raw as Record<string, unknown>;
    if (typeof v.name !== 'string' || typeof v.state !== 'string' || !STATES.has(v.state) || typeof v.priority !== 'number') continue;
    out.push({
      name: v.name,
      state: v.state as VrrpInstance['state'],
      priority: v.priority,
      vrid: typeof v.vrid === 'number' ? v.vrid : 0,
      interface: typeof v.interface === 'string' ? v.interface : '',
    });
  }
  return out;
}

export class KeepalivedFollow {
  private last: KeepalivedStatus | null = null;
  private lastAt = 0;
  private inFlight = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly off: (() => void)[] = [];

  constructor(
    private readonly socket: string,
    observers: Observers,
  ) {
    this.off.push(observers.addHealth({ destHealth: () => (this.current() ? healthOf(this.current()!) : []) }));
    this.off.push(observers.addVrrp({ vrrpInstances: () => (this.current() ? vrrpOf(this.current()!) : []) }));
  }

  start(): void {
    this.timer = setInterval(() => this.poll(), KEEPALIVED_POLL_MS);
    this.timer.unref();
    this.poll();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const f of this.off.splice(0)) f();
  }

  private current(): KeepalivedStatus | null {
    if (this.last && Date.now() - this.lastAt > KEEPALIVED_STALE_MS) this.last = null;
    return this.last;
  }

  private poll(): void {
    if (this.inFlight) return;
    if (!existsSync(this.socket)) {
      this.last = null;
      return;
    }
    this.inFlight = true;
    request<KeepalivedStatus>(this.socket, { op: 'status' }, KEEPALIVED_ANSWER_MS)
      .then((st) => {
        if (st && Array.isArray(st.virtualServers) && Array.isArray(st.vrrpInstances)) {
          this.last = st;
          this.lastAt = Date.now();
        }
      })
      .catch(() => {
        this.last = null;
      })
      .finally(() => {
        this.inFlight = false;
      });
  }
}
