// A bench stopped by Ctrl-C or SIGTERM runs no `finally`: the namespaces it built, and the
// daemons and generators inside them, would stay behind. While `body` runs, either signal
// tears the topology down (Topology.teardown kills what runs inside) and ends the process.
import type { Topology } from '../src/lab/netns.js';

export async function withSignalTeardown<T>(topo: Topology, body: () => Promise<T>): Promise<T> {
  const onSignal = (sig: NodeJS.Signals) => {
    process.stderr.write(`\nbench: ${sig}: removing the namespaces it built\n`);
    void topo.teardown().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await body();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
