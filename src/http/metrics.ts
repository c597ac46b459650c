// /metrics: node_exporter's IPVS families with the same names, types, HELP texts and labels
// (docs/spec/metrics.md §1), so existing IPVS dashboards work unchanged, then the tsvs_* families
// for what only tsvs knows. Values come from the counters `tsvsadm -L --stats` shows; rates
// are the kernel estimator's figures (`--rate`). One pass over the rules per scrape: label
// strings are built once per dest and reused by every family.

import { label } from '../control/engine.js';
import { RATE_OF } from '../core/estimator.js';
import type { Dest } from '../core/dest.js';
import type { Rules } from '../core/rules.js';
import type { Service } from '../core/service.js';
import { STAT_CONNS, STAT_INBYTES, STAT_INPKTS, STAT_OUTBYTES, STAT_OUTPKTS } from '../core/stats.js';
import { type DirectorSource, hostPort, protoName } from './director.js';
import { Exposition, labelSet } from './exposition.js';
import { collectHealth, collectProcess, collectVrrp } from './ha-metrics.js';

/** node_exporter's backend labels, in the sorted order client_golang renders them. */
const BACKEND_LABELS = ['local_address', 'local_mark', 'local_port', 'proto', 'remote_address', 'remote_port'];
const SERVICE_LABELS = ['local_address', 'local_mark', 'local_port', 'proto'];

interface SvcRow {
  svc: Service;
  key: string[];
  /** node_exporter's service labels (tsvs_service_info). */
  labels: string;
  /** `{service="-t 192.0.2.1:80"}`: tsvs_service_* families. */
  short: string;
  /** The tsvs_service_info line's prefix and the scheduler it names (-E can change that). */
  info: Uint8Array | null;
  infoSched: string;
}

interface DestRow {
  dest: Dest;
  key: string[];
  /** node_exporter's backend labels (node_ipvs_backend_*). */
  labels: string;
  /** `{dest="10.0.0.1:80",service="-t 192.0.2.1:80"}`: tsvs_backend_* families, a third the bytes. */
  short: string;
}

function serviceKey(svc: Service): string[] {
  if (svc.fwmark) return ['', svc.fwmark.toString(16).toUpperCase().padStart(8, '0'), '0', 'FWM'];
  return [String(svc.addr), '', String(svc.port), protoName(svc)];
}

function cmpKeys(a: string[], b: string[]): number {
  for (let i = 0; i < a.length; i++) {
    if (a[i]! < b[i]!) return -1;
    if (a[i]! > b[i]!) return 1;
  }
  return 0;
}

const COUNTERS: [string, number, string][] = [
  ['connections_total', STAT_CONNS, 'connections scheduled'],
  ['incoming_packets_total', STAT_INPKTS, 'packets from clients'],
  ['outgoing_packets_total', STAT_OUTPKTS, 'packets to clients (NAT and FULLNAT replies; 0 for DR/TUN)'],
  ['incoming_bytes_total', STAT_INBYTES, 'bytes from clients'],
  ['outgoing_bytes_total', STAT_OUTBYTES, 'bytes to clients (NAT and FULLNAT replies; 0 for DR/TUN)'],
];

const RATES: [string, 'cps' | 'inpps' | 'outpps' | 'inbps' | 'outbps', string][] = [
  ['estimated_connections_per_second', 'cps', 'connections per second'],
  ['estimated_incoming_packets_per_second', 'inpps', 'incoming packets per second'],
  ['estimated_outgoing_packets_per_second', 'outpps', 'outgoing packets per second'],
  ['estimated_incoming_bytes_per_second', 'inbps', 'incoming bytes per second'],
  ['estimated_outgoing_bytes_per_second', 'outbps', 'outgoing bytes per second'],
];

/**
 * Label strings and sort order of every service and dest, kept between scrapes: they change
 * only when a service or dest is added or deleted (addresses, ports and marks are fixed).
 */
