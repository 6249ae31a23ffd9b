// Bad input, table-driven, over all four ways in: the CLI (the real bin/locker in a child process),
// IPC (the same LockerService.dispatch the Electron handler calls, on a real Runtime), the WebSocket
// of web mode (a real startWeb() server and ws client), and teachers' lesson files (loadLessons).
// Every row: one clear line naming the problem; afterwards a valid request still works; and the
// host gained nothing (mounts, container dirs, locker/ cgroups, veths, child processes).
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { Channel, type Envelope, type ServerMessage } from '../../shared/api';
import { tokenProtocols } from '../../shared/web-auth';
import { LockerService } from '../api/service';
import { loadLessons } from '../lessons/loader';
import { compareHost, snapshotHost, type HostSnapshot, type Leak } from '../runtime/host-check';
import { hostVethName } from '../runtime/network';
import { Runtime } from '../runtime/runtime';
import { CLI, REPO, TEST_USER, runAsUser, sandbox } from '../testing/harness';
import { startWeb, type WebServer } from '../web/start';

const MB = 1024 * 1024;
const huge = 'x'.repeat(MB);

// ---- the tables ---------------------------------------------------------------------------------

/** CLI: exit code 2, nothing on stdout, one line on stderr matching `error`. */
interface CliRow { what: string; args: string[]; error: RegExp }
const CLI_TABLE: Array<[string, string[], RegExp]> = [
  ['an unknown namespace', ['run', '--ns', 'pid,../../etc/shadow', '--', 'true'], /^locker: unknown namespace "\.\.\/\.\.\/etc\/shadow" in --ns/],
  ['a rootfs that is a host secret, by traversal', ['run', '--rootfs', '../../../../../../etc/shadow', '--', 'true'], /^locker: --rootfs \/etc\/shadow is not a readable tar archive/],
  ['a relative workdir with traversal', ['run', '--workdir', '../../etc', '--', 'true'], /--workdir "\.\.\/\.\.\/etc" must be an absolute path/],
  ['a name with traversal', ['run', '--name', '../../etc', '--', 'true'], /invalid name "\.\.\/\.\.\/etc"/],
  ['a name "__proto__"', ['run', '--name', '__proto__', '--', 'true'], /invalid name "__proto__"/],
  ['a hostname "constructor.__proto__"', ['run', '--hostname', 'constructor.__proto__', '--', 'true'], /invalid hostname "constructor\.__proto__"/],
  ['a 120 kB hostname (argv holds at most 128 kB)', ['run', '--hostname', 'h'.repeat(120_000), '--', 'true'], /is 120000 bytes; the kernel allows at most 64$/],
  ['a negative pids limit', ['run', '--pids-limit', '-1', '--', 'true'], /--pids-limit "-1": expected a whole number/],
  ['a NaN pids limit', ['run', '--pids-limit', 'NaN', '--', 'true'], /--pids-limit "NaN": expected a whole number/],
  ['an Infinity pids limit', ['run', '--pids-limit', 'Infinity', '--', 'true'], /--pids-limit "Infinity": expected a whole number/],
  ['a negative memory size', ['run', '--memory', '-5m', '--', 'true'], /--memory "-5m": expected a size/],
  ['a memory size in exponent form', ['run', '--memory', '1e99', '--', 'true'], /--memory "1e99": expected a size/],
  ['Infinity cpus', ['run', '--cpus', 'Infinity', '--', 'true'], /--cpus "Infinity": expected a number of CPUs/],
  ['NaN cpus', ['run', '--cpus', 'NaN', '--', 'true'], /--cpus "NaN": expected a number of CPUs/],
  ['a NaN stop timeout', ['stop', '-t', 'NaN', 'abc'], /--time "NaN" is not a number of seconds/],
  ['a negative stop timeout', ['stop', '-t', '-1', 'abc'], /--time "-1" is not a number of seconds/],
  ['stop with a path for an id', ['stop', '../../etc/shadow'], /^locker: no container "\.\.\/\.\.\/etc\/shadow"; see locker ps/],
  ['rm with a path for an id', ['rm', '../../../tmp'], /^locker: no container "\.\.\/\.\.\/\.\.\/tmp"/],
  ['inspect "constructor"', ['inspect', 'constructor'], /^locker: no container "constructor"/],
  ['exec into "__proto__"', ['exec', '__proto__', '--', 'true'], /^locker: no container "__proto__"/],
  ['a negative port', ['ui', '--web', '--port', '-1'], /--port "-1" is not a port number/],
  ['a port out of range', ['ui', '--web', '--port', '70000'], /--port "70000" is not a port number/],
  ['a NaN port', ['ui', '--web', '--port', 'NaN'], /--port "NaN" is not a port number/],
  ['an env entry without a key', ['run', '--env', '=x', '--', 'true'], /invalid --env "=x": expected KEY=VALUE/],
  ['a value for a flag', ['ps', '--json=1'], /option --json takes no value/],
  ['a volume source that does not exist', ['run', '-v', '/nonexistent-locker-src:/data', '--', 'true'], /^locker: volume source "\/nonexistent-locker-src" does not exist on the host/],
  ['a volume source under /proc', ['run', '-v', '/proc/1/root:/data', '--', 'true'], /^locker: volume source "\/proc\/1\/root" is under \/proc/],
  ['a volume source under /sys, by traversal', ['run', '-v', '/tmp/../sys/kernel:/data', '--', 'true'], /is under \/sys, the kernel's own interface/],
  ['a volume target with traversal', ['run', '-v', '/tmp:/../../etc', '--', 'true'], /^locker: -v "\/tmp:\/\.\.\/\.\.\/etc": the container path may not contain '\.\.'/],
  ['a relative volume target', ['run', '-v', '/tmp:data', '--', 'true'], /the container path must be absolute/],
  ['a volume over the container\'s /', ['run', '-v', '/tmp:/', '--', 'true'], /cannot bind over the container's \/;/],
  ['a --mount of another type', ['run', '--mount', 'type=tmpfs,dst=/x', '--', 'true'], /^locker: --mount "type=tmpfs,dst=\/x": only type=bind is supported/],
  ['an unknown capability to add', ['run', '--cap-add', 'CAP_FLY', '--', 'true'], /^locker: --cap-add "CAP_FLY": unknown capability; use docker's names/],
  ['an unknown capability to drop, among good ones', ['run', '--cap-drop', 'CHOWN,__proto__', '--', 'true'], /^locker: --cap-drop "__proto__": unknown capability/],
  ['a user name for --user', ['run', '--user', '../../etc/passwd', '--', 'true'], /^locker: --user "\.\.\/\.\.\/etc\/passwd": not a number or a user\/group name; e\.g\. --user 1000:1000/],
  ['a --user id past (uid_t)-2', ['run', '--user', '0:4294967295', '--', 'true'], /^locker: --user "0:4294967295": ids go up to 4294967294/],
  ['--read-only without the mnt namespace', ['run', '--read-only', '--no-ns', 'mnt', '--', 'true'], /^locker: --read-only needs the mnt namespace/],
];
const CLI_ROWS: CliRow[] = CLI_TABLE.map(([what, args, error]) => ({ what, args, error }));

/** IPC: dispatch(method, arg) answers { error } matching `error`, one line. */
interface IpcRow { what: string; method: string; arg: unknown | ((id: string) => unknown); error: RegExp }
const run = { command: ['/bin/sh'], namespaces: ['pid', 'uts', 'mnt'], cols: 80, rows: 24 };
const IPC_TABLE: Array<[string, string, unknown, RegExp]> = [
  ['run with null', 'run', null, /^run must be an object, got null$/],
  ['run with an array instead of an object', 'run', [run], /^run must be an object, got an array$/],
  ['run with a string', 'run', 'sh', /^run must be an object, got a string$/],
  ['run with a command string instead of argv', 'run', { ...run, command: '/bin/sh -c id' }, /^run\.command must be an array, got a string$/],
  ['run with a number in argv', 'run', { ...run, command: [1] }, /^run\.command\[0\] must be a string, got a number \(1\)$/],
  ['run with a 1 MB argv entry', 'run', { ...run, command: [huge] }, /^run\.command\[0\] is 1048576 characters long; the limit is 4096$/],
  ['run with 100 000 argv entries', 'run', { ...run, command: Array(100_000).fill('a') }, /^run\.command has 100000 entries; the limit is 256$/],
  ['run with a NUL byte in argv', 'run', { ...run, command: ['/bin/sh', 'a\0b'] }, /^run\.command\[1\] contains a NUL byte$/],
  ['run with a 1 MB hostname', 'run', { ...run, hostname: huge }, /^run\.hostname is 1048576 characters long; the limit is 253$/],
  ['run with a NUL byte in the hostname', 'run', { ...run, hostname: 'a\0b' }, /^run\.hostname contains a NUL byte$/],
  ['run with an unknown namespace', 'run', { ...run, namespaces: ['pid', 'time'] }, /^run\.namespaces\[1\] must be one of pid, uts, mnt, user, ipc, net, cgroup$/],
  ['run with namespaces as a string', 'run', { ...run, namespaces: 'pid,uts' }, /^run\.namespaces must be an array, got a string$/],
  ['run with NaN columns', 'run', { ...run, cols: NaN }, /^run\.cols must be an integer, got a number \(NaN\)$/],
  ['run with Infinity rows', 'run', { ...run, rows: Infinity }, /^run\.rows must be an integer, got a number \(Infinity\)$/],
  ['run with negative columns', 'run', { ...run, cols: -80 }, /^run\.cols must be between 1 and 1000, got -80$/],
  ['run with a bigint pids limit', 'run', { ...run, pidsLimit: 20n }, /^run\.pidsLimit must be an integer, got a bigint$/],
  ['run with a negative pids limit', 'run', { ...run, pidsLimit: -1 }, /^run\.pidsLimit "-1": expected a whole number of processes, at least 1/],
  ['run with NaN cpus', 'run', { ...run, cpus: 'NaN' }, /^run\.cpus "NaN": expected a number of CPUs like 0\.5 or 2$/],
  ['run with a negative memory size', 'run', { ...run, memory: '-64m' }, /^run\.memory "-64m": expected a size like 64m or 1g/],
  ['run with a relative rootfs (traversal)', 'run', { ...run, rootfs: '../../etc/shadow' }, /^run\.rootfs has an unexpected form: an absolute path, or empty for the embedded default$/],
  ['run with an unknown field', 'run', { ...run, privileged: true }, /^run has an unknown field "privileged"$/],
  ['run with a "__proto__" field (as JSON.parse makes it)', 'run', JSON.parse(`{"command":["/bin/sh"],"namespaces":[],"cols":80,"rows":24,"__proto__":{"isAdmin":true}}`), /^run has an unknown field "__proto__"$/],
  ['run with a "constructor" field', 'run', { ...run, constructor: { prototype: { polluted: 1 } } }, /^run has an unknown field "constructor"$/],
  ['run with a Date instead of an object', 'run', new Date(0), /^run must be a plain object$/],
  ['a "constructor" method', 'constructor', {}, /^unknown method "constructor"$/],
  ['a "__proto__" method', '__proto__', {}, /^unknown method "__proto__"$/],
  ['a "dispatch" method', 'dispatch', {}, /^unknown method "dispatch"$/],
  ['stop with a path for an id', 'stop', { id: '../../etc/shadow' }, /^stop\.id has an unexpected form: a container id/],
  ['stop with a numeric id', 'stop', { id: 42 }, /^stop\.id must be a string, got a number \(42\)$/],
  ['remove an id that does not exist', 'remove', { id: 'nope' }, /^no container "nope"/],
  ['listDir with a relative traversal', 'listDir', (id: string) => ({ id, side: 'container', path: '../../etc/shadow' }), /^listDir\.path has an unexpected form: an absolute path starting with \/$/],
  ['listDir of /../../etc/shadow stays in the container', 'listDir', (id: string) => ({ id, side: 'container', path: '/../../etc/shadow' }), /^cannot list \/\.\.\/\.\.\/etc\/shadow in the container \(pid \d+\): no such file or directory$/],
  ['listDir through the magic link /proc/1/root', 'listDir', (id: string) => ({ id, side: 'container', path: '/proc/1/root/etc' }), /^cannot list \/proc\/1\/root\/etc in the container \(pid \d+\): too many symlinks, or a magic link/],
  ['listDir with a NUL byte', 'listDir', (id: string) => ({ id, side: 'container', path: '/etc\0/../' }), /^listDir\.path contains a NUL byte$/],
  ['listDir with a 1 MB path', 'listDir', (id: string) => ({ id, side: 'host', path: '/' + huge }), /^listDir\.path is 1048577 characters long; the limit is 4096$/],
  ['listDir with a wrong side', 'listDir', (id: string) => ({ id, side: 'root', path: '/' }), /^listDir\.side must be one of host, container$/],
  ['writeTerminal with 1 MB', 'writeTerminal', { terminalId: 'h-1', data: huge }, /^writeTerminal\.data is 1048576 characters long; the limit is 65536$/],
  ['ackTerminal with NaN bytes', 'ackTerminal', { terminalId: 'h-1', bytes: NaN }, /^ackTerminal\.bytes must be an integer, got a number \(NaN\)$/],
  ['ackTerminal with negative bytes', 'ackTerminal', { terminalId: 'h-1', bytes: -1 }, /^ackTerminal\.bytes must be between 0 and \d+, got -1$/],
  ['resizeTerminal with a path for an id', 'resizeTerminal', { terminalId: '../../dev/tty', cols: 80, rows: 24 }, /^resizeTerminal\.terminalId has an unexpected form: a terminal id/],
  ['verifyStep with a path for a lesson', 'verifyStep', (id: string) => ({ lessonId: '../../etc/passwd', stepId: 'a', id }), /^verifyStep\.lessonId has an unexpected form: an id of lowercase letters, digits and '-'$/],
  ['equivalent with a NUL byte in argv', 'equivalent', { command: ['sh\0'], namespaces: [] }, /^equivalent\.command\[0\] contains a NUL byte$/],
  ['hostInfo with an argument', 'hostInfo', { all: true }, /^hostInfo takes no argument, got an object$/],
];
const IPC_ROWS: IpcRow[] = IPC_TABLE.map(([what, method, arg, error]) => ({ what, method, arg, error }));

/** WebSocket: what the client sends, and either the error reply or the close it gets. */
interface WsRow { what: string; frame: string | Buffer; binary?: boolean; reply?: RegExp; close?: { code: number; reason: RegExp } }
const call = (ch: string, arg?: unknown, id = 7) => JSON.stringify({ t: 'call', id, ch, arg });
const WS_ROWS: WsRow[] = [
  { what: 'invalid JSON', frame: '{"t":"call",', close: { code: 1003, reason: /^invalid JSON; expected a call message$/ } },
  { what: 'a binary frame', frame: Buffer.from(call(Channel.listContainers)), binary: true, close: { code: 1003, reason: /^binary frame; expected a JSON call message$/ } },
  { what: 'a 1 MB frame', frame: call(Channel.writeTerminal, { terminalId: 'h-1', data: huge }), close: { code: 1009, reason: /^$/ } },
  { what: 'JSON null', frame: 'null', close: { code: 1003, reason: /^not a call message/ } },
  { what: 'an array instead of a message', frame: JSON.stringify([{ t: 'call', id: 1, ch: Channel.listContainers }]), close: { code: 1003, reason: /^not a call message: expected \{"t":"call"/ } },
  { what: 'a message that is not a call', frame: JSON.stringify({ t: 'event', id: 1, ch: Channel.containers }), close: { code: 1003, reason: /^not a call message/ } },
  { what: 'an id that is not an integer', frame: JSON.stringify({ t: 'call', id: 'x', ch: Channel.listContainers }), close: { code: 1003, reason: /^not a call message/ } },
  { what: 'an Infinity id (1e999)', frame: `{"t":"call","id":1e999,"ch":"${Channel.listContainers}"}`, close: { code: 1003, reason: /^not a call message/ } },
  { what: 'deeply nested JSON', frame: '['.repeat(60_000) + ']'.repeat(60_000), close: { code: 1003, reason: /^not a call message/ } },
  { what: 'an unknown channel', frame: call('locker:rm-rf'), reply: /^unknown channel "locker:rm-rf"$/ },
  { what: 'the channel "__proto__"', frame: call('__proto__'), reply: /^unknown channel "__proto__"$/ },
  { what: 'the channel "constructor"', frame: call('constructor'), reply: /^unknown channel "constructor"$/ },
  { what: 'an event channel called as a method', frame: call(Channel.containers), reply: /^unknown channel "locker:event:containers"$/ },
  { what: 'a channel that is an object', frame: JSON.stringify({ t: 'call', id: 7, ch: { toString: 1 } }), reply: /^unknown channel: got an object, expected a string$/ },
  { what: 'a channel that is a number', frame: JSON.stringify({ t: 'call', id: 7, ch: 5 }), reply: /^unknown channel: got a number, expected a string$/ },
  { what: 'a wrong argument type', frame: call(Channel.stop, { id: 5 }), reply: /^stop\.id must be a string, got a number \(5\)$/ },
  { what: 'an array argument', frame: call(Channel.inspect, ['abc']), reply: /^inspect must be an object, got an array$/ },
  { what: 'a "__proto__" key in the argument', frame: `{"t":"call","id":7,"ch":"${Channel.stop}","arg":{"id":"abc","__proto__":{"admin":true}}}`, reply: /^stop has an unknown field "__proto__"$/ },
  { what: 'a paste over the limit', frame: call(Channel.writeTerminal, { terminalId: 'h-1', data: 'y'.repeat(100_000) }), reply: /^writeTerminal\.data is 100000 characters long; the limit is 65536$/ },
  { what: 'a paste at the limit in its worst JSON form still reaches validation', frame: call(Channel.writeTerminal, { terminalId: 'h-1', data: '\u0001'.repeat(65536) }), reply: /^no terminal "h-1" \(it was closed or its container removed\)$/ },
  { what: 'invalid UTF-8 in a text frame', frame: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), close: { code: 1007, reason: /^$/ } },
  { what: 'a listDir traversal', frame: call(Channel.listDir, { id: 'abc', side: 'container', path: '../../etc/shadow' }), reply: /^listDir\.path has an unexpected form: an absolute path/ },
];

/** Lesson files: the bad file is reported in one line naming the file and the field; the good one loads. */
interface LessonRow { what: string; content: string | ((dir: string, file: string) => void); error: RegExp }
const good = JSON.parse(readFileSync(join(REPO, 'lessons', '01-classic.json'), 'utf8')) as { id: string; steps: Array<Record<string, unknown>> };
const lesson = (patch: (l: Record<string, unknown> & { steps: Array<Record<string, unknown>> }) => void): string => {
  const l = JSON.parse(JSON.stringify(good)) as Record<string, unknown> & { steps: Array<Record<string, unknown>> };
  l.id = 'bad-one';
  patch(l);
  return JSON.stringify(l);
};
const LESSON_ROWS: LessonRow[] = [
  { what: 'invalid JSON', content: '{"id": "x",', error: /^bad\.json: \(file\): is not valid JSON \(.*\); check commas and quotes$/ },
  { what: 'an array instead of an object', content: '[]', error: /^bad\.json: \(top\): must be an object \(\{ … \}\), got an array$/ },
  { what: 'a "__proto__" key', content: lesson((l) => Object.defineProperty(l, '__proto__', { value: { polluted: true }, enumerable: true })), error: /^bad\.json: \(top\)\.__proto__: unknown field/ },
  { what: 'a "constructor" key in a step', content: lesson((l) => { (l.steps[0] as Record<string, unknown>)["constructor"] = { prototype: {} }; }), error: /^bad\.json: steps\[0\]\.constructor: unknown field/ },
  { what: 'a wrong enum value for pane', content: lesson((l) => { l.steps[0].commands = [{ pane: 'root', run: 'id' }]; }), error: /^bad\.json: steps\[0\]\.commands\[0\]\.pane: must be "host" or "container", got "root"$/ },
  { what: 'an unknown namespace', content: lesson((l) => { l.steps[0].preset = { namespaces: ['utz'] }; }), error: /^bad\.json: steps\[0\]\.preset\.namespaces\[0\]: "utz" is not a namespace; .*did you mean "uts"/ },
  { what: 'a negative pids limit', content: lesson((l) => { l.steps[0].verify = [{ pidsLimit: -1 }]; }), error: /^bad\.json: steps\[0\]\.verify\[0\]\.pidsLimit: must be a whole number ≥ 1/ },
  { what: 'an Infinity number (1e999)', content: lesson((l) => { l.steps[0].verify = [{ uidMapOutsideNot: 0 }]; }).replace('"uidMapOutsideNot":0', '"uidMapOutsideNot":1e999'), error: /^bad\.json: steps\[0\]\.verify\[0\]\.uidMapOutsideNot: must be a whole number ≥ 0 \(no quotes\), got null$/ },
  { what: 'a 1 MB title', content: lesson((l) => { l.title = 'x'.repeat(1_000_000); }), error: /^bad\.json: title: is 1000000 characters; keep it under 200$/ },
  { what: 'a NUL byte in a preset hostname', content: lesson((l) => { l.steps[0].preset = { namespaces: ['uts'], hostname: 'a\0b' }; }), error: /^bad\.json: steps\[0\]\.preset\.hostname: the hostname contains a NUL byte$/ },
  { what: 'a rule with two keys', content: lesson((l) => { l.steps[0].verify = [{ rootDiffers: true, hostnameDiffers: true }]; }), error: /^bad\.json: steps\[0\]\.verify\[0\]: must have exactly one rule, has 2/ },
  { what: 'a string where a boolean belongs', content: lesson((l) => { l.steps[0].verify = [{ rootDiffers: 'true' }]; }), error: /^bad\.json: steps\[0\]\.verify\[0\]\.rootDiffers: must be true or false \(no quotes\), got a string$/ },
  { what: 'a multi-line command', content: lesson((l) => { l.steps[0].commands = [{ pane: 'host', run: 'id\nrm -rf /' }]; }), error: /^bad\.json: steps\[0\]\.commands\[0\]\.run: is more than one line/ },
  {
    what: 'a symlink to a host secret (shows none of it)',
    content: (dir, file) => symlinkSync('/etc/shadow', join(dir, file)),
    error: /^bad\.json: not a lesson file: a symlink out of the lessons folder; copy the file in instead$/,
  },
  {
    what: 'a FIFO named like a lesson (would block the reader)',
    content: (dir, file) => { assert.equal(spawnSync('mkfifo', [join(dir, file)]).status, 0); },
    error: /^bad\.json: not a lesson file: not a regular file$/,
  },
  {
    what: 'a 2 MB file',
    content: (dir, file) => writeFileSync(join(dir, file), ' '.repeat(2 * MB) + '{}'),
    error: /^bad\.json: not a lesson file: 2097154 bytes; the limit is 1048576$/,
  },
];

// ---- what must not leak ------------------------------------------------------------------------

function children(): string[] {
  const out: string[] = [];
  for (const task of readdirSync('/proc/self/task')) {
    try {
      out.push(...readFileSync(`/proc/self/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean));
    } catch {
      // thread gone
    }
  }
  return out.sort();
}

/** Every container id this file's runtimes and CLI runs have shown (records and change events). */
const ours = new Set<string>();
function noteIds(dataDir: string): void {
  try {
    for (const id of readdirSync(join(dataDir, 'containers'))) ours.add(id);
  } catch {
    // no containers dir yet
  }
}

interface Baseline { hosts: Array<[string, HostSnapshot]>; children: string[] }
function baseline(dataDirs: string[]): Baseline {
  dataDirs.forEach(noteIds);
  return { hosts: dataDirs.map((d) => [d, snapshotHost(d)]), children: children() };
}
/**
 * Mounts, container dirs, locker/ cgroups, lk* veths and child processes that appeared since b.
 * `npm test` runs two test files at once, and the other one may start containers of its own: host-wide
 * cgroups and veths count only when they belong to a container of ours, mounts only when they are
 * not in another test's temp dir.
 */
function assertNoLeaks(b: Baseline): void {
  const dirs = b.hosts.map(([d]) => d);
  dirs.forEach(noteIds);
  const mine = (leak: Leak): boolean => {
    if (leak.kind === 'cgroup') return ours.has(leak.name);
    if (leak.kind === 'veth') return [...ours].some((id) => hostVethName(id) === leak.name);
    if (leak.kind === 'mount') return !leak.name.startsWith(tmpdir() + '/') || dirs.some((d) => leak.name.startsWith(d));
    return true;
  };
  for (const [dir, before] of b.hosts) assert.deepEqual(compareHost(before, snapshotHost(dir)).filter(mine), [], `leaks in ${dir}`);
  assert.deepEqual(children(), b.children, 'child processes');
}

function oneLine(message: string): void {
  assert.ok(message.length > 0 && !message.includes('\n'), `one line: ${JSON.stringify(message.slice(0, 200))}`);
  assert.ok(message.length <= 300, `short: ${message.length} characters`);
}

// ---- the rows, run ------------------------------------------------------------------------------

test('the table has at least 50 rows', () => {
  assert.ok(CLI_ROWS.length + IPC_ROWS.length + WS_ROWS.length + LESSON_ROWS.length >= 50);
});

describe('CLI flags', () => {
  const sb = sandbox();
  after(() => sb.cleanup());
  for (const row of CLI_ROWS) {
    test(row.what, () => {
      const b = baseline([sb.dataDir]);
      const r = sb.run(row.args);
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stdout, '');
      oneLine(r.stderr.replace(/\n$/, ''));
      assert.match(r.stderr.trim(), row.error);
      assertNoLeaks(b);
      const ps = sb.run(['ps', '--json']);
      assert.equal(ps.status, 0, ps.stderr);
      assert.deepEqual(JSON.parse(ps.stdout), []);
    });
  }
});

describe('IPC and WebSocket messages, on a real runtime', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'locker-badinput-'));
  const runtime = new Runtime({ dataDir });
  const service = new LockerService(runtime);
  runtime.onChange((list) => list.forEach((c) => ours.add(c.id)));
  let web: WebServer;
  let id = '';
  let outside: Baseline;

  before(async () => {
    outside = baseline([dataDir]);
    const res = await service.dispatch('run', {
      command: ['/bin/sh', '-c', 'ln -s /../../../../etc /tmp/escape; ln -s ../../../../../ /tmp/up; touch /tmp/ready; exec sleep 600'],
      namespaces: ['pid', 'uts', 'mnt', 'ipc'], cols: 80, rows: 24,
    });
    assert.ok('result' in res, JSON.stringify(res));
    id = (res.result as { container: { id: string } }).container.id;
    const staticDir = join(dataDir, 'renderer');
    mkdirSync(staticDir);
    writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>Locker</title>');
    web = await startWeb({ port: 0, runtime, staticDir });
    for (let i = 0; i < 100; i++) {
      const l = await service.dispatch('listDir', { id, side: 'container', path: '/tmp' });
      if ('result' in l && (l.result as { entries: { name: string }[] }).entries.some((e) => e.name === 'ready')) break;
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  after(async () => {
    await web?.close();
    // every container this suite started (a row that wrongly got through included) is stopped and removed
    for (const c of runtime.list()) {
      await service.dispatch('stop', { id: c.id });
      await service.dispatch('remove', { id: c.id });
    }
    service.dispose();
    try {
      // the container is gone and took everything it had with it
      assertNoLeaks(outside);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  async function stillServes(): Promise<void> {
    const list = await service.dispatch('listContainers', undefined);
    assert.ok('result' in list);
    assert.equal((list.result as { id: string; state: string }[]).find((c) => c.id === id)?.state, 'running');
    const dir = await service.dispatch('listDir', { id, side: 'container', path: '/' });
    assert.ok('result' in dir, JSON.stringify(dir));
  }

  describe('IPC (LockerService.dispatch, as the Electron handler calls it)', () => {
    for (const row of IPC_ROWS) {
      test(row.what, async () => {
        const b = baseline([dataDir]);
        const arg = typeof row.arg === 'function' ? (row.arg as (id: string) => unknown)(id) : row.arg;
        const env = await service.dispatch(row.method, arg);
        assert.ok('error' in env, `expected an error, got ${JSON.stringify(env).slice(0, 200)}`);
        oneLine(env.error);
        assert.match(env.error, row.error);
        assertNoLeaks(b);
        await stillServes();
      });
    }

    test('symlinks inside the container resolve inside it (absolute and relative), not on the host', async () => {
      const hostEtc = new Set(readdirSync('/etc'));
      const containerEtc = await service.dispatch('listDir', { id, side: 'container', path: '/etc' });
      assert.ok('result' in containerEtc);
      const names = (l: Envelope<unknown>) => ('result' in l ? (l.result as { entries: { name: string }[] }).entries.map((e) => e.name).sort() : []);
      for (const path of ['/tmp/escape', '/tmp/escape/', '/tmp/up/etc', '/tmp/../../tmp/escape']) {
        const l = await service.dispatch('listDir', { id, side: 'container', path });
        assert.ok('result' in l, `${path}: ${JSON.stringify(l)}`);
        assert.deepEqual(names(l), names(containerEtc), path);
        assert.ok(!names(l).includes('shadow') || !hostEtc.has('debian_version') || !names(l).includes('debian_version'), path);
      }
      assert.ok(!names(containerEtc).includes('debian_version') && hostEtc.has('debian_version'), 'the two /etc differ');
    });
  });

  describe('WebSocket frames (web mode)', () => {
    const open = () => new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(web.wsUrl, tokenProtocols(web.token), { headers: { Origin: web.origin } });
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
    type Outcome = { reply?: Envelope<unknown>; close?: { code: number; reason: string } };
    const exchange = (ws: WebSocket, frame: string | Buffer, binary = false) => new Promise<Outcome>((resolve) => {
      const timer = setTimeout(() => resolve({}), 5000);
      ws.on('message', (raw) => {
        const msg = JSON.parse(raw.toString()) as ServerMessage;
        if (msg.t === 'reply') {
          clearTimeout(timer);
          resolve({ reply: msg.env });
        }
      });
      ws.once('close', (code, reason) => {
        clearTimeout(timer);
        resolve({ close: { code, reason: reason.toString() } });
      });
      ws.once('error', () => { /* the close follows */ });
      ws.send(frame, { binary });
    });

    async function stillServesWs(): Promise<void> {
      const ws = await open();
      try {
        const { reply } = await exchange(ws, call(Channel.listContainers, undefined, 1));
        assert.ok(reply && 'result' in reply, JSON.stringify(reply));
        assert.ok((reply.result as { id: string }[]).some((c) => c.id === id));
      } finally {
        ws.close();
      }
    }

    // An error thrown inside the server would end `locker ui --web`; the test runner would only log it.
    const uncaught: Error[] = [];
    const monitor = (e: Error) => uncaught.push(e);
    before(() => process.on('uncaughtExceptionMonitor', monitor));
    after(() => process.off('uncaughtExceptionMonitor', monitor));

    for (const row of WS_ROWS) {
      test(row.what, async () => {
        const b = baseline([dataDir]);
        uncaught.length = 0;
        const ws = await open();
        const out = await exchange(ws, row.frame, row.binary);
        if (row.reply) {
          assert.ok(out.reply && 'error' in out.reply, JSON.stringify(out).slice(0, 300));
          oneLine(out.reply.error);
          assert.match(out.reply.error, row.reply);
          // the same connection goes on working
          const again = await exchange(ws, call(Channel.hostInfo, undefined, 8));
          assert.ok(again.reply && 'result' in again.reply);
          ws.close();
        } else {
          assert.ok(out.close, `expected a close, got ${JSON.stringify(out).slice(0, 300)}`);
          assert.equal(out.close.code, row.close!.code, out.close.reason);
          // ws closes an oversize frame with 1009 (RFC 6455: message too big) and bad UTF-8 with
          // 1007 (invalid frame payload data), with no reason text: the code is the message
          if (![1007, 1009].includes(row.close!.code)) oneLine(out.close.reason);
          assert.match(out.close.reason, row.close!.reason);
        }
        await stillServesWs();
        assert.deepEqual(uncaught.map((e) => e.message), [], 'nothing thrown in the server');
        assertNoLeaks(b);
      });
    }
  });
});

describe('lesson files', () => {
  const root = mkdtempSync(join(tmpdir(), 'locker-bad-lessons-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  LESSON_ROWS.forEach((row, i) => {
    test(row.what, () => {
      const dir = join(root, String(i));
      mkdirSync(dir);
      copyFileSync(join(REPO, 'lessons', '01-classic.json'), join(dir, '01-classic.json'));
      if (typeof row.content === 'string') writeFileSync(join(dir, 'bad.json'), row.content);
      else row.content(dir, 'bad.json');
      const b = baseline([]);
      const list = loadLessons(dir);
      assert.equal(list.problems.length, 1, list.problems.join('\n'));
      oneLine(list.problems[0]);
      assert.match(list.problems[0], row.error);
      assert.doesNotMatch(list.problems[0], /root:|\$y\$|\$6\$/, 'nothing of /etc/shadow');
      // the good lesson next to it still loads, and nothing was polluted
      assert.deepEqual(list.lessons.map((l) => l.id), [good.id]);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.equal(({} as Record<string, unknown>).isAdmin, undefined);
      assertNoLeaks(b);
    });
  });
});

// ---- data dirs that cannot be used (issue 9) ----------------------------------------------------

/**
 * LOCKER_DATA_DIR that cannot be made or written: exit 2 at once with one line naming the path and
 * the cause, and nothing made. The timeout turns a regression that spins (mkdir -p under /proc
 * once did, deaf to SIGTERM) into a failure instead of a hung suite.
 */
interface DataDirRow {
  what: string;
  /** Returns the data dir; `mount` runs the CLI in a private mount namespace with that tmpfs on root. */
  setup: (root: string) => { dataDir: string; asUser?: boolean; mount?: string };
  error: RegExp;
}
const DATA_DIR_ROWS: DataDirRow[] = [
  { what: 'a data dir under /proc', setup: () => ({ dataDir: '/proc/x' }), error: /^locker: cannot use \/proc\/x as the data dir: it is under \/proc, a kernel filesystem/ },
  { what: 'a data dir under /sys', setup: () => ({ dataDir: '/sys/x/y' }), error: /^locker: cannot use \/sys\/x as the data dir: it is under \/sys, a kernel filesystem/ },
  { what: 'a file as the data dir', setup: (root) => (writeFileSync(join(root, 'file'), 'x'), { dataDir: join(root, 'file') }), error: /^locker: cannot use the data dir: \S+\/file is not a directory/ },
  { what: 'a data dir below a file', setup: (root) => (writeFileSync(join(root, 'file'), 'x'), { dataDir: join(root, 'file', 'sub') }), error: /^locker: cannot use the data dir: \S+\/file is not a directory/ },
  { what: 'a data dir on a read-only filesystem', setup: (root) => ({ dataDir: join(root, 'data'), mount: 'ro' }), error: /^locker: cannot write the data dir: \S+ is on a read-only filesystem/ },
  { what: 'a data dir on a full disk', setup: (root) => ({ dataDir: join(root, 'data'), mount: 'size=128k' }), error: /^locker: cannot write the data dir: the disk holding \S+\/images is full/ },
  { what: 'a data dir the user may not write (root-owned 0755)', setup: (root) => (spawnSync('chmod', ['755', root]), { dataDir: root, asUser: true }), error: /^locker: cannot write the data dir: permission denied on \S+ for user lockertest/ },
  {
    what: 'a data dir the user owns but made read-only (0555)',
    setup: (root) => {
      spawnSync('chown', [TEST_USER, root]);
      spawnSync('chmod', ['555', root]);
      return { dataDir: root, asUser: true };
    },
    error: /^locker: cannot write the data dir: permission denied on \S+ for user lockertest/,
  },
];

describe('data dirs that cannot be used', () => {
  DATA_DIR_ROWS.forEach((row, i) => {
    test(row.what, { timeout: 30000 }, () => {
      const root = mkdtempSync(join(tmpdir(), `locker-bad-data-${i}-`));
      try {
        const { dataDir, asUser, mount } = row.setup(root);
        const b = baseline([]);
        const args = ['run', '--', 'true'];
        const r = asUser ? runAsUser(dataDir, args, { timeoutMs: 15000 })
          : mount ? spawnSync('unshare', ['-m', 'sh', '-c', `mount -t tmpfs -o ${mount} locker-bad-data "$0" && exec "$@"`, root, CLI, ...args],
            { env: { ...process.env, LOCKER_DATA_DIR: dataDir }, encoding: 'utf8', timeout: 15000 })
          : spawnSync(CLI, args, { env: { ...process.env, LOCKER_DATA_DIR: dataDir }, encoding: 'utf8', timeout: 15000 });
        assert.equal(r.signal, null, `the CLI answered in time (${r.signal})`);
        assert.equal(r.status, 2, r.stderr);
        assert.equal(r.stdout, '');
        oneLine(r.stderr.replace(/\n$/, ''));
        assert.match(r.stderr, row.error);
        assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
        // Nothing made: the dir is as the setup left it (a tmpfs went with its namespace).
        assert.deepEqual(readdirSync(root).filter((n) => n !== 'file'), []);
        assertNoLeaks(b);
      } finally {
        spawnSync('chmod', ['755', root]);
        rmSync(root, { recursive: true, force: true });
      }
    });
  });
});
