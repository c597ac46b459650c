// `npm run bench [-- core|sched|conn|table|adm|wire|proxy|packet|idle|scrape|checks|failover|sync|all]`: benchmarks, printed as tables. Speed targets live
// here, never in tests. Each section says what it measured and against which peer.
import { fileURLToPath } from 'node:url';
import { staleBundle } from './bundle-fresh.js';

type Section =
  'core' | 'sched' | 'conn' | 'table' | 'adm' | 'wire' | 'proxy' | 'packet' | 'idle' | 'scrape' | 'checks' | 'failover' | 'sync';

const TARGETS = {
  o1PickNs: 100,
  insertLookupPerSec: 5_000_000,
  bytesPerConn: 100,
};

function table(rows: Record<string, string | number>[]): string {
  if (rows.length === 0) return '(no rows)\n';
  const cols = Object.keys(rows[0]!);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padStart(width[i]!)).join('  ');
  return `${[line(cols), ...rows.map((r) => line(cols.map((c) => String(r[c]))))].join('\n')}\n`;
}

async function sched(): Promise<void> {
  const { benchSchedulers, SCHED_ROUNDS } = await import('./sched.js');
  const names = ['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq', 'fo', 'ovf', 'twos', 'lblc', 'lblcr', 'dh', 'sh', 'mh'];
  const o1 = new Set(['rr', 'wrr', 'dh', 'sh', 'mh']);
  const res = benchSchedulers(names, [10, 100, 1000]);
  const byName = new Map<string, Record<string, string | number>>();
  for (const r of res) {
    const row = byName.get(r.name) ?? { scheduler: r.name };
    row[`${r.dests} dests (ns)`] = r.nsPerPick.toFixed(1);
    byName.set(r.name, row);
  }
  for (const [name, row] of byName) {
    const at1000 = res.find((r) => r.name === name && r.dests === 1000);
    row.target = o1.has(name)
      ? at1000 && at1000.nsPerPick <= TARGETS.o1PickNs
        ? `<= ${TARGETS.o1PickNs} ns: met`
        : `<= ${TARGETS.o1PickNs} ns: MISSED`
      : 'O(n)';
  }
  process.stdout.write(`\nScheduler pick cost (ns of CPU time per pick, one core, median of ${SCHED_ROUNDS} runs)\n`);
  process.stdout.write(table([...byName.values()]));
}

async function conn(): Promise<void> {
  const { benchConnTable } = await import('./conn.js');
  const counts = (process.env.TSVS_BENCH_CONNS ?? '1000,1000000,10000000').split(',').map(Number);
  const conns = benchConnTable(counts);
  process.stdout.write('\nConnection table (IPv4 conns; insert N then look each up; CPU time)\n');
  process.stdout.write(
    table(
      conns.map((c) => {
        const met = (perSec: number) =>
          perSec >= TARGETS.insertLookupPerSec && c.bytesPerEntry <= TARGETS.bytesPerConn ? 'met' : 'MISSED';
        return {
          entries: c.entries,
          'insert+lookup /s': Math.round(c.insertLookupPerSec),
          'floor /s': Math.round(c.floorPerSec),
          'vs floor': (c.insertLookupPerSec / c.floorPerSec).toFixed(2),
          'batched /s': Math.round(c.batchedPerSec),
          'batched floor /s': Math.round(c.batchedFloorPerSec),
          'batched vs floor': (c.batchedPerSec / c.batchedFloorPerSec).toFixed(2),
          'advised /s': Number.isNaN(c.advisedPerSec) ? '-' : Math.round(c.advisedPerSec),
          'bytes/entry': c.bytesPerEntry.toFixed(1),
          'resident/entry': Number.isNaN(c.residentPerEntry) ? '-' : c.residentPerEntry.toFixed(1),
          target: `>= ${TARGETS.insertLookupPerSec / 1e6}M/s, <= ${TARGETS.bytesPerConn} B: one at a time ${met(c.insertLookupPerSec)}, batched ${met(c.batchedPerSec)}${Number.isNaN(c.advisedPerSec) ? '' : `, advised ${met(c.advisedPerSec)}`}`,
        };
      }),
    ),
  );
  process.stdout.write(
    '(floor: a bare open-addressing loop doing the same inserts and lookups, same run; batched: WARM_BATCH keys warmed first (ConnTable.warm), as the packet engine looks up a ring block; advised: batched, with the table arrays given the huge-page advice as the packet director gives them (sys/hugepages.ts); bytes/entry: storage allocated, resident/entry: pages written; the kernel uses about 128 bytes per ip_vs_conn)\n',
  );
}

