// A command over several container ids (rm, kill, start): every id is tried, each success printed,
// each failure one line on stderr, and the exit status says whether any failed (as docker's).
import { LockerError } from '../runtime/errors';
import { cliIo } from './io';

export async function eachId(ids: string[], act: (id: string) => unknown): Promise<number> {
  let failed = 0;
  for (const id of ids) {
    try {
      await act(id);
      cliIo().stdout.write(`${id}\n`);
    } catch (e) {
      if (!(e instanceof LockerError)) throw e;
      cliIo().stderr.write(`locker: ${e.message}\n`);
      failed++;
    }
  }
  return failed ? 2 : 0;
}