interface Rows {
  dirty: boolean;
  svcs: SvcRow[];
  dests: DestRow[];
  /** `name{labels} ` bytes per family and row, made on first use (a per-dest family's 10,000). */
  prefixes: Map<string, Uint8Array[]>;
  /** Family buffers kept from the previous scrape (Exposition's pool). */
  pool: Map<string, Buffer>;
}

/** Per-row `name{labels} ` bytes of one family, cached with the rows: slices of one buffer. */
function prefixes(r: Rows, name: string, labels: (i: number) => string, n: number): Uint8Array[] {
  let p = r.prefixes.get(name);
  if (!p) {
    const strs: string[] = [];
    for (let i = 0; i < n; i++) strs.push(`${name}${labels(i)} `);
    const all = Buffer.from(strs.join(''), 'utf8');
    p = [];
    let at = 0;
    for (const s of strs) {
      const len = Buffer.byteLength(s, 'utf8');
      p.push(all.subarray(at, at + len));
      at += len;
    }
    r.prefixes.set(name, p);
  }
  return p;
}

const rowCache = new WeakMap<Rules, Rows>();

function rows(rules: Rules): Rows {
  let r = rowCache.get(rules);
  if (!r) {
    const fresh: Rows = { dirty: true, svcs: [], dests: [], prefixes: new Map(), pool: new Map() };
    const dirty = () => {
      fresh.dirty = true;
    };
    rules.listeners.push({ serviceAdded: dirty, serviceDeleted: dirty, destAdded: dirty, destDeleted: dirty });
    rowCache.set(rules, fresh);
    r = fresh;
  }
  if (!r.dirty) return r;
  const svcs: SvcRow[] = [];
  const dests: DestRow[] = [];
  for (const svc of rules.services()) {
    const key = serviceKey(svc);
    const rule = label(svc);
    svcs.push({ svc, key, labels: labelSet(SERVICE_LABELS, key), short: labelSet(['service'], [rule]), info: null, infoSched: '' });
    for (const dest of svc.dests) {
      const dk = [key[0]!, key[1]!, key[2]!, key[3]!, String(dest.addr), String(dest.port)];
      const short = labelSet(['dest', 'service'], [hostPort(dest.addr, dest.port), rule]);
      dests.push({ dest, key: dk, labels: labelSet(BACKEND_LABELS, dk), short });
    }
  }
  svcs.sort((a, b) => cmpKeys(a.key, b.key));
  dests.sort((a, b) => cmpKeys(a.key, b.key));
  r.svcs = svcs;
  r.dests = dests;
  r.prefixes.clear();
  r.dirty = false;
  return r;
}

export interface ScrapeMeta {
  /** Duration of the previous scrape, seconds (NaN before the first). */
  lastDurationSeconds: number;
}

/** Renders the whole exposition for one director, as text. */
export function collectMetrics(d: DirectorSource, meta: ScrapeMeta = { lastDurationSeconds: NaN }): string {
  return collectMetricsBuffer(d, meta).toString('utf8');
}

