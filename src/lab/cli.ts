// `tsvs lab up|down|status|run NAME [-n N]` and `tsvs lab list`.

import { findLab, LABS } from './labs.js';
import { labDown, labNamespaces, labRun, labUp } from './lab.js';

const USAGE = 'usage: tsvs lab list | up NAME | down NAME | status NAME | run NAME [-n N]\n';

export async function labMain(argv: string[]): Promise<number> {
  const [sub, name] = argv;
  if (sub === 'list' || sub === undefined) {
    for (const l of LABS) process.stdout.write(`${l.name.padEnd(12)} seed ${l.seed}: ${l.description}\n`);
    return sub === undefined ? 2 : 0;
  }
  const lab = name ? findLab(name) : undefined;
  if (!lab) {
    process.stderr.write(`tsvs lab: ${name ? `no lab named '${name}'` : 'which lab?'} (see tsvs lab list)\n${USAGE}`);
    return 2;
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
      const nss = await labNamespaces(lab);
      process.stdout.write(nss.length ? `${nss.join('\n')}\n` : `${lab.name} is down\n`);
      return 0;
    }
    case 'run': {
      const i = argv.indexOf('-n');
      const n = i >= 0 ? Number(argv[i + 1]) : 30;
      if (!Number.isInteger(n) || n < 1 || n > 10_000) {
        process.stderr.write(`tsvs lab run: -n takes a count from 1 to 10000\n`);
        return 2;
      }
      const r = await labRun(lab, n);
      process.stdout.write(`${n} requests to ${lab.client.url}:\n`);
      for (const [who, c] of Object.entries(r.counts).sort()) process.stdout.write(`  ${who.padEnd(10)} ${c}\n`);
      if (r.failures) process.stdout.write(`  failed     ${r.failures}\n`);
      process.stdout.write(`\n${r.stats}`);
      return r.failures ? 1 : 0;
    }
    default:
      process.stderr.write(USAGE);
      return 2;
  }
}
