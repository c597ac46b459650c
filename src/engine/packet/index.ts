// Entry point of the packet engine, loaded by the daemon for `--engine packet`.
import type { Engine } from '../../control/engine.js';
import type { Logger } from '../../control/log.js';
import { PacketEngine } from './engine.js';
import { parseXdpMode } from './xdp/path.js';

export function createPacketEngine(log?: Logger): Engine {
  const list = process.env.TSVS_INTERFACES;
  const xdp = parseXdpMode(process.env.TSVS_XDP, 'TSVS_XDP');
  return new PacketEngine({ ...(list ? { interfaces: list.split(',').filter(Boolean) } : {}), xdp, ...(log ? { log } : {}) });
}
