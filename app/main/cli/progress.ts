// Import progress on stderr: a live line on a terminal, and always one final line.
import type { ImportProgress } from '../runtime/rootfs/tarball';
import { cliIo, type CliStream } from './io';

const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;

export function importProgressPrinter(out: CliStream = cliIo().stderr): (p: ImportProgress) => void {
  return (p) => {
    if (p.done) {
      out.write(`${out.isTTY ? '\r\x1b[K' : ''}locker: imported ${p.tarball} (${mb(p.total)}); later runs use the cached copy\n`);
    } else if (out.isTTY) {
      const pct = p.total ? Math.floor((100 * p.read) / p.total) : 0;
      out.write(`\r\x1b[Klocker: importing ${p.tarball}: ${mb(p.read)} of ${mb(p.total)} (${pct}%)`);
    }
  };
}