async function forwardTable(): Promise<void> {
  const { benchForwardTable, TABLE_ROUNDS } = await import('./forward-table.js');
  const sizes = (process.env.TSVS_BENCH_TABLE_CONNS ?? '1000,10000000').split(',').map(Number);
  const rows = benchForwardTable(sizes);
  const base = rows[0]!;
  process.stdout.write('\nPer-frame path with N conns in the table (NAT, UDP 64 B, in process, frames/s of CPU time)\n');
  process.stdout.write(
    table(
      rows.map((r) => ({
        conns: r.conns,
        'established /s': Math.round(r.establishedPerSec),
        'vs first': (r.establishedPerSec / base.establishedPerSec).toFixed(2),
        'rounds min-max': `${(r.establishedRange[0] / 1e6).toFixed(2)}-${(r.establishedRange[1] / 1e6).toFixed(2)} M`,
        'no warming /s': Math.round(r.establishedNoWarmPerSec),
        'warming gain': (r.establishedPerSec / r.establishedNoWarmPerSec).toFixed(2),
        'new flows /s': Math.round(r.newPerSec),
        'vs first ': (r.newPerSec / base.newPerSec).toFixed(2),
        target:
          r === base
            ? 'peer'
            : `>= 0.90: ${Math.min(r.establishedPerSec / base.establishedPerSec, r.newPerSec / base.newPerSec) >= 0.9 ? 'met' : 'MISSED'}`,
      })),
    ),
  );
  process.stdout.write(
    `(established: a random prefilled flow per frame, median of ${TABLE_ROUNDS} rounds taking the sizes in turn, the forwarder's warming pass ${process.env.TSVS_BENCH_NO_WARM === '1' ? 'off (TSVS_BENCH_NO_WARM=1)' : 'on'}; no warming: the same with it off; new: a flow never seen per frame; peer: the first row, same run)\n`,
  );
}

async function core(): Promise<void> {
  await sched();
  await conn();
}

/** Loads an optional bench module; sections whose code is not written yet say so. */
async function optional<T>(name: string): Promise<T | null> {
  try {
    return (await import(`./${name}.js`)) as T;
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') {
      process.stdout.write(`\n${name}: this benchmark is not written yet\n`);
      return null;
    }
    throw e;
  }
}

async function wire(): Promise<void> {
  const m = await optional<{ benchWire(): { name: string; nsPerOp: number }[] }>('wire');
  if (!m) return;
  const { benchWire } = m;
  process.stdout.write('\nFrame parse + rewrite (ns per frame)\n');
  process.stdout.write(table(benchWire().map((r) => ({ operation: r.name, ns: r.nsPerOp.toFixed(1) }))));
}

async function adm(): Promise<void> {
  const { benchAdm } = await import('./adm.js');
  process.stdout.write('\ntsvsadm (median of the runs; peer: node -e "" in the same run)\n');
  process.stdout.write(
    table(
      benchAdm().map((r) => ({
        command: r.name,
        'median ms': r.medianMs.toFixed(1),
        'peer ms': r.peerMs.toFixed(1),
        ratio: (r.medianMs / r.peerMs).toFixed(2),
        target: r.target,
      })),
    ),
  );
}

async function proxy(): Promise<void> {
  const m = await optional<{ benchProxy(): Promise<unknown> }>('proxy');
  if (m) await m.benchProxy();
}

async function scrape(): Promise<void> {
  const { benchScrape } = await import('./scrape.js');
  await benchScrape();
}

async function packet(): Promise<void> {
  const { benchPacket } = await import('./packet.js');
  await benchPacket();
}

async function checks(): Promise<void> {
  const { benchChecks } = await import('./checks.js');
  await benchChecks();
}

async function sync(): Promise<void> {
  const { benchSync } = await import('./sync.js');
  await benchSync();
}

const arg = (process.argv[2] ?? 'core') as Section | 'all';
const sections: Section[] = arg === 'all' ? ['core', 'adm', 'wire', 'proxy', 'packet', 'sync'] : [arg];
/** Sections that run the built bundle (bin/tsvs, bin/tsvsadm) rather than src/. */
const BUNDLED = new Set<Section>(['adm', 'proxy', 'packet', 'idle', 'failover', 'sync', 'scrape']);
if (sections.some((s) => BUNDLED.has(s))) {
  const stale = staleBundle(fileURLToPath(new URL('..', import.meta.url)));
  if (stale) {
    process.stderr.write(`bench: ${stale}\n`);
    process.exit(2);
  }
}
for (const s of sections) {
  if (s === 'core') await core();
  else if (s === 'sched') await sched();
  else if (s === 'conn') await conn();
  else if (s === 'table') await forwardTable();
  else if (s === 'adm') await adm();
  else if (s === 'wire') await wire();
  else if (s === 'proxy') await proxy();
  else if (s === 'packet') await packet();
  else if (s === 'idle') await (await import('./idle.js')).benchIdle();
  else if (s === 'scrape') await scrape();
  else if (s === 'checks') await checks();
  else if (s === 'failover') await (await import('./failover.js')).benchFailover();
  else if (s === 'sync') await sync();
  else {
    process.stderr.write(
      `bench: unknown section '${s}' (core, sched, conn, table, adm, wire, proxy, packet, idle, scrape, checks, failover, sync, all)\n`,
    );
    process.exit(2);
  }
}
