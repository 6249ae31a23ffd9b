// The `locker` command line: run, ps, exec, stop, rm, inspect, ui.
import { SyscallError } from '../../../native/errors';
import { LockerError } from '../runtime/errors';
import { Runtime } from '../runtime/runtime';
import { flag, one, parseArgs } from './args';
import { attachTerminal } from './attach';
import { psTable } from './format';
import { RUN_HELP, runCommand } from './run';
import { equivalentCommand } from '../equivalent';
import { doctorCommand } from '../doctor';
import { cleanupCommand } from './cleanup';
import { lessonsCommand } from './lessons';

const HELP = `Usage: locker COMMAND [OPTIONS]

A container is just a Linux process with isolation. Commands:
  run [OPTIONS] [--] CMD...   run CMD in a new container (locker run --help)
  ps [-a] [--json]            list containers
  exec [-t] ID -- CMD...      run CMD inside a running container
  stop [-t SECONDS] ID...     SIGTERM, then SIGKILL after the grace period (default 3 s)
  rm [-f] ID...               remove a container's record (-f stops it first)
  inspect ID                  namespaces, processes, hostnames, id maps and mounts as JSON
  equivalent [RUN OPTIONS] -- CMD   the same launch as unshare, runc config.json and docker run
  lessons [check] [DIR]       check lesson files (default: the bundled lessons/)
  cleanup [--dry-run]         remove what stopped or crashed containers left (keeps running ones)
  doctor [--json]             check that this machine can run containers, and how to fix it
  ui [--web [--port N] [--host ADDR]]  the desktop app (falls back to web mode), or serve it to a browser

Data lives in $LOCKER_DATA_DIR, else $XDG_DATA_HOME/locker (~/.local/share/locker).
`;

async function ps(argv: string[]): Promise<number> {
  const p = parseArgs(argv, [{ names: ['json'], value: false }, { names: ['all', 'a'], value: false }], 'ps');
  const list = new Runtime().list().filter((c) => flag(p, 'all') || c.state === 'running' || flag(p, 'json'));
  process.stdout.write(flag(p, 'json') ? JSON.stringify(list, null, 2) + '\n' : psTable(list));
  return 0;
}

async function exec(argv: string[]): Promise<number> {
  const p = parseArgs(argv, [{ names: ['tty', 't'], value: false }, { names: ['no-tty'], value: false }, { names: ['interactive', 'i'], value: false },
    { names: ['env', 'e'], value: true, repeat: true }, { names: ['workdir', 'w'], value: true }], 'exec');
  const [id, ...rest] = p.rest;
  const cmd = rest[0] === '--' ? rest.slice(1) : rest;
  if (!id) throw new LockerError('locker exec needs a container id; e.g. locker exec ID -- /bin/sh');
  const tty = flag(p, 'tty') || (!flag(p, 'no-tty') && !!process.stdin.isTTY);
  const handle = await new Runtime().exec(id, cmd.length ? cmd : ['/bin/sh'], {
    tty, env: p.options.get('env'), workdir: one(p, 'workdir'), cols: process.stdout.columns, rows: process.stdout.rows,
  });
  for (const [sig, n] of [['SIGTERM', 15], ['SIGHUP', 1]] as const) process.on(sig, () => handle.kill(n));
  if (!handle.terminal) process.on('SIGINT', () => handle.kill(2));
  const detach = handle.terminal ? attachTerminal(handle.terminal) : undefined;
  const code = await handle.exited;
  await detach?.();
  return code;
}

async function stop(argv: string[]): Promise<number> {
  const p = parseArgs(argv, [{ names: ['time', 't'], value: true }], 'stop');
  const secs = Number(one(p, 'time') ?? '3');
  if (!Number.isFinite(secs) || secs < 0) throw new LockerError(`--time "${one(p, 'time')}" is not a number of seconds; e.g. -t 5`);
  if (p.rest.length === 0) throw new LockerError('locker stop needs a container id; see locker ps');
  const rt = new Runtime();
  for (const id of p.rest) {
    const info = await rt.stop(id, secs * 1000);
    process.stdout.write(`${info.id}\n`);
  }
  return 0;
}

async function rm(argv: string[]): Promise<number> {
  const p = parseArgs(argv, [{ names: ['force', 'f'], value: false }], 'rm');
  if (p.rest.length === 0) throw new LockerError('locker rm needs a container id; see locker ps -a');
  const rt = new Runtime();
  for (const id of p.rest) {
    await rt.remove(id, flag(p, 'force'));
    process.stdout.write(`${id}\n`);
  }
  return 0;
}

async function inspect(argv: string[]): Promise<number> {
  const [id] = parseArgs(argv, [], 'inspect').rest;
  if (!id) throw new LockerError('locker inspect needs a container id; see locker ps');
  const rt = new Runtime();
  const info = rt.get(id);
  if (!info) throw new LockerError(`no container "${id}"; see locker ps for the ids`);
  const details = info.state === 'running' ? await rt.inspect(id) : undefined;
  process.stdout.write(JSON.stringify({ ...info, inspection: details }, null, 2) + '\n');
  return 0;
}

async function ui(argv: string[]): Promise<number> {
  const p = parseArgs(argv, [{ names: ['web'], value: false }, { names: ['port', 'p'], value: true }, { names: ['host'], value: true }], 'ui');
  if (!flag(p, 'web')) {
    if (p.options.has('port') || p.options.has('host')) throw new LockerError('--port and --host are for web mode; add --web');
    // Same as npm start: the Electron window where it can run, else web mode with the reason.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('../start');
    return new Promise<number>(() => undefined);
  }
  const port = one(p, 'port') === undefined ? undefined : Number(one(p, 'port'));
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port < 65536)) throw new LockerError(`--port "${one(p, 'port')}" is not a port number; e.g. --port 8080`);
  // Loaded lazily: the rest of the CLI must not pay for the web server's start-up.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startWeb } = require('../web/start') as typeof import('../web/start');
  const server = await startWeb({ port, host: one(p, 'host') });
  process.stdout.write(`Locker web UI: ${server.url}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  return 0;
}

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  run: runCommand, ps, exec, stop, rm, inspect, ui, equivalent: equivalentCommand, doctor: doctorCommand, cleanup: cleanupCommand, lessons: lessonsCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    process.stdout.write(cmd === 'help' && rest[0] === 'run' ? RUN_HELP : HELP);
    return cmd ? 0 : 2;
  }
  const handler = COMMANDS[cmd];
  if (!handler) {
    process.stderr.write(`locker: unknown command "${cmd}"; run locker --help for the list\n`);
    return 2;
  }
  try {
    return await handler(rest);
  } catch (e) {
    if (e instanceof LockerError || e instanceof SyscallError) {
      process.stderr.write(`locker: ${e.message}\n`);
      return e instanceof LockerError ? 2 : 125;
    }
    throw e;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: Error) => {
      process.stderr.write(`locker: internal error: ${e.stack ?? e}\n`);
      process.exit(125);
    },
  );
}
