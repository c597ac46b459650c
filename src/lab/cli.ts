// `tsvs lab up|down|status|run NAME [-n N]` and `tsvs lab list`.

import { ENVIRONMENT, UsageError, wantsHelp } from '../cli/usage.js';
import { findLab, LABS } from './labs.js';
import { labDown, labHealth, labNamespaces, labRun, labUp } from './lab.js';
import { netnsUnavailable } from './netns.js';

const USAGE = `usage: tsvs lab list | up NAME | down NAME | status NAME | run NAME [-n N]
  list          the labs (one per seed topology)
  up NAME       build it in network namespaces tsvs-lab-NAME-* (root)
  down NAME     remove it
  status NAME   whether it is up and healthy (exit 1 if not)
  run NAME      send N requests (default 30) from its client; who answered, and the stats
`;

export async function labMain(argv: string[]): Promise<number> {
  if (wantsHelp(argv)) {
    process.stdout.write(`${USAGE}\n${ENVIRONMENT}`);
    return 0;
  }
  const [sub, name] = argv;
  if (sub === 'list') {
    for (const l of LABS) process.stdout.write(`${l.name.padEnd(12)} seed ${l.seed}: ${l.description}\n`);
    return 0;
  }
  if (sub === undefined) throw new UsageError(`which action?\n${USAGE}`);
  if (!['up', 'down', 'status', 'run'].includes(sub)) throw new UsageError(`unknown action '${sub}'\n${USAGE}`);
  const lab = name ? findLab(name) : undefined;
  if (!lab) throw new UsageError(`${name ? `no lab named '${name}'` : 'which lab?'} (see tsvs lab list)\n${USAGE}`);
  // One clear line instead of `ip netns`'s mount errors.
  const why = netnsUnavailable();
  if (why) {
    process.stderr.write(`tsvs lab ${sub}: ${why}${why.endsWith('root') ? ': run it with sudo' : ''}\n`);
    return 1;
  }
  const progress = (m: string) => process.stdout.write(`  ${m}\n`);
  switch (sub) {
    case 'up': {
      process.stdout.write(`building ${lab.name} (seed ${lab.seed}): ${lab.description}\n`);
      const onSignal = () => {
        process.stdout.write('interrupted: removing the lab\n');
        void labDown(lab).then(() => process.exit(130));
      };
      process.once('SIGINT', onSignal);
      await labUp(lab, progress);
      process.off('SIGINT', onSignal);
      process.stdout.write(`${lab.name} is up; try: tsvs lab run ${lab.name}\n`);
      return 0;
    }
    case 'down':
      await labDown(lab, progress);
      return 0;
    case 'status': {
      const h = await labHealth(lab);
      if (h.state === 'down') {
        process.stdout.write(`${lab.name} is down (tsvs lab up ${lab.name} builds it)\n`);
        return 1;
      }
      const head =
        h.state === 'partial'
          ? `${lab.name} is partly up: tsvs lab up ${lab.name} rebuilds it`
          : h.problems.length
            ? `${lab.name} is up but not healthy:`
            : `${lab.name} is up and healthy:`;
      process.stdout.write(`${head}\n${[...h.facts, ...h.problems.map((p) => `problem: ${p}`)].map((l) => `  ${l}\n`).join('')}`);
      return h.state === 'up' && h.problems.length === 0 ? 0 : 1;
    }
    default: {
      const i = argv.indexOf('-n');
      const n = i >= 0 ? Number(argv[i + 1]) : 30;
      if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new UsageError('-n takes a count from 1 to 10000');
      if ((await labNamespaces(lab)).length === 0) {
        process.stderr.write(`tsvs lab run: ${lab.name} is down: tsvs lab up ${lab.name} builds it\n`);
        return 1;
      }
      const r = await labRun(lab, n);
      process.stdout.write(`${n} requests to ${lab.client.url}:\n`);
      for (const [who, c] of Object.entries(r.counts).sort()) process.stdout.write(`  ${who.padEnd(10)} ${c}\n`);
      if (r.failures) process.stdout.write(`  failed     ${r.failures}\n`);
      process.stdout.write(`\n${r.stats}`);
      return r.failures ? 1 : 0;
    }
  }
}
