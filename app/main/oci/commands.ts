// `locker oci …` (and bin/locker-runtime): a runc-compatible command line, so an engine such as
// podman (`podman --runtime /path/to/bin/locker-runtime`) can run its containers through Locker.
// Global flags as runc's: --root, --log, --log-format, --debug, --systemd-cgroup (refused).
import { spawnSync } from 'node:child_process';
import { writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { kill } from '../../../native/libc';
import { SIGNALS } from '../../../native/constants';
import { openCgroup } from '../runtime/cgroups';
import { waitForExit, decodeWaitStatus } from '../runtime/wait';
import { CAPS } from '../runtime/security/capabilities';
import { ConfigError } from './config';
import { createContainer, startContainer } from './create';
import { execProcess, forwardSignals } from './exec';
import { HookError, runHooksWarning } from './hooks';
import { OciLog } from './log';
import { OciError, checkId, currentStatus, defaultRoot, initAlive, loadState, publicState, removeStateDir, type SavedState } from './state';

export const OCI_HELP = `Usage: locker oci [GLOBAL OPTIONS] COMMAND [OPTIONS] ID
An OCI runtime (runc's command line) on Locker's plan and native step.
Global options: --root DIR (default ${'/run/locker-oci'} as root, $XDG_RUNTIME_DIR/locker-oci otherwise),
  --log FILE, --log-format json|text, --debug, --systemd-cgroup (not supported: refused)
Commands:
  create [--bundle DIR] [--pid-file F] [--console-socket SOCK] [--no-pivot] [--preserve-fds N] ID
  start ID                 release a created container into its program
  run [create options] [--detach|-d] [--keep] ID   create + start, waiting for the exit unless -d
  state ID                 the OCI state JSON (status created|running|stopped)
  kill [--all|-a] ID [SIGNAL]   default SIGTERM
  delete [--force|-f] ID
  exec [--process FILE | ID CMD ARGS…] [--pid-file F] [--detach|-d] [--tty|-t] [--console-socket SOCK]
       [--cwd DIR] [--env|-e K=V]… [--user|-u UID[:GID]] [--additional-gids|-g GID]… [--cap CAP]…
       [--no-new-privs] [--preserve-fds N] ID   a new process in a created or running container
  ps [--format table|json] ID
  features                 what this runtime supports, as JSON
`;

interface Global { root: string; log: OciLog }

const out = (text: string): void => {
  // fs.writeSync, not process.stdout: a stdout pipe shared with a container must stay blocking.
  writeSync(1, text);
};

/** Splits argv into leading options (per `spec`: name → takes a value) and the rest; options may also follow positional args. */
function options(argv: string[], spec: Record<string, boolean>, cmd: string, stopAtFirst = false): { opts: Map<string, string>; rest: string[]; all: Array<[string, string]> } {
  const opts = new Map<string, string>();
  const all: Array<[string, string]> = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      rest.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      rest.push(a);
      // exec [OPTIONS] ID CMD ARGS…: options end at the id (as runc's); the command's are its own.
      if (stopAtFirst) {
        rest.push(...argv.slice(i + 1));
        break;
      }
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.replace(/^--?/, '').slice(0, eq > 0 ? eq - (a.startsWith('--') ? 2 : 1) : undefined);
    if (!(name in spec)) throw new OciError(`unknown option ${a} for locker oci ${cmd}; see locker oci --help`);
    if (spec[name]) {
      const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new OciError(`option ${a} needs a value`);
      opts.set(name, v);
      all.push([ALIASES[name] ?? name, v]);
    } else {
      opts.set(name, 'true');
    }
  }
  return { opts, rest, all };
}

const ALIASES: Record<string, string> = { b: 'bundle', f: 'force', a: 'all', d: 'detach', t: 'tty', e: 'env', u: 'user', g: 'additional-gids', c: 'cap' };
const canon = (m: Map<string, string>): Map<string, string> => new Map([...m].map(([k, v]) => [ALIASES[k] ?? k, v]));

function parseSignal(s: string | undefined): number {
  if (s === undefined) return SIGNALS.SIGTERM;
  if (/^\d+$/.test(s) && Number(s) > 0 && Number(s) < 65) return Number(s);
  const name = s.toUpperCase().replace(/^SIG/, '');
  const n = SIGNALS[`SIG${name}`];
  if (n === undefined) throw new OciError(`unknown signal ${JSON.stringify(s)}; e.g. TERM, KILL, 15`);
  return n;
}

const CREATE_OPTS = { bundle: true, b: true, 'pid-file': true, 'console-socket': true, 'no-pivot': false, 'preserve-fds': true, 'no-new-keyring': false };

function createOptions(g: Global, o: Map<string, string>, id: string) {
  const preserve = Number(o.get('preserve-fds') ?? 0);
  if (!Number.isInteger(preserve) || preserve < 0) throw new OciError('--preserve-fds needs a number of fds (e.g. 2)');
  if (o.has('no-new-keyring')) g.log.write('warning', '--no-new-keyring is not honoured: the container always gets its own session keyring');
  return {
    root: g.root, id, bundle: resolve(o.get('bundle') ?? '.'), pidFile: o.has('pid-file') ? resolve(o.get('pid-file')!) : undefined,
    consoleSocket: o.get('console-socket'), noPivot: o.has('no-pivot'), preserveFds: preserve, log: g.log,
  };
}

