// The plain-English line per call: fed the log's real argument text (as native/*.ts and the runtime
// format it), each sentence says what changed, and an unknown call still gets a neutral line.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { explainSyscall, namespacesInFlags, splitArgs } from './syscall-sentence';
import type { SentenceInput } from './syscall-sentence';

const child = (name: string, args: string, result = '0', errno?: string): SentenceInput => ({ where: 'child', name, args, result, ...(errno ? { errno } : {}) });

test('the calls a teacher points at', () => {
  assert.equal(explainSyscall(child('sethostname', '"demo", 4')), "the container's UTS namespace now calls itself demo");
  assert.equal(explainSyscall(child('pivot_root', '".", "."')), "the container's / is now the image; the host's / is stacked under it, then detached");
  assert.match(explainSyscall(child('umount2', '".", MNT_DETACH')), /old root.*detached/);
  assert.equal(
    explainSyscall({ where: 'host', name: 'clone', args: 'CLONE_NEWNS|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWPID|CLONE_NEWNET|SIGCHLD', result: '9626' }),
    "a new process (host PID 9626) is born in new mount, UTS, IPC, PID and network namespaces; it waits on a pipe for the host's part of its setup",
  );
  assert.match(explainSyscall({ where: 'host', name: 'clone', args: 'SIGCHLD', result: '77' }), /sharing every namespace with the host/);
  assert.equal(explainSyscall(child('unshare', 'CLONE_NEWCGROUP')), "the process leaves the host's cgroup namespace for a new one");
  assert.equal(explainSyscall({ where: 'host', name: 'write', args: '"/proc/42/uid_map", "0 100000 65536\\n"', result: '15' }), 'uid 0 inside the container is uid 100000 on the host (65536 ids from there)');
  assert.equal(explainSyscall({ where: 'host', name: 'write', args: '"/proc/42/uid_map", "0 1000 1\\n"', result: '9' }), 'uid 0 inside the container is uid 1000 on the host');
  assert.match(explainSyscall(child('mount', 'NULL, "/", NULL, MS_REC|MS_PRIVATE, NULL')), /private: nothing mounted in the container propagates back/);
  assert.match(
    explainSyscall(child('mount', '"overlay", "/d/containers/x/rootfs", "overlay", MS_NODEV, "lowerdir=/d/images/b/rootfs,upperdir=/d/containers/x/upper,workdir=/d/containers/x/work"')),
    /^the image \(\/d\/images\/b\/rootfs\) becomes the read-only lower layer of an overlay at \/d\/containers\/x\/rootfs; every write goes to the upper layer \/d\/containers\/x\/upper$/,
  );
  assert.match(explainSyscall(child('mount', '"proc", /proc/self/fd/rootfs/proc, "proc", MS_NOSUID|MS_NODEV|MS_NOEXEC, NULL')), /^a fresh \/proc at the image's \/proc/);
  assert.match(explainSyscall(child('mount', '"tmpfs", "/proc/acpi", "tmpfs", MS_RDONLY|MS_NOSUID|MS_NODEV|MS_NOEXEC, NULL')), /\/proc\/acpi is hidden under an empty read-only tmpfs/);
  assert.match(explainSyscall(child('mount', 'NULL, "/proc/sys", NULL, MS_RDONLY|MS_NOSUID|MS_NODEV|MS_NOEXEC|MS_REMOUNT|MS_BIND, NULL')), /\/proc\/sys is made read-only/);
  assert.match(explainSyscall(child('prctl', 'PR_CAPBSET_DROP, CAP_SYS_ADMIN')), /^CAP_SYS_ADMIN leaves the bounding set/);
  assert.match(explainSyscall(child('prctl', 'PR_SET_NO_NEW_PRIVS, 1')), /gain privileges/);
  assert.match(explainSyscall(child('seccomp', 'SECCOMP_SET_MODE_FILTER, 0, {len=175, docker-default: 306 allowed, 3 checked by argument, clone3 ENOSYS, EPERM otherwise}')), /filter is installed: len=175, docker-default: 306 allowed/);
  assert.match(explainSyscall(child('dup2', '19, 1', '1')), /stdout/);
});

test('execve: the inferred row says so', () => {
  const row: SentenceInput = { where: 'child', name: 'execve', args: '"/bin/sh", ["/bin/sh"], [6 vars]', result: '0', inferred: 'eof' };
  assert.match(explainSyscall(row), /^the program now runs: \/bin\/sh replaces the setup process \(inferred: execve reports nothing when it succeeds/);
  assert.doesNotMatch(explainSyscall({ ...row, inferred: undefined }), /inferred/);
  assert.match(explainSyscall({ where: 'host', name: 'execve', args: 'nsenter --net=/proc/9/ns/net -- /usr/sbin/ip -batch -', result: '0' }), /network from inside its network namespace/);
});

test('failures say what they mean', () => {
  assert.match(explainSyscall(child('mkdirat', 'rootfs, "proc", 0555', '-1', 'EEXIST')), /^proc is already in the image/);
  // A bind mount's target: a regular file made with mknodat, which the image may have already.
  assert.match(explainSyscall(child('mknodat', 'rootfs/etc, "hostname", S_IFREG|0644, 0')), /^creates the empty file hostname that a bind mount lands on/);
  assert.match(explainSyscall(child('mknodat', 'rootfs/etc, "hosts", S_IFREG|0644, 0', '-1', 'EEXIST')), /^hosts is already in the image \(fine: the bind mount covers it/);
  assert.match(explainSyscall(child('mknodat', 'rootfs/dev, "null", S_IFCHR|0666, 259')), /^creates the device node null/);
  // A spare's (spare.ts): made ahead on a worker thread; its process cloned ahead.
  assert.match(explainSyscall({ where: 'host', name: 'unshare', args: 'CLONE_NEWNET', result: '0' }), /^a worker thread of the runtime makes a new network namespace ahead/);
  assert.match(explainSyscall({ where: 'host', name: 'setns', args: '23, CLONE_NEWNET', result: '0' }), /^the worker thread goes back to the host's network namespace/);
  assert.match(explainSyscall(child('setns', '25, CLONE_NEWNET')), /^the process joins the container's network namespace/);
  assert.match(explainSyscall(child('read', '31, [the rest of the program]')), /^cloned ahead of the container, it waits/);
  assert.match(explainSyscall(child('close_range', '0, 18, 0')), /^closes file descriptors 0 to 18 in the setup process/);
  assert.match(explainSyscall(child('close_range', '3, ~0U, CLOSE_RANGE_CLOEXEC')), /^every other file descriptor is marked to close at exec/);
  assert.match(explainSyscall(child('mount', '"tmpfs", "/proc/asound", "tmpfs", MS_RDONLY, NULL', '-1', 'ENOENT')), /\/proc\/asound does not exist on this kernel/);
  assert.match(explainSyscall(child('read', '21, [1 byte], 1', '-1', 'EPIPE')), /Cancel/);
  assert.match(explainSyscall(child('sethostname', `"${'x'.repeat(65)}", 65`, '-1', 'EINVAL')), /^sethostname failed with EINVAL/);
  assert.equal(explainSyscall(child('frobnicate', '1, 2', '7')), 'frobnicate returned 7');
});

test('argument splitting keeps quotes, braces and brackets whole', () => {
  assert.deepEqual(splitArgs('"a, b", NULL, {x, y}, [1, 2], 3'), ['a, b', 'NULL', '{x, y}', '[1, 2]', '3']);
  assert.deepEqual(splitArgs('"q\\"uote", 4'), ['q"uote', '4']);
  assert.deepEqual(splitArgs(''), []);
  assert.deepEqual(namespacesInFlags('CLONE_NEWUSER|CLONE_NEWPID|SIGCHLD'), ['user', 'PID']);
});
