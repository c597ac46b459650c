// Limits of the health checkers, each with the reason for its value.

/** Checks in flight at once: 1,000 real servers checked each second need far fewer, and a
 *  flood of timeouts must not exhaust file descriptors (default soft limit 1024). */
export const MAX_CONCURRENT_CHECKS = 256;
/** HTTP_GET/SSL_GET read at most this much of a reply (the body is hashed for `digest`);
 *  more is a failed check, not unbounded memory. */
export const MAX_HTTP_REPLY = 1 << 20;
/** Output kept from a MISC_CHECK script, for the log line; the rest is discarded. */
export const MAX_MISC_OUTPUT = 4096;
/** First checks are spread over at most this long so 1,000 checkers do not start at once. */
export const START_SPREAD_MS = 1000;
/** The epoll probe driver (driver/epoll-probes.ts) polls its set this often while probes are in
 *  flight: Node cannot wake on an epoll descriptor. 2 ms adds at most that to a check's
 *  latency (connect_timeout is seconds) and costs ~500 cheap turns a second while checks run. */
export const DRIVER_POLL_MS = 2;
/** Events taken per epoll_wait; more are taken at once in the same turn. */
export const DRIVER_MAX_EVENTS = 256;
/** One read's buffer, shared by every probe: a check's reply is usually one small segment. */
export const DRIVER_READ_BUF = 16384;