/** The state poststart hooks read is the one `start` made: running (the program may have ended already). */
function poststart(g: Global, s: SavedState): void {
  runHooksWarning('poststart', s.poststart, { ...publicState(g.root, s), status: 'running' }, g.log);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitStopped(s: SavedState, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!initAlive(s)) return true;
    await sleep(10);
  }
  return !initAlive(s);
}

async function deleteContainer(g: Global, s: SavedState, force: boolean): Promise<void> {
  const status = currentStatus(g.root, s);
  // runtime.md: deleting a container that is not stopped MUST be an error (runc deletes a created one; engines pass --force).
  if (status !== 'stopped' && !force) throw new OciError(`container ${s.id} is ${status}; stop it first (locker oci kill ${s.id} KILL) or use delete --force`);
  if (status !== 'stopped') {
    kill(s.pid, SIGNALS.SIGKILL, 3 /* ESRCH */);
    if (!(await waitStopped(s, 5000))) throw new OciError(`container ${s.id}: pid ${s.pid} is still alive 5 s after SIGKILL`);
  }
  if (s.cgroup) await openCgroup(s.id).remove();
  runHooksWarning('poststop', s.poststop, { ...publicState(g.root, s), status: 'stopped' }, g.log);
  removeStateDir(g.root, s.id);
}

function psOf(s: SavedState): number[] {
  if (s.cgroup) {
    const pids = openCgroup(s.id).pids().filter((p) => p > 0);
    if (pids.length) return pids;
  }
  return initAlive(s) ? [s.pid] : [];
}

