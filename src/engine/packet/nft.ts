// The director's own nftables table. The packet engine reads frames on an ETH_P_ALL socket,
// which sees them before the netdev ingress hook; a drop there keeps the kernel from also
// answering (RST, ICMP) or forwarding what the engine handles (docs/notes/packet-io.md). We only
// ever touch `table netdev tsvs`: the whole table is rewritten atomically on each change
// and deleted when the daemon stops. The table is owned (`flags owner`) by the daemon's own
// netlink socket through libnftables, or an `nft -i` child's where that library is missing
// (nft-owner.ts), so the kernel also deletes it when the daemon dies.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { NftOwner } from './nft-owner.js';

const run = promisify(execFile);

export const NFT_TABLE = 'tsvs';

/** Traffic the engine takes on one interface. */
export interface IngressMatch {
  family: 'ip' | 'ip6';
  proto: 'tcp' | 'udp' | 'sctp';
  /** Client → VIP:port (services). */
  daddr?: string;
  dport?: number;
  /** RS → director (NAT/FULLNAT replies): source address and port of the real server. */
  saddr?: string;
  sport?: number;
  /** Addresses the match leaves to the kernel (the director's own, for its own conns to a dest). */
  notDaddr?: string[];
}

export interface NftSpec {
  /** Interface name → what to take on it. */
  devices: Map<string, IngressMatch[]>;
}

/**
 * Matches of one shape (family, protocol, which addresses and ports, the same exceptions) from
 * this many on are one rule over a set instead of a rule each. A chain is walked rule by rule
 * for every frame the interface receives, and the kernel checks the whole chain at each rule it
 * adds: 1,000 services x 10 NAT dests were 22,011 rules, 44 s to install and a linear walk per
 * frame; as sets, one hash lookup per shape. Below it a rule each reads better in `nft list`.
 */
export const NFT_SET_MIN = 4;

type Field = 'daddr' | 'dport' | 'saddr' | 'sport';
const FIELDS: readonly Field[] = ['daddr', 'dport', 'saddr', 'sport'];

function fieldsOf(m: IngressMatch): Field[] {
  // A port of 0 takes every port: no port match.
  return FIELDS.filter((f) => m[f] !== undefined && m[f] !== 0);
}

function expr(m: IngressMatch, f: Field): string {
  return f === 'daddr' || f === 'saddr' ? `${m.family} ${f}` : `th ${f}`;
}

function exceptions(m: IngressMatch): string {
  return m.notDaddr !== undefined && m.notDaddr.length > 0 ? ` ${m.family} daddr != { ${m.notDaddr.join(', ')} }` : '';
}

function rule(m: IngressMatch): string {
  const parts = [`meta l4proto ${m.proto}`];
  for (const f of fieldsOf(m)) parts.push(`${expr(m, f)} ${String(m[f])}`);
  // Fragments carry no ports: non-first fragments of a taken flow are matched by address only.
  return `${parts.join(' ')}${exceptions(m)} counter drop`;
}

interface Shape {
  first: IngressMatch;
  fields: Field[];
  elements: Set<string>;
  members: IngressMatch[];
}

/** The matches grouped by shape, in the order each shape first appears. */
function shapes(matches: readonly IngressMatch[]): Shape[] {
  const byKey = new Map<string, Shape>();
  for (const m of matches) {
    const fields = fieldsOf(m);
    const key = `${m.family} ${m.proto} ${fields.join(',')}${exceptions(m)}`;
    let g = byKey.get(key);
    if (!g) byKey.set(key, (g = { first: m, fields, elements: new Set(), members: [] }));
    g.elements.add(fields.map((f) => String(m[f])).join(' . '));
    g.members.push(m);
  }
  return [...byKey.values()];
}

/** The nft script that replaces our table atomically (create, delete, define in one batch). */
export function renderNft(spec: NftSpec): string {
  // An owned table must be declared with the flag each time: dropping it is not allowed.
  const lines = [`table netdev ${NFT_TABLE} { flags owner; }`, `delete table netdev ${NFT_TABLE}`];
  if (spec.devices.size === 0) return `${lines.join('\n')}\n`;
  lines.push(`table netdev ${NFT_TABLE} {`, '  flags owner');
  // Sets belong to the table: interfaces given the same matches share them.
  const sets = new Map<string, string>();
  const chains: string[] = [];
  for (const [dev, matches] of [...spec.devices].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const name = `ingress_${dev.replace(/[^A-Za-z0-9_]/g, '_')}`;
    chains.push(`  chain ${name} {`);
    chains.push(`    type filter hook ingress device "${dev}" priority -500; policy accept;`);
    for (const g of shapes(matches)) {
      if (g.members.length < NFT_SET_MIN) {
        for (const m of g.members) chains.push(`    ${rule(m)}`);
        continue;
      }
      const m = g.first;
      const type = g.fields.map((f) => (f === 'dport' || f === 'sport' ? 'inet_service' : m.family === 'ip' ? 'ipv4_addr' : 'ipv6_addr'));
      const elements = [...g.elements].sort().join(', ');
      const setKey = `${type.join(' . ')} ${elements}`;
      let set = sets.get(setKey);
      if (set === undefined) {
        set = `m${sets.size}`;
        sets.set(setKey, set);
        lines.push(`  set ${set} {`, `    type ${type.join(' . ')}`, '    counter', `    elements = { ${elements} }`, '  }');
      }
      const lhs = g.fields.map((f) => expr(m, f)).join(' . ');
      chains.push(`    meta l4proto ${m.proto} ${lhs} @${set}${exceptions(m)} counter drop`);
    }
    chains.push('  }');
  }
  lines.push(...chains, '}');
  return `${lines.join('\n')}\n`;
}

/** One owner per process: a daemon serves one namespace, and the child inherits it. */
let owner: NftOwner | null = null;

async function nft(script: string): Promise<void> {
  if (!owner) {
    // A table without the owner flag is a leftover of a daemon from before the flag; an
    // owned one of a live daemon refuses (EPERM) and the change below reports it.
    await run('nft', ['delete', 'table', 'netdev', NFT_TABLE]).catch(() => undefined);
    owner = new NftOwner();
  }
  await owner.apply(script);
}

/** Installs (or replaces) the table; an empty spec leaves no table behind. */
export async function applyNft(spec: NftSpec): Promise<void> {
  await nft(renderNft(spec));
}

/** Deletes our table (its owner process ends); other tables are never touched. */
export async function removeNft(): Promise<void> {
  const o = owner;
  owner = null;
  if (o) await o.close();
  else await run('nft', ['delete', 'table', 'netdev', NFT_TABLE]).catch(() => undefined);
}

/** Who owns the table, for `tsvs status` (null before the first change). */
export function nftOwnerNote(): string | null {
  if (!owner) return null;
  if (owner.kind === 'libnftables') return "table owned by the daemon's own netlink socket (libnftables)";
  return `table owned by an nft -i child (libnftables not used: ${owner.fallback ?? 'unknown'})`;
}

/** Per-rule packet counts, for `tsvs status`. */
export async function nftCounters(): Promise<string> {
  try {
    const { stdout } = await run('nft', ['list', 'table', 'netdev', NFT_TABLE]);
    return stdout;
  } catch {
    return '';
  }
}
