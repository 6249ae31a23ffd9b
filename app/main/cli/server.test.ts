// The resident CLI server (server.ts) and its client (native/src/client.c), through bin/locker as a
// user runs it: a command is served only for a peer with the server's own privileges, runs with its
// client's descriptors, environment, working directory and signals, and ends with its client.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLI, sandbox, until } from '../testing/harness';
import { parseRequest, PROTOCOL } from './server';

const sb = sandbox();
const work = mkdtempSync(join(tmpdir(), 'locker-server-'));
after(() => {
  sb.cleanup();
  rmSync(work, { recursive: true, force: true });
});

const runDir = (): string => join(sb.dataDir, 'run');
/** The pid of the sandbox's server, from the line its log starts with. */
function serverPid(socket?: string): number | undefined {
  const log = socket ? socket.replace(/\.sock$/, '.log').slice(runDir().length + 1) : existsSync(runDir()) ? readdirSync(runDir()).find((f) => f.endsWith('.log')) : undefined;
  const m = log && existsSync(join(runDir(), log)) && /pid (\d+) listening/.exec(readFileSync(join(runDir(), log), 'utf8'));
  return m ? Number(m[1]) : undefined;
}
const alive = (pid: number): boolean => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
const ppidOf = (pid: number): number => Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
const running = (): Array<{ id: string; pid: number }> => JSON.parse(sb.run(['ps', '--json']).stdout).filter((c: { state: string }) => c.state === 'running');