const FEATURES = {
  ociVersionMin: '1.0.0',
  ociVersionMax: '1.0.2',
  hooks: ['prestart', 'createRuntime', 'poststart', 'poststop'],
  mountOptions: ['ro', 'rw', 'nosuid', 'suid', 'nodev', 'dev', 'noexec', 'exec', 'sync', 'async', 'dirsync', 'mand', 'nomand', 'noatime', 'atime',
    'nodiratime', 'diratime', 'relatime', 'norelatime', 'strictatime', 'nostrictatime', 'bind', 'rbind', 'remount', 'silent', 'loud',
    'private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave', 'unbindable', 'runbindable'],
  linux: {
    namespaces: ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup'],
    capabilities: CAPS.map((c) => `CAP_${c}`),
    cgroup: { v1: true, v2: true, systemd: false, systemdUser: false },
    seccomp: { enabled: true, actions: ['SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO'], operators: ['SCMP_CMP_EQ', 'SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_GT', 'SCMP_CMP_GE', 'SCMP_CMP_MASKED_EQ'], archs: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_AARCH64'] },
    apparmor: { enabled: false },
    selinux: { enabled: false },
  },
  annotations: { 'org.locker.runtime': 'locker oci' },
};

async function dispatch(g: Global, cmd: string, argv: string[]): Promise<number> {
  switch (cmd) {
    case 'create': {
      const { opts, rest } = options(argv, CREATE_OPTS, cmd);
      createContainer(createOptions(g, canon(opts), checkId(rest[0])));
      return 0;
    }
    case 'run': {
      const { opts, rest } = options(argv, { ...CREATE_OPTS, detach: false, d: false, keep: false }, cmd);
      const o = canon(opts);
      const id = checkId(rest[0]);
      const { pid, state } = createContainer(createOptions(g, o, id));
      // The init is this process's child: its exit is ours to collect.
      const exited = waitForExit(pid);
      startContainer(g.root, state);
      poststart(g, state);
      if (o.has('detach')) return 0;
      const { exitCode } = decodeWaitStatus(await exited);
      if (!o.has('keep')) await deleteContainer(g, state, true);
      return exitCode;
    }
    case 'start': {
      const { rest } = options(argv, {}, cmd);
      const s = loadState(g.root, checkId(rest[0]));
      const status = currentStatus(g.root, s);
      if (status !== 'created') throw new OciError(`cannot start container ${s.id}: it is ${status}, not created`);
      startContainer(g.root, s);
      poststart(g, s);
      return 0;
    }
    case 'state': {
      const { rest } = options(argv, {}, cmd);
      out(JSON.stringify(publicState(g.root, loadState(g.root, checkId(rest[0]))), null, 2) + '\n');
      return 0;
    }
    case 'kill': {
      const { opts, rest } = options(argv, { all: false, a: false }, cmd);
      const s = loadState(g.root, checkId(rest[0]));
      const sig = parseSignal(rest[1]);
      if (currentStatus(g.root, s) === 'stopped') throw new OciError(`container ${s.id} is not running`);
      const targets = canon(opts).has('all') ? psOf(s) : [s.pid];
      for (const p of targets) kill(p, sig, 3 /* ESRCH */);
      return 0;
    }
    case 'delete': {
      const { opts, rest } = options(argv, { force: false, f: false }, cmd);
      const id = checkId(rest[0]);
      let s: SavedState;
      try {
        s = loadState(g.root, id);
      } catch (e) {
        if (canon(opts).has('force')) return 0;
        throw e;
      }
      await deleteContainer(g, s, canon(opts).has('force'));
      return 0;
    }
    case 'exec': {
      const spec = {
        process: true, p: true, 'pid-file': true, 'console-socket': true, detach: false, d: false, tty: false, t: false, cwd: true,
        env: true, e: true, user: true, u: true, 'additional-gids': true, g: true, cap: true, c: true, 'no-new-privs': false,
        'preserve-fds': true, 'process-label': true, apparmor: true, 'ignore-paused': false,
      };
      const { opts, rest, all } = options(argv, spec, cmd, true);
      const o = canon(new Map([...opts].map(([k, v]) => [k === 'p' ? 'process' : k, v])));
      const many = (name: string): string[] => all.filter(([k]) => k === name).map(([, v]) => v);
      const preserve = Number(o.get('preserve-fds') ?? 0);
      if (!Number.isInteger(preserve) || preserve < 0) throw new OciError('--preserve-fds needs a number of fds (e.g. 2)');
      const gids = many('additional-gids').map((g) => {
        if (!/^\d+$/.test(g)) throw new OciError(`--additional-gids ${g}: give a numeric group id`);
        return Number(g);
      });
      for (const lsm of ['process-label', 'apparmor']) if (o.has(lsm)) g.log.write('warning', `--${lsm} is not applied: locker oci sets no LSM labels`);
      const id = checkId(rest[0]);
      const { pid } = execProcess({
        root: g.root, id, processFile: o.has('process') ? resolve(o.get('process')!) : undefined, args: rest.slice(1),
        pidFile: o.has('pid-file') ? resolve(o.get('pid-file')!) : undefined, consoleSocket: o.get('console-socket'), tty: o.has('tty'),
        cwd: o.get('cwd'), env: many('env'), user: o.get('user'), additionalGids: gids, caps: many('cap'), noNewPrivs: o.has('no-new-privs'),
        preserveFds: preserve, log: g.log,
      });
      if (o.has('detach')) return 0;
      // The process is this one's child: its exit status is exec's.
      const stop = forwardSignals(pid);
      try {
        return decodeWaitStatus(await waitForExit(pid)).exitCode;
      } finally {
        stop();
      }
    }
    case 'ps': {
      const { opts, rest } = options(argv, { format: true, f: true }, cmd);
      const s = loadState(g.root, checkId(rest[0]));
      const pids = psOf(s);
      const format = opts.get('format') ?? opts.get('f') ?? 'table';
      if (format === 'json') {
        out(JSON.stringify(pids) + '\n');
        return 0;
      }
      if (format !== 'table') throw new OciError(`--format ${format}: use table or json`);
      const ps = spawnSync('ps', ['-o', 'user,pid,ppid,stime,time,cmd', ...(pids.length ? ['-p', pids.join(',')] : ['-p', '0'])], { encoding: 'utf8' });
      out(ps.stdout);
      return 0;
    }
    case 'features':
      out(JSON.stringify(FEATURES, null, 2) + '\n');
      return 0;
    default:
      throw new OciError(`unknown command "${cmd}"; locker oci implements create, start, run, exec, state, kill, delete, ps, features`);
  }
}

export async function ociCommand(argv: string[]): Promise<number> {
  let i = 0;
  let root: string | undefined;
  let logFile: string | undefined;
  let format: 'json' | 'text' = 'text';
  let debug = false;
  for (; i < argv.length && argv[i].startsWith('-'); i++) {
    const [name, inline] = argv[i].includes('=') ? [argv[i].slice(0, argv[i].indexOf('=')), argv[i].slice(argv[i].indexOf('=') + 1)] : [argv[i], undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new OciError(`option ${name} needs a value`);
      return v;
    };
    if (name === '--help' || name === '-h') {
      out(OCI_HELP);
      return 0;
    }
    if (name === '--root') root = resolve(value());
    else if (name === '--log') logFile = value();
    else if (name === '--log-format') {
      const f = value();
      if (f !== 'json' && f !== 'text') throw new OciError(`--log-format ${f}: use json or text`);
      format = f;
    } else if (name === '--debug') debug = true;
    else if (name === '--systemd-cgroup') throw new OciError('--systemd-cgroup is not supported: Locker manages cgroupfs directly; configure the engine with --cgroup-manager=cgroupfs');
    else throw new OciError(`unknown global option ${name} for locker oci; see locker oci --help`);
  }
  const cmd = argv[i];
  const g: Global = { root: root ?? defaultRoot(), log: new OciLog(logFile, format, debug) };
  if (!cmd) {
    out(OCI_HELP);
    return 2;
  }
  try {
    return await dispatch(g, cmd, argv.slice(i + 1));
  } catch (e) {
    if (e instanceof OciError || e instanceof ConfigError || e instanceof HookError || e instanceof Error) {
      g.log.write('error', e.message);
      return 1;
    }
    throw e;
  }
}
