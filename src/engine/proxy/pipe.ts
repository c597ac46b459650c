// The socket half of one proxied TCP connection on the daemon's thread (the single-thread engine,
// on Node's sockets): connect to the real server the core chose, pipe both ways with
// backpressure and half-close, and report what happens as synthesised TCP events through a
// Link, the same sequence of events per connection as an epoll worker reports
// (epoll/splice.ts).

import { connect, type Socket } from 'node:net';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../../core/conn/tcp.js';
import type { DestHealth } from './context.js';
import { proxyHeaderText } from '../../wire/proxy-protocol.js';

/** How long a real server may take to accept before the client is reset. */
export const CONNECT_TIMEOUT_MS = 5000;

/** Where the core sent the connection. */
export interface Target {
  host: string;
  port: number;
  /** 0 (none), 1 or 2: the PROXY protocol header version for this dest. */
  proxyProtocol: number;
}

/** What a connection reports: client→server (`in`) and server→client (`out`) events. */
export interface Link {
  in(ev: number, bytes: number): void;
  out(ev: number, bytes: number): void;
  drop(reason: string): void;
  health(h: DestHealth, detail: string): void;
  /** Both sockets are closed: the last call for this connection. */
  closed(): void;
}

export interface Session {
  destroy(): void;
}

/** `client` is paused (pauseOnConnect); its SYN has been reported already. */
export function pipeTcp(link: Link, client: Socket, target: Target): Session {
  const upstream = connect({ host: target.host, port: target.port, allowHalfOpen: true });
  upstream.setNoDelay(true);
  client.setNoDelay(true);
  let connected = false;
  let closed = 0;
  const onClose = () => {
    if (++closed === 2) link.closed();
  };
  client.on('close', onClose);
  upstream.on('close', onClose);
  const timer = setTimeout(() => {
    link.drop('dest-timeout');
    link.health('timeout', `no answer within ${CONNECT_TIMEOUT_MS} ms`);
    link.out(TCP_RST, 0);
    upstream.destroy();
    client.resetAndDestroy();
  }, CONNECT_TIMEOUT_MS);

  upstream.on('connect', () => {
    clearTimeout(timer);
    connected = true;
    link.health('ok', '');
    link.out(TCP_SYN | TCP_ACK, 0);
    link.in(TCP_ACK, 0);
    if (target.proxyProtocol) {
      // Node knows both addresses of an accepted socket (no system call can fail here); an
      // address it cannot give (a socket already closed) makes the header say "unknown".
      upstream.write(
        proxyHeaderText(
          target.proxyProtocol,
          client.remoteAddress ?? '',
          client.remotePort ?? 0,
          client.localAddress ?? '',
          client.localPort ?? 0,
        ),
      );
    }
    client.resume();
  });
  upstream.on('error', (e: NodeJS.ErrnoException) => {
    clearTimeout(timer);
    if (!connected) {
      const refused = e.code === 'ECONNREFUSED';
      link.drop(refused ? 'dest-refused' : 'dest-error');
      link.health(refused ? 'refused' : 'error', e.code ?? e.message);
      link.out(TCP_RST, 0);
      client.resetAndDestroy();
    } else {
      client.destroy();
    }
  });

  client.on('data', (b: Buffer) => {
    link.in(TCP_ACK, b.length);
    if (!upstream.write(b)) client.pause();
  });
  upstream.on('drain', () => client.resume());
  upstream.on('data', (b: Buffer) => {
    link.out(TCP_ACK, b.length);
    if (!client.write(b)) upstream.pause();
  });
  client.on('drain', () => upstream.resume());
  client.on('end', () => {
    link.in(TCP_FIN | TCP_ACK, 0);
    if (connected) upstream.end();
    else upstream.destroy();
  });
  upstream.on('end', () => {
    link.out(TCP_FIN | TCP_ACK, 0);
    client.end();
  });
  return {
    destroy() {
      clearTimeout(timer);
      client.destroy();
      upstream.destroy();
    },
  };
}
