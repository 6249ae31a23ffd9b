// The embedded default rootfs, made offline from what the host already has: a static busybox
// when Debian's busybox-static is installed, otherwise host binaries copied with their libraries.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LockerError } from '../errors';
import { isStaticElf } from './elf';
import { publishImage } from './store';

const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox', '/usr/lib/initramfs-tools/bin/busybox'];
const HOST_TOOLS = ['sh', 'ls', 'cat', 'echo', 'ps', 'hostname', 'id', 'mount', 'sleep', 'uname', 'mkdir', 'rm', 'touch', 'env', 'grep', 'head', 'true', 'false', 'kill', 'readlink', 'stat', 'whoami', 'cp', 'mv', 'date', 'wc', 'yes', 'seq', 'tr', 'dd', 'chmod', 'ln', 'pwd', 'bash'];
const DIRS = ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root', 'home', 'var/tmp', 'run', 'mnt'];

export type RootfsSource = { kind: 'busybox'; path: string } | { kind: 'host' };

export function chooseSource(env: NodeJS.ProcessEnv = process.env): RootfsSource {
  if (env.LOCKER_ROOTFS_SOURCE !== 'host') {
    for (const p of BUSYBOX_CANDIDATES) if (isStaticElf(p)) return { kind: 'busybox', path: p };
  }
  return { kind: 'host' };
}

function writeEtc(root: string, flavour: string): void {
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n');
  writeFileSync(join(root, 'etc/os-release'), `NAME="Locker default rootfs"\nID=locker\nPRETTY_NAME="Locker default rootfs (${flavour})"\n`);
  writeFileSync(join(root, 'etc/hosts'), '127.0.0.1\tlocalhost\n::1\tlocalhost\n');
  writeFileSync(join(root, 'etc/motd'), 'This is a Locker container: a Linux process with its own namespaces.\n');
  chmodSync(join(root, 'tmp'), 0o1777);
  chmodSync(join(root, 'var/tmp'), 0o1777);
}

function buildFromBusybox(root: string, busybox: string): void {
  copyFileSync(busybox, join(root, 'bin/busybox'));
  chmodSync(join(root, 'bin/busybox'), 0o755);
  const applets = execFileSync(busybox, ['--list-full'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const rel of applets) {
    const target = join(root, rel);
    if (rel === 'bin/busybox' || existsSync(target)) continue;
    mkdirSync(dirname(target), { recursive: true });
    symlinkSync('/bin/busybox', target);
  }
}

/** Shared libraries a dynamic binary needs, from ldd, as absolute host paths. */
function libraries(binary: string): string[] {
  let out: string;
  try {
    out = execFileSync('ldd', [binary], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return [];
  }
  const libs: string[] = [];
  for (const line of out.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)/.exec(line);
    if (m) libs.push(m[1]);
  }
  return libs;
}

function copyHostFile(root: string, hostPath: string): void {
  const dest = join(root, hostPath);
  if (existsSync(dest)) return;
  mkdirSync(dirname(dest), { recursive: true });
  copyFileSync(realpathSync(hostPath), dest);
  chmodSync(dest, 0o755);
}

function buildFromHost(root: string): void {
  for (const tool of HOST_TOOLS) {
    const found = ['/bin', '/usr/bin', '/sbin', '/usr/sbin'].map((d) => join(d, tool)).find((p) => existsSync(p));
    if (!found) continue;
    copyFileSync(realpathSync(found), join(root, 'bin', tool));
    chmodSync(join(root, 'bin', tool), 0o755);
    for (const lib of libraries(found)) copyHostFile(root, lib);
  }
  if (!existsSync(join(root, 'bin/sh'))) throw new LockerError('cannot build the default rootfs: no /bin/sh on the host; install busybox-static (apt-get install busybox-static)');
}

/** Returns the default rootfs directory, building it on first use. */
export function defaultRootfs(images: string, env: NodeJS.ProcessEnv = process.env): string {
  const source = chooseSource(env);
  const key = source.kind === 'busybox' ? 'default-busybox' : 'default-host';
  return publishImage(images, key, (root) => {
    for (const d of DIRS) mkdirSync(join(root, d), { recursive: true });
    if (source.kind === 'busybox') buildFromBusybox(root, source.path);
    else buildFromHost(root);
    writeEtc(root, source.kind === 'busybox' ? 'static busybox' : 'host binaries');
  });
}
