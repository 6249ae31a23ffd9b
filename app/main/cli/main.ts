// The `locker` command line: run, ps, exec, stop, rm, inspect, ui.
import { resolve as resolvePath } from 'node:path';
import { SyscallError } from '../../../native/errors';
import { LockerError } from '../runtime/errors';
import { Runtime } from '../runtime/runtime';
import { flag, one, parseArgs } from './args';
import { psTable } from './format';
import { cliIo, needsOwnProcess } from './io';
import { lazyModule } from './lazy';
/* eslint-disable @typescript-eslint/no-require-imports */
// Each command's modules load when it runs (lazy.ts): a read such as `locker ps` stays small.
const { attachCommand, attachTerminal } = lazyModule(() => require('./attach') as typeof import('./attach'));
const { logsCommand } = lazyModule(() => require('./logs') as typeof import('./logs'));
const { containerStdio } = lazyModule(() => require('./stdio') as typeof import('./stdio'));
const { discoveredTable, execDiscovered, inspectDiscovered, lockerRecords } = lazyModule(() => require('./discovered') as typeof import('./discovered'));
const { discoverContainers } = lazyModule(() => require('../runtime/discover') as typeof import('../runtime/discover'));
const { runCommand } = lazyModule(() => require('./run') as typeof import('./run'));
const runHelp = (): string => (require('./run') as typeof import('./run')).RUN_HELP;
const { equivalentCommand } = lazyModule(() => require('../equivalent') as typeof import('../equivalent'));
const { doctorCommand } = lazyModule(() => require('../doctor') as typeof import('../doctor'));
const { cleanupCommand } = lazyModule(() => require('./cleanup') as typeof import('./cleanup'));
const { lessonsCommand } = lazyModule(() => require('./lessons') as typeof import('./lessons'));
const { imageCommand, imagesCommand, rmiCommand } = lazyModule(() => require('./images') as typeof import('./images'));
/* eslint-enable @typescript-eslint/no-require-imports */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { killCommand, startCommand, topCommand } = lazyModule(() => require('./control') as typeof import('./control'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { eachId } = lazyModule(() => require('./each') as typeof import('./each'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { restartCommand, statsCommand, waitCommand } = lazyModule(() => require('./lifecycle') as typeof import('./lifecycle'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { cpCommand } = lazyModule(() => require('./cp') as typeof import('./cp'));

const HELP = `Usage: locker COMMAND [OPTIONS]

A container is just a Linux process with isolation. Commands:
  run [OPTIONS] [--] CMD...   run CMD in a new container (locker run --help)
  ps [-a] [-q] [--json]       list running containers (-a: exited ones too; -q: ids only; --all-engines: every container on the machine,
                              runc, crun, podman, docker, nspawn, LXC, bwrap…, with its engine)
  exec [-t] [-u USER] [-e K=V] [-w DIR] [--ulimit NAME=SOFT[:HARD]] ID -- CMD...
                              run CMD inside a running container (--ulimit: run's grammar, for CMD only)
  logs [-f] [--tail N] ID     the output of a container started with run -d (-f: follow it)
  attach ID                   the terminal of a container started with run -d -t (Ctrl-P Ctrl-Q
                              detaches and leaves it running)
  stop [-t SECONDS] ID...     SIGTERM, then SIGKILL after the grace period (default 3 s)
                              (at once when PID 1 has no SIGTERM handler: the kernel drops it, as for sleep)
  kill [-s SIGNAL] ID...      send a signal to the container's PID 1 (default KILL; TERM, SIGHUP, 15…)
  start [-a] ID...            run an exited container kept with --keep or run -d again, detached
                              (-a: one container, its output or terminal until it exits, with its exit status)
  restart [-t SECONDS] ID...  stop, then start again, detached (containers started with run -d, or kept)
  wait ID...                  wait until each container exits; print its exit status
  top ID                      the container's processes: host PID and PID inside, and command
  stats [--no-stream] [--json] [ID...]
                              CPU, memory, network and pids of running containers, from their cgroup
                              (or their processes in /proc where they have none), every second
  cp ID:PATH HOSTPATH, cp HOSTPATH ID:PATH
                              copy files out of or into a container, running or exited and kept (resolved
                              inside it); - for a tar stream: cp ID:PATH - | tar -t, tar -c x | cp - ID:DIR
  rm [-f] ID...               remove a container's record (-f stops it first)
  inspect [--host-processes] ID|PID
                              namespaces, processes, hostnames, id maps and mounts as JSON (--host-processes:
                              the host's whole process table too, as the app's side-by-side view has it)
  images [--json]             layered images imported (docker save archives, OCI layouts)
  rmi ID|NAME...              remove an image and its unshared layers (refused while a container uses it)
  image prune                 remove every image no container (running or kept) uses (image ls, image rm too)
  equivalent [RUN OPTIONS] -- CMD   the same launch as unshare, runc config.json and docker run
  lessons [check] [DIR]       check lesson files (default: the bundled lessons/)
  cleanup [--dry-run]         remove what stopped or crashed containers left (keeps running ones)
  oci COMMAND …               an OCI runtime with runc's command line (locker oci --help);
                              podman --runtime bin/locker-runtime runs its containers through it
  doctor [--json]             check that this machine can run containers, and how to fix it
  --version                   print the version
  ui [--projector] [--web [--port N] [--host ADDR] [--host-shell|--no-host-shell]]  the desktop app (falls back to
                              web mode), or serve it to a browser; the host shell pane is on for
                              loopback only unless --host-shell / --no-host-shell says otherwise;
                              --share DIR: the one folder its volumes may bind from (default <data dir>/share)

Data lives in $LOCKER_DATA_DIR, else $XDG_DATA_HOME/locker (~/.local/share/locker).
Most commands are run by your resident CLI server (no Node start per command); it starts and ends by
itself. LOCKER_NO_CLI_SERVER=1: every command runs with Node instead.
`;

/** For commands that only read: no crash recovery at start (it runs with the next run, stop or rm). */
const READING = { recover: false };

async function ps(argv: string[]): Promise<number> {
  const p = parseArgs(argv, [{ names: ['json'], value: false }, { names: ['all', 'a'], value: false }, { names: ['all-engines'], value: false }, { names: ['quiet', 'q'], value: false }], 'ps');
  if (flag(p, 'all-engines')) {
    const found = discoverContainers(lockerRecords(new Runtime(READING).list()));
    cliIo().stdout.write(flag(p, 'json') ? JSON.stringify(found, null, 2) + '\n' : discoveredTable(found));
    return 0;
  }
  const list = new Runtime(READING).list().filter((c) => flag(p, 'all') || c.state === 'running' || flag(p, 'json'));
  cliIo().stdout.write(flag(p, 'json') ? JSON.stringify(list, null, 2) + '\n' : flag(p, 'quiet') ? list.map((c) => `${c.id}\n`).join('') : psTable(list));
  return 0;
}

async function exec(argv: string[]): Promise<number> {
  const p = parseArgs(argv, [{ names: ['tty', 't'], value: false }, { names: ['no-tty'], value: false }, { names: ['interactive', 'i'], value: false },
    { names: ['env', 'e'], value: true, repeat: true }, { names: ['workdir', 'w'], value: true }, { names: ['user', 'u'], value: true },
    { names: ['ulimit'], value: true, repeat: true }], 'exec');
  const [id, ...rest] = p.rest;
  const cmd = rest[0] === '--' ? rest.slice(1) : rest;
  if (!id) throw new LockerError('locker exec needs a container id; e.g. locker exec ID -- /bin/sh');
  const io = cliIo();
  const tty = flag(p, 'tty') || (!flag(p, 'no-tty') && io.stdinIsTTY);
  // A terminal is passed on by a CLI process of its own (attach.ts), not by the server.
  if (tty) needsOwnProcess();
  const rt = new Runtime(READING);
  // Without a tty the process gets blocking descriptions of our pipes, as `run` gives its init.
  const stdio = tty ? undefined : containerStdio();
  const execOpts = { tty, env: p.options.get('env'), workdir: one(p, 'workdir'), user: one(p, 'user'), ulimits: p.options.get('ulimit'), cols: io.stdout.columns, rows: io.stdout.rows, stdio: stdio?.fds };
  const argvToRun = cmd.length ? cmd : ['/bin/sh'];
  let handle;
  try {
    // Not one of ours: another engine's container (locker ps --all-engines), entered with setns.
    handle = (rt.get(id) ? undefined : execDiscovered(id, rt.list(), argvToRun, execOpts)) ?? await rt.exec(id, argvToRun, execOpts);
  } finally {
    stdio?.close();
  }
  for (const [sig, n] of [['SIGTERM', 15], ['SIGHUP', 1]] as const) io.onSignal(sig, () => handle.kill(n));
  if (!handle.terminal) io.onSignal('SIGINT', () => handle.kill(2));
  io.onGone(() => handle.kill(9));
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
  // All at once: N containers stop within one grace period, not N of them one after another.
  // Each id is printed (in the order given) or its problem is one line; the status says if any failed.
  const results = await Promise.allSettled(p.rest.map((id) => rt.stop(id, secs * 1000)));
  let failed = 0;
  for (const r of results) {
    if (r.status === 'fulfilled') cliIo().stdout.write(`${r.value.id}\n`);
    else if (r.reason instanceof LockerError) {
      cliIo().stderr.write(`locker: ${r.reason.message}\n`);
      failed++;
    } else throw r.reason;
  }
  return failed ? 2 : 0;
}

async function rm(argv: string[]): Promise<number> {
  const p = parseArgs(argv, [{ names: ['force', 'f'], value: false }], 'rm');
  if (p.rest.length === 0) throw new LockerError('locker rm needs a container id; see locker ps -a');
  const rt = new Runtime();
  // Every id is tried: one missing id is reported and the others are still removed.
  return eachId(p.rest, (id) => rt.remove(id, flag(p, 'force')));
}

async function inspect(argv: string[]): Promise<number> {
  const p = parseArgs(argv, [{ names: ['host-processes'], value: false }], 'inspect');
  const [id] = p.rest;
  if (!id) throw new LockerError('locker inspect needs a container id; see locker ps');
  const rt = new Runtime(READING);
  const info = rt.get(id);
  if (!info) {
    // Not one of ours: any container on the machine, by its engine's id, name or host PID.
    const foreign = await inspectDiscovered(id, rt.list());
    if (!foreign) throw new LockerError(`no container "${id}"; see locker ps (or locker ps --all-engines for every engine's) for the ids`);
    cliIo().stdout.write(JSON.stringify(foreign, null, 2) + '\n');
    return 0;
  }
  // The container's own processes, found from its init down: the cost follows the container. The
  // host's whole table (the app's side-by-side view) only when asked for.
  const details = info.state !== 'running' ? undefined : flag(p, 'host-processes') ? await rt.inspect(id) : await rt.inspectContainerOnly(id);
  cliIo().stdout.write(JSON.stringify({ ...info, inspection: details }, null, 2) + '\n');
  return 0;
}

async function ui(argv: string[]): Promise<number> {
  const p = parseArgs(argv, [
    { names: ['web'], value: false }, { names: ['port', 'p'], value: true }, { names: ['host'], value: true },
    { names: ['host-shell'], value: false }, { names: ['no-host-shell'], value: false },
    { names: ['projector'], value: false }, { names: ['share'], value: true },
  ], 'ui');
  // projector mode: the window opens with ?projector=1 (Electron reads LOCKER_PROJECTOR)
  const projector = flag(p, 'projector');
  if (projector) process.env.LOCKER_PROJECTOR = '1';
  // the one folder the app's volumes (launch form, lessons) may bind from (app/main/api/share-volumes.ts)
  const share = one(p, 'share');
  if (share !== undefined) {
    if (share.trim() === '' || share.includes('\0')) throw new LockerError('--share needs a folder, e.g. --share /srv/class');
    process.env.LOCKER_SHARE_DIR = resolvePath(share);
  }
  if (!flag(p, 'web')) {
    if (p.options.has('port') || p.options.has('host')) throw new LockerError('--port and --host are for web mode; add --web');
    if (flag(p, 'host-shell') || flag(p, 'no-host-shell')) throw new LockerError('--host-shell and --no-host-shell are for web mode; add --web');
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
  if (flag(p, 'host-shell') && flag(p, 'no-host-shell')) throw new LockerError('--host-shell and --no-host-shell contradict each other; keep one');
  const hostShell = flag(p, 'host-shell') ? true : flag(p, 'no-host-shell') ? false : undefined;
  const server = await startWeb({ port, host: one(p, 'host'), hostShell });
  // Listening for the stop before the URL goes out: whoever reads the URL may stop us at once. Every
  // further SIGINT/SIGTERM while closing is absorbed (the default action would kill us mid-close).
  const stopped = new Promise<void>((resolve) => {
    process.on('SIGINT', resolve);
    process.on('SIGTERM', resolve);
  });
  if (server.warning) cliIo().stderr.write(`${server.warning}\n`);
  cliIo().stdout.write(`Locker web UI: ${projector ? withProjector(server.url) : server.url}\n`);
  await stopped;
  await server.close();
  return 0;
}

/** `locker oci …`: the runc-compatible OCI runtime (app/main/oci), loaded only when asked for. */
async function oci(argv: string[]): Promise<number> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('../oci/commands') as typeof import('../oci/commands')).ociCommand(argv);
}

/** The page URL with ?projector=1 before its #token fragment. */
export function withProjector(url: string): string {
  const u = new URL(url);
  u.searchParams.set('projector', '1');
  return u.toString();
}

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  oci,
  run: runCommand, ps, exec, logs: logsCommand, attach: attachCommand, stop, rm, inspect, ui, equivalent: equivalentCommand, doctor: doctorCommand, cleanup: cleanupCommand, lessons: lessonsCommand, images: imagesCommand, rmi: rmiCommand, image: imageCommand,
  kill: killCommand, start: startCommand, top: topCommand, cp: cpCommand,
  restart: restartCommand, wait: waitCommand, stats: statsCommand,
};

/** Commands whose --help is a page of their own; the others get their entry of HELP. */
const OWN_HELP = new Set(['run', 'doctor', 'equivalent', 'oci']);

/** Whether the options (before the first operand or `--`) ask for help: `locker exec ID -- cmd --help` does not. */
function asksHelp(args: string[]): boolean {
  for (const a of args) {
    if (a === '--help' || a === '-h') return true;
    if (a === '--' || !a.startsWith('-')) return false;
  }
  return false;
}

/** COMMAND's entry of HELP (its line and the indented lines that continue it). */
function commandHelp(cmd: string): string | undefined {
  const lines = HELP.split('\n');
  const at = lines.findIndex((l) => l.startsWith(`  ${cmd} `) || l === `  ${cmd}`);
  if (at < 0) return undefined;
  let end = at + 1;
  while (end < lines.length && /^ {20,}\S/.test(lines[end])) end++;
  const entry = lines.slice(at, end).map((l) => l.slice(2)).join('\n');
  return `Usage: locker ${entry}\n\nEvery command: locker --help\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    const topic = cmd === 'help' ? rest[0] : undefined;
    cliIo().stdout.write(topic === 'run' ? runHelp() : (topic && commandHelp(topic)) || HELP);
    return cmd ? 0 : 2;
  }
  if (COMMANDS[cmd] && !OWN_HELP.has(cmd) && asksHelp(rest)) {
    const help = commandHelp(cmd);
    if (help) {
      cliIo().stdout.write(help);
      return 0;
    }
  }
  if (cmd === '--version' || cmd === 'version') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    cliIo().stdout.write(`locker ${(require('../../../../package.json') as { version: string }).version}\n`);
    return 0;
  }
  const handler = COMMANDS[cmd];
  if (!handler) {
    cliIo().stderr.write(`locker: unknown command "${cmd}"; run locker --help for the list\n`);
    return 2;
  }
  try {
    return await handler(rest);
  } catch (e) {
    if (e instanceof LockerError || e instanceof SyscallError) {
      cliIo().stderr.write(`locker: ${e.message}\n`);
      return e instanceof LockerError ? 2 : 125;
    }
    throw e;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: Error) => {
      cliIo().stderr.write(`locker: internal error: ${e.stack ?? e}\n`);
      process.exit(125);
    },
  );
}
