// Entry point of the proxy engine, loaded by the daemon for `--engine proxy`.
import type { Engine } from '../../control/engine.js';
import { ProxyEngine } from './engine.js';

export function createProxyEngine(): Engine {
  return new ProxyEngine();
}
