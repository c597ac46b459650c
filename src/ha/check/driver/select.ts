// Which sockets TCP_CHECK and HTTP_GET use: the epoll driver (epoll-probes.ts) where the koffi
// libc binding loads, Node's own sockets otherwise (no koffi, not Linux, or the operator asked
// for them with TSVS_CHECK_SOCKETS=node). SSL_GET, DNS_CHECK and MISC_CHECK always run on Node.
import { libcFailure, libcOrNull } from '../../../sys/libc.js';
import { EpollProbes } from './epoll-probes.js';

let driver: EpollProbes | null | undefined;
let why = '';

/** The shared driver, made on first use; null when checks run on Node's sockets (see driverNote). */
export function probeDriver(): EpollProbes | null {
  if (driver !== undefined) return driver;
  driver = null;
  if (process.env.TSVS_CHECK_SOCKETS === 'node') {
    why = 'TSVS_CHECK_SOCKETS=node';
    return driver;
  }
  const S = libcOrNull();
  if (!S) {
    why = libcFailure();
    return driver;
  }
  try {
    driver = new EpollProbes(S);
  } catch (e) {
    why = (e as Error).message;
  }
  return driver;
}

/** One line for the log: which sockets TCP_CHECK and HTTP_GET run on, and why. */
export function driverNote(): string {
  return probeDriver()
    ? 'TCP_CHECK and HTTP_GET run on the epoll probe driver (raw sockets through koffi)'
    : `TCP_CHECK and HTTP_GET run on Node's sockets (slower: more CPU per check): ${why}`;
}

/** Tests and the bench: make the next probeDriver() decide again (after changing the env); the
 *  old driver's set closes once its probes end. */
export function resetProbeDriver(): void {
  driver?.close();
  driver = undefined;
  why = '';
}
