// The keepalived process's way to the director of its namespace: the tsvsadm control path
// (src/cli/client.ts), starting the director if none runs, as ipvsadm loads ip_vs. So
// `tsvsadm -L -n` shows exactly what keepalived did, with either engine.
import { NoDaemon, request, startDetached, targetSocket } from '../cli/client.js';
import type { AdmReply } from '../control/protocol.js';
import type { AdmSink } from './lvs/manager.js';

/** A rule change must not wait on a wedged director forever; 10 s is ~1000× a normal reply. */
export const DIRECTOR_TIMEOUT_MS = 10_000;

export function directorSink(sock: string = targetSocket()): AdmSink {
  return {
    async run(argv) {
      const req = { op: 'adm' as const, argv, argv0: 'ipvsadm', stdin: '' };
      try {
        return await request<AdmReply>(sock, req, DIRECTOR_TIMEOUT_MS);
      } catch (e) {
        if (!(e instanceof NoDaemon)) return { code: 2, stdout: '', stderr: `director ${sock}: ${(e as Error).message}\n` };
        try {
          await startDetached(sock);
          return await request<AdmReply>(sock, req, DIRECTOR_TIMEOUT_MS);
        } catch (e2) {
          return { code: 2, stdout: '', stderr: `cannot start the director (${sock}): ${(e2 as Error).message}\n` };
        }
      }
    },
  };
}

/** Where `tsvs keepalived` serves its status: next to the director's control socket. */
export function keepalivedSocket(directorSock: string = targetSocket()): string {
  return directorSock.replace(/\.sock$/, '') + '.keepalived.sock';
}