describe('the resident CLI server', () => {
  before(async () => {
    // The first command runs with Node and starts the server for the next ones.
    assert.equal(sb.run(['ps']).status, 0);
    await until(() => serverPid() !== undefined && readdirSync(runDir()).some((f) => f.endsWith('.sock')), 20000);
  });

  test('the request format: protocol, working directory, arguments, environment', () => {
    const r = parseRequest(Buffer.from([PROTOCOL, '/srv', '2', 'ps', '-a', 'A=1', 'B=x=y', 'A=2', ''].join('\0')));
    assert.deepEqual(r, { cwd: '/srv', args: ['ps', '-a'], env: { A: '1', B: 'x=y' } });
    assert.throws(() => parseRequest(Buffer.from(['locker-cli/0', '/', '0', ''].join('\0'))), /protocol/);
    assert.throws(() => parseRequest(Buffer.from([PROTOCOL, '/', '5', 'x', ''].join('\0'))), /argc/);
  });

  test('a served run: the container is the server\'s child; output, status, environment and working directory are the client\'s', async () => {
    const server = serverPid()!;
    // An --env-file line without a value takes it from the client's environment, as docker's.
    writeFileSync(join(work, 'greeting.env'), 'GREETING\n');
    const child = spawn(CLI, ['run', '--no-ns', 'mnt', '--env-file', join(work, 'greeting.env'), '--', 'sh', '-c', 'echo "$GREETING $TERM"; pwd; read x; echo "got $x"; exit 5'], {
      env: { ...sb.env, GREETING: 'hello', TERM: 'vt220' }, cwd: work, stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const [c] = await until(() => (running().length ? running() : undefined), 20000);
    assert.equal(ppidOf(c.pid), server, 'the container\'s parent is the server, not a Node CLI of its own');
    child.stdin.end('typed\n');
    const code = await new Promise((r) => child.on('exit', r));
    assert.equal(code, 5);
    assert.equal(out, `hello vt220\n${work}\ngot typed\n`);
  });

  test('a signal to the client reaches the container; SIGKILL of the client ends it and leaves nothing', async () => {
    const trap = spawn(CLI, ['run', '--', 'sh', '-c', 'trap "echo TERM; exit 7" TERM; echo ready; while :; do sleep 0.1; done'], { env: sb.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    trap.stdout.on('data', (d) => (out += d));
    await until(() => out.includes('ready'), 20000);
    trap.kill('SIGTERM');
    assert.equal(await new Promise((r) => trap.on('exit', r)), 7);
    assert.equal(out, 'ready\nTERM\n');

    const doomed = spawn(CLI, ['run', '--', 'sleep', '600'], { env: sb.env, stdio: 'ignore' });
    const [c] = await until(() => (running().length ? running() : undefined), 20000);
    doomed.kill('SIGKILL');
    await until(() => !alive(c.pid) && running().length === 0 && readdirSync(join(sb.dataDir, 'containers')).length === 0, 20000);
    assert.ok(alive(serverPid()!), 'the server goes on');
  });

  test('what a container inherits from the CLI is the client\'s: a client niced more gets a server of its own', () => {
    const niceOf = (prefix: string[]): number => {
      const r = spawnSync(prefix[0] ?? CLI, [...prefix.slice(1), ...(prefix.length ? [CLI] : []), 'run', '--', 'sh', '-c', 'cut -d" " -f19 /proc/self/stat'], { env: sb.env, encoding: 'utf8', timeout: 20000 });
      assert.equal(r.status, 0, r.stderr);
      return Number(r.stdout);
    };
    const base = niceOf([]);
    assert.equal(niceOf(['nice', '-n', '3']), Math.min(base + 3, 19));
    assert.equal(niceOf([]), base);
  });

  test('a relative --env-file is read from the client\'s directory (run with Node there)', () => {
    writeFileSync(join(work, 'vars'), 'COLOR=blue\n');
    const r = spawnSync(CLI, ['run', '--env-file', 'vars', '--', 'sh', '-c', 'echo $COLOR'], { env: sb.env, cwd: work, encoding: 'utf8', timeout: 20000 });
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, 'blue\n');
    assert.equal(r.status, 0);
  });

  test('a peer with fewer privileges is not served: without capabilities, run fails as it would with Node', { skip: process.getuid!() !== 0 ? 'needs root' : false }, () => {
    // setpriv: the same uid and namespaces, an empty bounding set (so no capabilities after exec).
    const r = spawnSync('setpriv', ['--bounding-set=-all', '--inh-caps=-all', '--', CLI, 'run', '--', 'true'], { env: sb.env, encoding: 'utf8', timeout: 20000 });
    assert.notEqual(r.status, 0, 'the server ran it with its own capabilities');
    assert.match(r.stderr, /^locker: /);
    assert.deepEqual(running(), []);
    const served = spawnSync(CLI, ['run', '--', 'true'], { env: sb.env, encoding: 'utf8', timeout: 20000 });
    assert.equal(served.status, 0, served.stderr);
  });

  test('LOCKER_NO_CLI_SERVER=1 runs with Node; the server ends once its socket is gone', async () => {
    const server = serverPid()!;
    const r = spawnSync(CLI, ['run', '--', 'sh', '-c', 'echo direct'], { env: { ...sb.env, LOCKER_NO_CLI_SERVER: '1' }, encoding: 'utf8', timeout: 20000 });
    assert.equal(r.stdout, 'direct\n');
    for (const f of readdirSync(runDir()).filter((n) => n.endsWith('.sock'))) unlinkSync(join(runDir(), f));
    await until(() => !alive(server), 20000);
    assert.equal(sb.run(['ps', '-q']).stdout, '', 'a command after it runs (with Node, starting a new server)');
  });

  test('a listener of another mount namespace at the socket\'s path (a container that can write the data dir) is sent nothing; Node runs the command', { skip: process.getuid!() !== 0 ? 'needs root' : false }, async () => {
    // The socket of this environment's server: the only one once the others (the niced client's) are
    // gone and a command with this environment started a new one.
    const sockets = (): string[] => readdirSync(runDir()).filter((f) => f.endsWith('.sock')).map((f) => join(runDir(), f));
    for (const f of sockets()) unlinkSync(f);
    assert.equal(sb.run(['ps']).status, 0);
    const path = await until(() => sockets().length === 1 && sockets()[0], 20000);
    const server = await until(() => serverPid(path), 20000);
    unlinkSync(path);
    await until(() => !alive(server), 20000);
    // The impostor: this uid, its own mount namespace, as a rootless container's root would be.
    const got = join(work, 'impostor-got');
    const js = `const fs=require('fs');let n=0;require('net').createServer((c)=>{c.on('data',(d)=>(n+=d.length));c.on('close',()=>fs.appendFileSync(${JSON.stringify(got)},n+'\\n'))}).listen(${JSON.stringify(path)},()=>console.log('listening'))`;
    const impostor = spawn('unshare', ['--mount', process.execPath, '-e', js], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      let said = '';
      impostor.stdout.on('data', (d) => (said += d));
      await until(() => said.includes('listening'), 20000);
      // SIGKILL at the deadline: a client that did talk to the impostor would wait for its answer for ever.
      const r = spawnSync(CLI, ['ps', '-q'], { env: sb.env, encoding: 'utf8', input: '', timeout: 20000, killSignal: 'SIGKILL' });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, '');
      // It was connected to (and checked), then sent not one byte: no descriptors, no environment.
      await until(() => existsSync(got), 20000);
      assert.match(readFileSync(got, 'utf8'), /^0\n/);
      assert.doesNotMatch(readFileSync(got, 'utf8'), /^[1-9]/m);
    } finally {
      impostor.kill('SIGKILL');
    }
  });
});
