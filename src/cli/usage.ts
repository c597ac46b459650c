// What every command line shares: usage errors exit 2 (as ipvsadm's do), `--help` exits 0,
// the environment and the log location are named once, and a reader that goes away early
// (`tsvs lab list | head -1`) ends the command quietly instead of with a stack trace.

import { readFileSync } from 'node:fs';

/** Exit code of a usage error (a bad option or argument), as ipvsadm and getopt tools use. */
export const EXIT_USAGE = 2;

/** Bad command line: the caller prints the message and the usage and exits EXIT_USAGE. */
export class UsageError extends Error {}

export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

/** The environment variables the commands read, and where the director's log goes. */
export const ENVIRONMENT = `environment:
  TSVS_RUN_DIR       run directory: the director's socket <netns inode>.sock and its log
                     <netns inode>.log (default /run/tsvs for root, else
                     $XDG_RUNTIME_DIR/tsvs or /tmp/tsvs-<uid>)
  TSVS_ENGINE        packet or proxy: the engine a director started without --engine uses
                     (default packet for root on Linux, else proxy)
  TSVS_INTERFACES    packet engine: the interfaces to serve (comma-separated; default all)
  TSVS_XDP           packet engine: auto, native, generic or off, as tsvs daemon --xdp: receive
                     through AF_XDP (auto: on physical single-queue interfaces only)
  TSVS_XDP_FAST      packet engine: on or off, as tsvs daemon --xdp-fast: established conns
                     forwarded inside the XDP program (default off)
  TSVS_WARMUP        packet engine: on or off: compile the forwarding path on synthetic frames
                     when it starts, so that fewer of the first real ones are lost to a cold
                     JIT; some 13 MB more memory (default off)
  TSVS_CORE_THREAD   on or off, as tsvs daemon --core-thread: the core and the engine's frame
                     loop on a thread of their own (default off)
  TSVS_PROXY_WORKERS proxy engine: worker threads (0: all on one thread)
  TSVS_PROXY_IO      proxy engine: epoll or node, how the workers do socket I/O
logs: a director started by tsvsadm or with --detach logs to <run dir>/<netns inode>.log;
  in the foreground it logs to stderr. \`tsvs status\` shows the engine and what is not served.
`;

/** This checkout's version, from package.json. */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

/**
 * A closed pipe on stdout or stderr (the reader exited) ends the process with status 0 and
 * no message: there is nobody left to read one.
 */
export function exitQuietlyOnClosedPipe(): void {
  for (const s of [process.stdout, process.stderr]) {
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(0);
      throw e;
    });
  }
}
