// `locker logs [-f] [--tail N] ID`: what a detached container wrote, kept by its monitor.
import { streamLog } from '../runtime/detach';
import { LockerError } from '../runtime/errors';
import { Runtime } from '../runtime/runtime';
import { flag, one, parseArgs } from './args';

export async function logsCommand(argv: string[]): Promise<number> {
  const p = parseArgs(argv, [{ names: ['follow', 'f'], value: false }, { names: ['tail', 'n'], value: true }], 'logs');
  const [id, extra] = p.rest;
  if (!id || extra) throw new LockerError('locker logs takes one container id; e.g. locker logs -f ID (see locker ps -a)');
  const tailText = one(p, 'tail');
  const tail = tailText === undefined || tailText === 'all' ? undefined : Number(tailText);
  if (tail !== undefined && !(Number.isInteger(tail) && tail >= 0)) throw new LockerError(`--tail "${tailText!.slice(0, 40)}" is not a number of lines; e.g. --tail 20`);
  const rt = new Runtime();
  const info = rt.get(id);
  if (!info) throw new LockerError(`no container "${id}"; see locker ps -a for the ids`);
  if (!info.detached) throw new LockerError(`container ${info.name} was not started with -d: its output went to the terminal that ran it, and only detached containers keep a log`);
  const finished = (): boolean => rt.get(info.id)?.state !== 'running';
  const stop = new Promise<void>((resolve) => process.once('SIGINT', resolve));
  await Promise.race([stop, streamLog(rt.store.containerDir(info.id), (chunk) => process.stdout.write(chunk), { tail, follow: flag(p, 'follow'), finished })]);
  return 0;
}