/** Renders the whole exposition for one director, as the bytes to send. */
export function collectMetricsBuffer(d: DirectorSource, meta: ScrapeMeta = { lastDurationSeconds: NaN }): Buffer {
  const ipvs = d.ipvs;
  const rules = ipvs.rules;
  const cache = rows(rules);
  const { svcs, dests } = cache;
  const x = new Exposition(cache.pool);

  // --- node_exporter compatible -------------------------------------------------------------
  const nodeTotals: [string, number, string][] = [
    ['node_ipvs_connections_total', STAT_CONNS, 'The total number of connections made.'],
    ['node_ipvs_incoming_packets_total', STAT_INPKTS, 'The total number of incoming packets.'],
    ['node_ipvs_outgoing_packets_total', STAT_OUTPKTS, 'The total number of outgoing packets.'],
    ['node_ipvs_incoming_bytes_total', STAT_INBYTES, 'The total amount of incoming data.'],
    ['node_ipvs_outgoing_bytes_total', STAT_OUTBYTES, 'The total amount of outgoing data.'],
  ];
  for (const [name, i, help] of nodeTotals) x.sample(x.family(name, 'counter', help), '', rules.total.valueNumber(i));

  // Per-row families: cached `name{labels} ` bytes, then the value, row after row.
  const svcRow = (j: number) => svcs[j]!.short;
  const destRow = (j: number) => dests[j]!.short;
  const destNode = (j: number) => dests[j]!.labels;
  const nd = dests.length;
  const ns = svcs.length;

  const active = x.family('node_ipvs_backend_connections_active', 'gauge', 'The current active connections by local and remote address.');
  let p = prefixes(cache, active.name, destNode, nd);
  for (let j = 0; j < nd; j++) x.samplePrefixed(active, p[j]!, dests[j]!.dest.activeConns);
  const inactive = x.family(
    'node_ipvs_backend_connections_inactive',
    'gauge',
    'The current inactive connections by local and remote address.',
  );
  p = prefixes(cache, inactive.name, destNode, nd);
  for (let j = 0; j < nd; j++) x.samplePrefixed(inactive, p[j]!, dests[j]!.dest.inactConns);
  const weight = x.family('node_ipvs_backend_weight', 'gauge', 'The current backend weight by local and remote address.');
  p = prefixes(cache, weight.name, destNode, nd);
  for (let j = 0; j < nd; j++) x.samplePrefixed(weight, p[j]!, dests[j]!.dest.weight);

  // --- tsvs: per service and per dest counters and rates -----------------------------------
  for (const [suffix, i, what] of COUNTERS) {
    const fs = x.family(`tsvs_service_${suffix}`, 'counter', `Virtual service: ${what}, as tsvsadm -L --stats.`);
    p = prefixes(cache, fs.name, svcRow, ns);
    for (let j = 0; j < ns; j++) x.samplePrefixed(fs, p[j]!, svcs[j]!.svc.stats.valueNumber(i));
    const fd = x.family(`tsvs_backend_${suffix}`, 'counter', `Real server: ${what}, as tsvsadm -L --stats.`);
    p = prefixes(cache, fd.name, destRow, nd);
    for (let j = 0; j < nd; j++) x.samplePrefixed(fd, p[j]!, dests[j]!.dest.stats.valueNumber(i));
  }
  for (const [suffix, k, what] of RATES) {
    const rate = RATE_OF[k];
    const help = (scope: string) => `${scope}: ${what}, the 2-second IPVS estimator's average (tsvsadm --rate).`;
    x.sample(x.family(`tsvs_${suffix}`, 'gauge', help('All services')), '', rate(rules.total));
    const fs = x.family(`tsvs_service_${suffix}`, 'gauge', help('Virtual service'));
    p = prefixes(cache, fs.name, svcRow, ns);
    for (let j = 0; j < ns; j++) x.samplePrefixed(fs, p[j]!, rate(svcs[j]!.svc.stats));
    // Per dest, the three rates the dashboard charts; packet rates stay per service (cost).
    if (k === 'inpps' || k === 'outpps') continue;
    const fd = x.family(`tsvs_backend_${suffix}`, 'gauge', help('Real server'));
    p = prefixes(cache, fd.name, destRow, nd);
    for (let j = 0; j < nd; j++) x.samplePrefixed(fd, p[j]!, rate(dests[j]!.dest.stats));
  }
  const svcInfo = x.family(
    'tsvs_service_info',
    'gauge',
    "Always 1: joins the service label of tsvs_* families to node_exporter's labels and the scheduler.",
  );
  for (const r of svcs) {
    if (r.info === null || r.infoSched !== r.svc.schedName) {
      const ls = labelSet([...SERVICE_LABELS, 'scheduler', 'service'], [...r.key, r.svc.schedName, label(r.svc)]);
      r.info = Buffer.from(`${svcInfo.name}${ls} `, 'utf8');
      r.infoSched = r.svc.schedName;
    }
    x.samplePrefixed(svcInfo, r.info, 1);
  }

  // --- tsvs: director, engine, drops --------------------------------------------------------
  const st = d.status();
  x.sample(x.family('tsvs_services', 'gauge', 'Virtual services configured.'), '', rules.serviceCount);
  x.sample(x.family('tsvs_backends', 'gauge', 'Real servers configured, over all services.'), '', dests.length);
  x.sample(x.family('tsvs_connections', 'gauge', 'Entries in the connection table: conns and persistence templates.'), '', st.conns);
  x.sample(
    x.family('tsvs_connection_table_bytes', 'gauge', 'Memory held by the connection table (typed arrays and index).'),
    '',
    st.connTableBytes,
  );
  x.sample(
    x.family('tsvs_unserved_rules', 'gauge', 'Rules the engine cannot serve (tsvs status lists them with the reason).'),
    '',
    st.unserved.length,
  );
  x.sample(x.family('tsvs_engine_info', 'gauge', 'Always 1: the data plane this director runs.'), labelSet(['engine'], [st.engine]), 1);
  const drops = x.family('tsvs_drops_total', 'counter', 'Packets or connections dropped, by reason (tsvs status).');
  for (const reason of Object.keys(st.drops).sort()) x.sample(drops, labelSet(['reason'], [reason]), st.drops[reason]!);
  for (const [name, v] of Object.entries(st.counters ?? {})) {
    x.sample(x.family(`tsvs_engine_${name}_total`, 'counter', ENGINE_COUNTER_HELP[name] ?? `Engine counter ${name}.`), '', v);
  }
  const sync = x.family(
    'tsvs_sync_daemon_configured',
    'gauge',
    '1 when a sync daemon of this state is configured (tsvsadm --start-daemon), else 0.',
  );
  x.sample(sync, labelSet(['state'], ['backup']), rules.backup ? 1 : 0);
  x.sample(sync, labelSet(['state'], ['master']), rules.master ? 1 : 0);

  // --- registered sources: checkers, VRRP, sync daemon, ... --------------------------------
  collectHealth(x, d.observers.destHealth());
  collectVrrp(x, d.observers.vrrpInstances());
  for (const m of d.observers.metrics) m.collect(x);
  collectProcess(x);
  x.sample(
    x.family('tsvs_scrape_duration_seconds', 'gauge', 'How long the previous /metrics scrape took to collect and render.'),
    '',
    meta.lastDurationSeconds,
  );
  return x.renderBuffer();
}

/** HELP of the counters engines report in EngineStatus.counters (tsvs_engine_<name>_total). */
const ENGINE_COUNTER_HELP: Record<string, string> = {
  received_frames: 'Frames the packet engine read from its receive rings.',
  ring_dropped_frames: 'Frames the kernel dropped because a receive ring was full.',
  forwarded_incoming_packets: 'Client packets the packet engine forwarded to real servers.',
  forwarded_outgoing_packets: 'Reply packets the packet engine forwarded to clients.',
  arp_requests: 'ARP and NDP requests the packet engine sent to resolve next hops.',
  arp_replies: 'ARP and NDP replies the packet engine sent for VIPs.',
  icmp_frag_needed: 'ICMP fragmentation-needed (packet too big) messages sent.',
  nft_transactions: "Transactions that rewrote the packet engine's nftables table (one per burst of rule changes).",
  xdp_fast_packets: 'Packets the XDP fast path forwarded inside the kernel (--xdp-fast), credited to their conns.',
  xdp_fast_entries_added: 'Conn directions the XDP fast path took into its map.',
  xdp_fast_entries_removed: 'Conn directions that left the XDP fast path map (conn ended, state changed, dest gone, flush).',
};
