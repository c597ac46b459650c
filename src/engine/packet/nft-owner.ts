// What owns our nftables table. A table created with `flags owner` (kernel >= 5.12,
// NFT_TABLE_F_OWNER) belongs to the netlink socket that created it: only that socket may change
// it, and the kernel deletes it the moment the socket closes. By default the socket is the
// daemon's own, in a libnftables context (src/sys/libnftables.ts): when the daemon ends, however
// it ends (kill -9 included), the kernel closes it and drops the table, so the VIP is the
// kernel's again at once, never a blackhole. Where libnftables cannot be loaded (or with
// TSVS_NFT_OWNER=child) one `nft -i` child holds the socket instead, fed on a pipe: when the
// daemon dies the pipe reaches EOF, nft exits and the table goes the same way, a few
// milliseconds later. docs/packet-engine.md, "Crash safety".

import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { libnftablesError, NftContext } from '../../sys/libnftables.js';

/** A command whose one-line answer marks the end of the previous command's output. */
const SENTINEL_CMD = 'describe ip version';
const SENTINEL_OUT = 'payload expression';
/** How long one change may take before we call the child stuck (nft loads ~1 k rules in ms). */
const APPLY_TIMEOUT_MS = 15_000;

interface Pending {
  resolve: () => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** Who holds the owning socket: this process (libnftables) or an `nft -i` child. */
export type NftOwnerKind = 'libnftables' | 'nft -i';

/** Which owner to use: libnftables unless it cannot load or TSVS_NFT_OWNER=child asks otherwise. */
function chooseKind(env: NodeJS.ProcessEnv): { kind: NftOwnerKind; why: string | null } {
  if (env.TSVS_NFT_OWNER === 'child') return { kind: 'nft -i', why: 'TSVS_NFT_OWNER=child' };
  const err = libnftablesError();
  return err ? { kind: 'nft -i', why: err } : { kind: 'libnftables', why: null };
}

export class NftOwner {
  readonly kind: NftOwnerKind;
  /** Why the child is used instead of libnftables (null with libnftables). */
  readonly fallback: string | null;
  private ctx: NftContext | null = null;
  private child: ChildProcessWithoutNullStreams | null = null;
  /** The child reads each change from a file here (made on the child's first change). */
  private dir: string | null = null;
  private out = '';
  private pending: Pending | null = null;
  private seq = 0;
  private exitReason: string | null = null;

  constructor(env: NodeJS.ProcessEnv = process.env) {
    const c = chooseKind(env);
    this.kind = c.kind;
    this.fallback = c.why;
  }

  /** Runs `script` as one nft transaction through the owning socket; rejects with nft's error. */
  async apply(script: string): Promise<void> {
    if (this.kind === 'libnftables') {
      if (!this.ctx) {
        const c = NftContext.open();
        if (c instanceof Error) throw new Error(`nft: ${c.message}`);
        this.ctx = c;
      }
      return this.ctx.run(script);
    }
    const child = this.ensure();
    this.dir ??= mkdtempSync(join(tmpdir(), 'tsvs-nft-'));
    const file = join(this.dir, `change-${this.seq++ % 2}.nft`);
    writeFileSync(file, script);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = null;
        reject(new Error(`nft: no answer within ${APPLY_TIMEOUT_MS} ms; the owner process is stuck`));
      }, APPLY_TIMEOUT_MS);
      this.pending = { resolve, reject, timer };
      child.stdin.write(`include "${file}"\n${SENTINEL_CMD}\n`);
    });
  }

  /** Closes the owning socket: the kernel deletes every table it owns. Resolves once it has. */
  async close(): Promise<void> {
    const ctx = this.ctx;
    this.ctx = null;
    if (ctx) await ctx.close();
    const child = this.child;
    this.child = null;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.stdin.end();
      await exited;
    }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
  }

  private ensure(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    // stderr joins stdout so that an error is always read before the sentinel that follows it.
    const child = spawn('sh', ['-c', 'exec nft -i 2>&1'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.exitReason = null;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s: string) => this.read(s));
    child.stdin.on('error', () => undefined); // a dead child is reported by 'exit'
    child.on('error', (e) => this.fail(`nft could not be started: ${e.message}; install nftables`));
    child.on('exit', (code, sig) => {
      if (this.child === child) this.child = null;
      const why = this.out.trim() || `exit ${code ?? sig}`;
      this.fail(`nft -i ended (${why}); the table it owned is gone and is re-created on the next change`);
    });
    this.child = child;
    return child;
  }

  private read(s: string): void {
    this.out += s;
    const at = this.out.indexOf(SENTINEL_OUT);
    if (at < 0) return;
    const end = this.out.indexOf('\n', at);
    if (end < 0) return;
    const before = this.out.slice(0, at);
    this.out = this.out.slice(end + 1);
    const p = this.pending;
    this.pending = null;
    if (!p) return;
    clearTimeout(p.timer);
    if (/Error:/.test(before)) p.reject(new Error(`nft: ${before.trim()}`));
    else p.resolve();
  }

  private fail(why: string): void {
    this.exitReason = why;
    const p = this.pending;
    this.pending = null;
    if (p) {
      clearTimeout(p.timer);
      p.reject(new Error(why));
    }
  }

  /** Why the last child ended, for status (null while it runs or before the first change). */
  get lastExit(): string | null {
    return this.exitReason;
  }
}
