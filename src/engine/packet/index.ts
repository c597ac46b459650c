// Entry point of the packet engine, loaded by the daemon for `--engine packet`.
import type { Engine } from '../../control/engine.js';
import type { Logger } from '../../control/log.js';
import { PacketEngine } from './engine.js';
import { parseWarmup } from './warmup.js';
import { parseXdpFast, parseXdpMode } from './xdp/path.js';

export function createPacketEngine(log?: Logger): Engine {
  const list = process.env.TSVS_INTERFACES;
  const xdp = parseXdpMode(process.env.TSVS_XDP, 'TSVS_XDP');
  const xdpFast = parseXdpFast(process.env.TSVS_XDP_FAST, 'TSVS_XDP_FAST');
  const warmup = parseWarmup(process.env.TSVS_WARMUP);
  return new PacketEngine({
    ...(list ? { interfaces: list.split(',').filter(Boolean) } : {}),
    xdp,
    xdpFast,
    warmup,
    ...(log ? { log } : {}),
  });
}
