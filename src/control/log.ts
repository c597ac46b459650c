// One line per event, with the time, to the daemon's stderr (a log file when detached).

export type Logger = (msg: string) => void;

export const stderrLogger: Logger = (msg) => {
  process.stderr.write(`${new Date().toISOString()} tsvs: ${msg}\n`);
};
