// How the keepalived side logs: one line per event, level first, as keepalived's syslog lines.
export type HaLevel = 'info' | 'warn' | 'error' | 'debug';
export type HaLog = (level: HaLevel, msg: string) => void;
