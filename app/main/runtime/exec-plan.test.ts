// exec's program (buildExecPlan) next to init's (buildPlan): the joins in order, then the same
// identity and the same last steps as init, from one implementation.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Program } from '../../../native/program';
import { buildExecPlan, buildPlan } from './plan';

const common = { executable: '/bin/sh', argv: ['sh'], env: ['PATH=/bin'], lastCap: 40 };
const names = (steps: Array<{ name: string; args: string }>): string[] => steps.map((s) => `${s.name}(${s.args})`);

test('exec joins what differs (user first, mnt last), enters the root, forks into the PID namespace, then starts as init does', () => {
  const p = buildExecPlan({ ...common, join: { mnt: 11, pid: 12, user: 13, net: 14 }, rootFd: 15, workdir: '/root', rootless: false, tty: { slaveFd: 20 } });
  const steps = names(p.steps);
  assert.deepEqual(steps.slice(0, 10), [
    'setns(13, CLONE_NEWUSER)', 'setns(14, CLONE_NEWNET)', 'setns(12, CLONE_NEWPID)', 'setns(11, CLONE_NEWNS)',
    'fchdir(15)', 'chroot(".")', 'chdir("/root")', 'getcwd(buf, 4096)', 'fork()', 'setresgid(0, 0, 0)',
  ]);
  assert.deepEqual(steps.slice(10, 12), ['setgroups(0, NULL)', 'setresuid(0, 0, 0)']);
  assert.ok(steps.includes('ioctl(0, TIOCSCTTY, 0)'));
  assert.ok(steps.includes('prctl(PR_SET_PDEATHSIG, SIGKILL)'));
  assert.match(steps[steps.length - 1], /^execve\("\/bin\/sh"/);

  // The tail after the identity is init's, step for step.
  const init = buildPlan({ ...common, namespaces: ['pid', 'mnt'], rootless: false, uid: 0, gid: 0, workdir: '/', tty: { slaveFd: 20, slavePath: '/dev/pts/9' } });
  const tail = (s: string[]): string[] => s.slice(s.indexOf('setsid()'));
  assert.deepEqual(tail(steps), tail(names(init.program.steps)));
});

test('supplementary groups: cleared rootful (with or without a user namespace), kept where setgroups is denied (rootless)', () => {
  const plan = (rootless: boolean, join: Record<string, number>) =>
    names(buildExecPlan({ ...common, join, workdir: '/', rootless }).steps);
  assert.ok(plan(false, {}).includes('setgroups(0, NULL)'));
  assert.ok(!plan(false, {}).includes('setresuid(0, 0, 0)'), 'no user namespace: the caller is root already');
  assert.ok(plan(false, { user: 3 }).includes('setgroups(0, NULL)'));
  assert.ok(!plan(true, { user: 3 }).includes('setgroups(0, NULL)'));
  assert.ok(!plan(true, { user: 3 }).includes('fork()'), 'no PID namespace joined, no fork');
  const init = (rootless: boolean) => names(buildPlan({ ...common, namespaces: rootless ? ['user', 'mnt'] : ['mnt'], rootless, uid: 1000, gid: 1000, workdir: '/' }).program.steps);
  assert.ok(init(false).includes('setgroups(0, NULL)'), 'init as root without a user namespace too');
  assert.ok(!init(true).includes('setgroups(0, NULL)'));
});

test('the cgroup files the parent opened are written first: before any setns (exec), before the cgroup namespace and the mounts (init)', () => {
  const cgroupFiles = [{ fd: 30, path: '/sys/fs/cgroup/pids/locker/c1/tasks' }, { fd: 31, path: '/sys/fs/cgroup/memory/locker/c1/tasks' }];
  const written = ['write(30</sys/fs/cgroup/pids/locker/c1/tasks>, "0", 1)', 'write(31</sys/fs/cgroup/memory/locker/c1/tasks>, "0", 1)'];
  const exec = names(buildExecPlan({ ...common, join: { user: 13, pid: 12 }, cgroupFiles, workdir: '/', rootless: false }).steps);
  assert.deepEqual(exec.slice(0, 3), [...written, 'setns(13, CLONE_NEWUSER)']);
  const init = names(buildPlan({
    ...common, namespaces: ['pid', 'mnt', 'net', 'cgroup'], rootless: false, uid: 0, gid: 0, workdir: '/', joinsCgroup: true, cgroupFiles,
    network: (p) => p.sethostname('stands-for-the-network-steps'),
  }).program.steps);
  assert.deepEqual(init.slice(0, 3), [...written, 'unshare(CLONE_NEWCGROUP)']);
  assert.equal(init.filter((s) => s.startsWith('write(')).length, 2, 'nowhere else');
});

test("the network steps come once the root is made, before the capability drop; the child waits for the host's part there, or first in a user namespace", () => {
  const layer = { kind: 'overlay' as const, lower: '/l', upper: '/u', work: '/w', merged: '/m' };
  const network = (p: Program): void => {
    p.sethostname('stands-for-the-network-steps');
  };
  const plan = buildPlan({ ...common, namespaces: ['pid', 'mnt', 'net', 'uts'], rootless: false, uid: 0, gid: 0, workdir: '/', layer, hostname: 'h', network });
  const steps = names(plan.program.steps);
  const net = steps.indexOf('sethostname("stands-for-the-network-steps", 28)');
  // The host's half of the network (veth, NAT) is made while the child mounts: it waits only before its own half.
  assert.equal(plan.hostPartBefore, net);
  assert.ok(net > steps.indexOf('pivot_root(".", ".")') && net > steps.indexOf('getcwd(buf, 4096)'), steps.join('\n'));
  assert.ok(net < steps.findIndex((s) => s.startsWith('capset(')) && net < steps.findIndex((s) => s.startsWith('seccomp(')), steps.join('\n'));
  // Unmapped, nothing works: a child in a user namespace waits for its id maps first of all.
  for (const rootless of [false, true]) {
    assert.equal(buildPlan({ ...common, namespaces: ['user', 'mnt', 'net'], rootless, uid: 1000, gid: 1000, workdir: '/', layer, network }).hostPartBefore, 0);
  }
});
