// runc's --log and --log-format: one line per message, JSON ({"level","msg","time"}: what conmon
// and podman read back on a failure) or text. Without --log, warnings go to stderr only with --debug.
import { appendFileSync, writeSync } from 'node:fs';

export type Level = 'debug' | 'info' | 'warning' | 'error';

export class OciLog {
  constructor(private readonly file: string | undefined, private readonly format: 'json' | 'text', private readonly debug: boolean) {}

  write(level: Level, msg: string): void {
    const time = new Date().toISOString();
    if (level === 'debug' && !this.debug) return;
    if (this.file) {
      const line = this.format === 'json' ? JSON.stringify({ level, msg, time }) : `time="${time}" level=${level} msg=${JSON.stringify(msg)}`;
      try {
        appendFileSync(this.file, line + '\n');
      } catch {
        // the log is best effort; errors still reach stderr below
      }
    }
    if (level === 'error' || (this.debug && !this.file)) writeSync(2, `locker oci: ${level === 'error' ? '' : level + ': '}${msg}\n`);
  }
}
