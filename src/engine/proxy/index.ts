// Entry point of the proxy engine, loaded by the daemon for `--engine proxy`.
import type { Engine } from '../../control/engine.js';
import type { Logger } from '../../control/log.js';
import { ProxyEngine } from './engine.js';

export function createProxyEngine(log?: Logger): Engine {
  return new ProxyEngine(log);
}
