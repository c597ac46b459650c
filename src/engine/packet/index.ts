// Entry point of the packet engine, loaded by the daemon for `--engine packet`.
import type { Engine } from '../../control/engine.js';
import type { Logger } from '../../control/log.js';
import { PacketEngine } from './engine.js';

export function createPacketEngine(log?: Logger): Engine {
  const list = process.env.TSVS_INTERFACES;
  return new PacketEngine({ ...(list ? { interfaces: list.split(',').filter(Boolean) } : {}), ...(log ? { log } : {}) });
}
