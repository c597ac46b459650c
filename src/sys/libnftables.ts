// libnftables (the library behind `nft`, Debian's libnftables1) through koffi: nft's own rule
// language, run on a netlink socket that lives in this process. A context opens its socket once
// and keeps it until freed, so a table created with `flags owner` through it belongs to this
// process: only this context may change it, and the kernel deletes it when the process ends,
// however it ends (docs/packet-engine.md, "Crash safety").

import { createRequire } from 'node:module';

type KoffiFn = ((...args: unknown[]) => unknown) & {
  async(...args: unknown[]): void;
};
interface Koffi {
  load(name: string): { func(sig: string): KoffiFn };
}

/** The soname Debian's libnftables1 installs (the `nft` binary links it). */
const SONAME = 'libnftables.so.1';
/** nft_ctx_new's flags: NFT_CTX_DEFAULT. */
const NFT_CTX_DEFAULT = 0;

interface Fns {
  ctxNew: KoffiFn;
  ctxFree: KoffiFn;
  bufferOutput: KoffiFn;
  bufferError: KoffiFn;
  errorBuffer: KoffiFn;
  run: KoffiFn;
  /** glibc's malloc_trim, or null where the C library has none (musl). */
  trim: KoffiFn | null;
}

/** malloc_trim's pad: keep nothing spare at the top of the main heap. */
const TRIM_PAD = 0;

/** glibc's malloc_trim(3), if this C library has it. */
function mallocTrim(koffi: Koffi): KoffiFn | null {
  try {
    return koffi.load('libc.so.6').func('int malloc_trim(size_t pad)');
  } catch {
    return null;
  }
}

let fns: Fns | null = null;
let loadError: string | null = null;

function load(): Fns | null {
  if (fns || loadError) return fns;
  try {
    const koffi = createRequire(import.meta.url)('koffi') as Koffi;
    const lib = koffi.load(SONAME);
    fns = {
      ctxNew: lib.func('void *nft_ctx_new(uint32_t flags)'),
      ctxFree: lib.func('void nft_ctx_free(void *ctx)'),
      bufferOutput: lib.func('int nft_ctx_buffer_output(void *ctx)'),
      bufferError: lib.func('int nft_ctx_buffer_error(void *ctx)'),
      errorBuffer: lib.func('const char *nft_ctx_get_error_buffer(void *ctx)'),
      run: lib.func('int nft_run_cmd_from_buffer(void *ctx, const char *buf)'),
      trim: mallocTrim(koffi),
    };
  } catch (e) {
    loadError = `${SONAME} could not be loaded (${(e as Error).message}); install Debian's libnftables1`;
  }
  return fns;
}

/** Why libnftables is unavailable, or null when it loads. */
export function libnftablesError(): string | null {
  load();
  return loadError;
}

/** One nft context: its netlink socket, and so the tables it owns, live until close(). */
export class NftContext {
  private ctx: unknown;
  /** Commands run one at a time, off the event loop (a large table takes milliseconds). */
  private queue: Promise<void> = Promise.resolve();
  /** Commands queued or running; the heap is trimmed when the last one ends. */
  private pending = 0;

  private constructor(
    private readonly f: Fns,
    ctx: unknown,
  ) {
    this.ctx = ctx;
  }

  /** A new context, or an Error that says why there is none. */
  static open(): NftContext | Error {
    const f = load();
    if (!f) return new Error(loadError ?? `${SONAME}: not loaded`);
    const ctx = f.ctxNew(NFT_CTX_DEFAULT);
    if (!ctx) return new Error('nft_ctx_new failed (out of memory?)');
    // Buffered, so that output and errors are returned to us instead of printed on our stdio.
    if ((f.bufferOutput(ctx) as number) !== 0 || (f.bufferError(ctx) as number) !== 0) {
      f.ctxFree(ctx);
      return new Error('nft_ctx_buffer_output/error failed');
    }
    return new NftContext(f, ctx);
  }

  /** Runs `script` as one nft transaction; rejects with nft's own error text. */
  run(script: string): Promise<void> {
    const next = this.queue.then(
      () =>
        new Promise<void>((resolve, reject) => {
          if (this.ctx === null) return reject(new Error('nft: the context is closed'));
          this.f.run.async(this.ctx, script, (err: Error | null, rc: number) => {
            if (err) return reject(new Error(`nft: ${err.message}`));
            if (rc === 0) return resolve();
            const text = this.ctx === null ? '' : String(this.f.errorBuffer(this.ctx) ?? '').trim();
            reject(new Error(`nft: ${text || `nft_run_cmd_from_buffer returned ${rc}`}`));
          });
        }),
    );
    this.pending++;
    this.queue = next.catch(() => undefined).then(() => this.settled());
    return next;
  }

  /**
   * After the last queued command: nft ran on one of libuv's worker threads, and glibc keeps what
   * it freed there (its parse tree, the ruleset cache of the transaction: megabytes on a
   * director's tables) in that thread's own malloc arena, which free() never returns to the
   * system; an idle director held 3 to 4 MB so. malloc_trim(3) gives back the free pages of
   * every arena. Once per burst of rule changes, not per packet, so its cost (a walk of the free
   * lists) does not matter.
   */
  private settled(): void {
    if (--this.pending === 0) this.f.trim?.(TRIM_PAD);
  }

  /** Frees the context once the commands in flight are done: its socket closes, its tables go. */
  async close(): Promise<void> {
    await this.queue;
    if (this.ctx === null) return;
    this.f.ctxFree(this.ctx);
    this.ctx = null;
  }
}
