// Where an HTTP endpoint listens (`--http [ADDR:]PORT`) and what is said when it is off
// loopback. Apart from the server (bounded.ts) so that checking a daemon's arguments, and a
// daemon started without --http, do not load node:http.

export interface HttpEndpoint {
  host: string;
  port: number;
}

/** Parses `[ADDR:]PORT` (`9100`, `127.0.0.1:9100`, `[::1]:9100`, `0.0.0.0:9100`). */
export function parseHttpSpec(spec: string): HttpEndpoint {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[^:[\]]+):)?([0-9]{1,5})$/.exec(spec.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    throw new Error(`--http ${spec}: give [ADDR:]PORT, e.g. 9100, 127.0.0.1:9100 or [::1]:9100 (port 0..65535)`);
  }
  const host = m[1] ? m[1].replace(/^\[|\]$/g, '') : '127.0.0.1';
  return { host, port };
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host) || /^::ffff:127\./i.test(host);
}

/** The warning an endpoint off loopback logs at start. */
export function notLoopbackWarning(url: string): string {
  return `the HTTP endpoint ${url} is not on loopback: whoever reaches it reads the rules, real servers and traffic figures; bind it to 127.0.0.1 unless that is meant`;
}
