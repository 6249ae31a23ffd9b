// wait, restart and stats through the real CLI and kernel: wait prints each exit status as the
// container ends (also one started by another process), restart gives a detached container a new
// init with the same id and log, stats reads the kernel's counters (pids, memory against the limit,
// CPU of a busy container against an idle one). Bad input: one line each.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { hostLayout, listCgroups } from '../runtime/cgroups';
import { hostVethName } from '../runtime/network';
import { CLI, containerState, removeSandbox, runDetached, sandbox, until } from '../testing/harness';

const root = process.getuid?.() === 0;
const hasNft = spawnSync('nft', ['--version']).status === 0;
const sb = sandbox();
after(() => removeSandbox(sb));

const detached = (args: string[]): string => runDetached(sb, ['--network', 'none', ...args]);

/** `locker ARGS` started now, its stdout and status when it ends. */
function background(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(CLI, args, { env: sb.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out, err })));
}

describe('wait, restart, stats', { skip: root ? false : 'needs root' }, () => {
  test('wait blocks until each container exits and prints its status in the order given', async () => {
    const slow = detached(['--', 'sh', '-c', 'while [ ! -e /tmp/go ]; do sleep 0.05; done; exit 7']);
    const done = detached(['--', 'sh', '-c', 'exit 3']);
    await until(() => containerState(sb, done)?.state === 'exited', 30000);
    const waiting = background(['wait', slow, done]);
    // still waiting: nothing printed while the first one runs
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(containerState(sb, slow)?.state, 'running');
    const pid = containerState(sb, slow)!.pid;
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`/proc/${pid}/root/tmp/go`, '');
    const r = await waiting;
    assert.equal(r.out, '7\n3\n', r.err);
    assert.equal(r.code, 0);
  });

  test('wait of an unknown id is one line and a non-zero status; the known ones are still printed', () => {
    const done = detached(['--', 'true']);
    const r = sb.run(['wait', 'nosuchcontainer', done], { timeoutMs: 30000 });
    assert.equal(r.stderr, 'locker: no container "nosuchcontainer"; see locker ps -a for the ids\n');
    assert.equal(r.stdout, '0\n');
    assert.equal(r.status, 2);
  });

  test('restart: the same id, a new init on the bridge again (the old veth went first); a foreground container is refused in one line', { skip: hasNft ? false : 'needs nft for the bridge' }, async () => {
    // The default network: the stopped run's veth, NAT table and cgroup must be gone before the new run makes them again.
    const id = runDetached(sb, ['--', 'sh', '-c', 'echo started; ip -4 -o addr show eth0; exec sleep 1000']);
    await until(() => sb.run(['logs', id]).stdout.includes('started'), 30000);
    const before = containerState(sb, id)!.pid;
    const r = sb.run(['restart', '-t', '1', id], { timeoutMs: 30000 });
    assert.equal(r.stdout, `${id}\n`, r.stderr);
    assert.equal(r.status, 0);
    const after = await until(() => { const s = containerState(sb, id); return s?.state === 'running' && s.pid !== before ? s : undefined; }, 30000);
    assert.notEqual(after.pid, before);
    await until(() => /started\n.*inet 10\.88\./.test(sb.run(['logs', id]).stdout), 30000);
    assert.equal(sb.run(['restart', '-t', 'soon', id]).stderr, 'locker: --time "soon" is not a number of seconds; e.g. -t 5\n');
    assert.equal(sb.run(['restart']).stderr, 'locker: locker restart needs the id of a container started with run -d or --keep; see locker ps -a\n');

    const fg = background(['run', '--network', 'none', '--', 'sh', '-c', 'echo fg; exec sleep 1000']);
    const fgId = await until(() => (JSON.parse(sb.run(['ps', '--json']).stdout) as Array<{ id: string; command: string[]; detached?: boolean }>).find((c) => c.command.join(' ').includes('echo fg'))?.id, 30000);
    const refused = sb.run(['restart', fgId]);
    assert.match(refused.stderr, /^locker: container \S+ runs in the foreground of the locker run that started it; restart is for containers started with run -d \(or exited ones kept with --keep\)\n$/);
    assert.equal(refused.status, 2);
    sb.run(['stop', '-t', '0', fgId]);
    await fg;
    assert.equal(sb.run(['rm', '-f', id]).status, 0);
    assert.equal(existsSync(`/sys/class/net/${hostVethName(id)}`), false, 'the veth went with the container');
    assert.equal(listCgroups().includes(id), false, 'no cgroup of either run is left');
  });

  test('stats --no-stream: pids, memory against the limit, CPU of a busy container above an idle one', { skip: hostLayout().canWrite ? false : 'cgroups not writable' }, async () => {
    const idle = detached(['--memory', '64m', '--', 'sh', '-c', 'sleep 1000 & sleep 1000 & exec sleep 1000']);
    const busy = detached(['--', 'sh', '-c', 'while :; do :; done']);
    await until(() => sb.run(['top', idle]).stdout.trim().split('\n').length === 4, 30000); // header + 3 sleeps
    const r = sb.run(['stats', '--no-stream', '--json', idle, busy], { timeoutMs: 30000 });
    assert.equal(r.status, 0, r.stderr);
    const [a, b] = JSON.parse(r.stdout) as Array<{ id: string; pids: number; memoryLimit: number; memoryBytes: number; cpuPercent: number; source: string }>;
    assert.equal(a.id, idle);
    assert.equal(b.id, busy);
    assert.equal(a.pids, 3);
    assert.equal(a.memoryLimit, 64 * 1024 * 1024);
    assert.ok(a.memoryBytes > 0 && a.memoryBytes < a.memoryLimit, String(a.memoryBytes));
    assert.ok(b.cpuPercent > a.cpuPercent, `busy ${b.cpuPercent}% vs idle ${a.cpuPercent}%`);
    const text = sb.run(['stats', '--no-stream', idle], { timeoutMs: 30000 }).stdout.split('\n');
    assert.match(text[0], /^ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+PIDS$/);
    assert.match(text[1], new RegExp(`^${idle}\\s+\\S+\\s+\\d+\\.\\d\\d%\\s+[\\d.]+\\w+ / 64\\.00MiB\\s+[\\d.]+%\\s+\\S+ / \\S+\\s+3$`));
    sb.run(['stop', '-t', '0', idle, busy]);
    const gone = sb.run(['stats', '--no-stream', idle]);
    assert.match(gone.stderr, /^locker: container \S+ is not running; stats are read from a running container's cgroup and processes\n$/);
  });
});
