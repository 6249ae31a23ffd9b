// Imports a tar or tar.gz (e.g. `docker export` output) once; later runs reuse the cached copy.
// The image lands as the tar holds it: modes with setuid/setgid/sticky bits, numeric owners,
// xattrs, hard links and device nodes, whatever the caller's umask. tar runs as a child process
// fed from a stream (the event loop stays free and the bytes read are the progress), and dies
// with the runtime: its stdin ends when the runtime does, and setpriv adds PDEATHSIG where present.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import { LockerError } from '../errors';
import { imagePath, publishImageAsync } from './store';

/**
 * Bump when the import changes what lands on disk: images of an older format are imported again
 * (and `locker cleanup` removes the old ones). 1: --no-same-permissions (lost setuid/sticky, umask
 * applied). 2: as the tar holds it.
 */
export const IMPORT_FORMAT = 2;

export function tarballKey(path: string): string {
  const real = realpathSync(path);
  const st = statSync(real);
  return `tar-v${IMPORT_FORMAT}-` + createHash('sha256').update(`${real}\0${st.size}\0${st.mtimeMs}`).digest('hex').slice(0, 16);
}

/** An image dir (images/NAME) made by an older import format: damaged, to be re-imported. */
export function isStaleImport(name: string): boolean {
  const m = /^tar-(?:v(\d+)-)?[0-9a-f]{16}$/.exec(name);
  return !!m && Number(m[1] ?? 1) < IMPORT_FORMAT;
}

export interface ImportProgress {
  tarball: string;
  /** Bytes of the tarball read so far (compressed, as on disk). */
  read: number;
  total: number;
  done: boolean;
}

export interface ImportOptions {
  rootless: boolean;
  onProgress?: (p: ImportProgress) => void;
  /** One-line notes for the user (e.g. owners a rootless import could not keep). */
  onNote?: (line: string) => void;
  /** Aborting kills tar and removes the partial import. */
  signal?: AbortSignal;
}

/** Where the import of path is (or will be) cached, without importing it. */
export function tarballImagePath(images: string, path: string): string {
  return imagePath(images, tarballKey(path));
}

export async function importTarball(images: string, path: string, opts: ImportOptions): Promise<string> {
  return publishImageAsync(images, tarballKey(path), (root) => runTar(path, root, opts, images));
}

/** tar's option for the compression the file starts with (tar cannot sniff a stream itself). */
function compressionFlag(path: string): string[] {
  const head = Buffer.alloc(6);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, 6, 0);
  } finally {
    closeSync(fd);
  }
  if (head[0] === 0x1f && head[1] === 0x8b) return ['-z'];
  if (head.toString('latin1', 0, 3) === 'BZh') return ['-j'];
  if (head.equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return ['-J'];
  if (head.readUInt32LE(0) === 0xfd2fb528) return ['--zstd'];
  return [];
}

export function tarArgs(root: string, rootless: boolean, compression: string[]): string[] {
  const args = ['-x', '-f', '-', '-C', root, ...compression, '--same-permissions', '--numeric-owner', '--delay-directory-restore', '--xattrs'];
  if (rootless) {
    // Without root, device nodes, foreign owners and security.* xattrs cannot be made: /dev is
    // skipped (the container gets its own), files become the caller's (root inside), and -vv
    // lists each entry's owner so the import can say which owners were lost.
    args.push('--no-same-owner', '--xattrs-include=user.*', '--exclude=./dev/*', '--exclude=dev/*', '-vv');
  } else {
    args.push('--same-owner', '--xattrs-include=*');
  }
  return args;
}

export function runTar(path: string, root: string, opts: ImportOptions, images: string): Promise<void> {
  const total = statSync(path).size;
  const args = tarArgs(root, opts.rootless, compressionFlag(path));
  // umask 022 for directories tar makes that the archive does not list; setpriv: die with us.
  const wrapper = existsSync('/usr/bin/setpriv') ? ['/usr/bin/setpriv', '--pdeathsig', 'KILL', '--'] : [];
  const [cmd, ...cmdArgs] = [...wrapper, '/bin/sh', '-c', 'umask 022 && exec tar "$@"', 'tar', ...args];
  return new Promise<void>((resolve, reject) => {
    if (opts.signal?.aborted) return reject(interrupted(path));
    const tar = spawn(cmd, cmdArgs, { stdio: ['pipe', opts.rootless ? 'pipe' : 'ignore', 'pipe'] });
    const killTar = (): void => void tar.kill('SIGKILL');
    process.on('exit', killTar);
    opts.signal?.addEventListener('abort', killTar);
    let stderr = '';
    let foreign = 0;
    let example = '';
    let devices = 0;
    // Rootless: a device node outside /dev cannot be made either; tar says so and goes on, and
    // those lines alone do not fail the import.
    eachLine(tar.stderr!, (line) => {
      if (opts.rootless && /Cannot mknod: Operation not permitted/.test(line)) devices++;
      else if (!/^tar: Exiting with failure status due to previous errors/.test(line) && stderr.length < 8192) stderr += line + '\n';
    });
    if (tar.stdout) {
      eachLine(tar.stdout, (line) => {
        const m = /^\S+\s+(\d+)\/(\d+)\s/.exec(line);
        if (m && (m[1] !== '0' || m[2] !== '0')) foreign++, (example ||= `${m[1]}:${m[2]}`);
      });
    }
    let read = 0;
    let lastReport = 0;
    const input = createReadStream(path, { highWaterMark: 1 << 20 });
    input.on('data', (chunk) => {
      read += chunk.length;
      if (opts.onProgress && Date.now() - lastReport > 100) {
        lastReport = Date.now();
        opts.onProgress({ tarball: path, read, total, done: false });
      }
    });
    input.on('error', (e) => {
      stderr += `tar: reading ${path}: ${e.message}\n`;
      killTar();
    });
    input.pipe(tar.stdin!);
    tar.stdin!.on('error', () => undefined); // tar stopped reading (bad archive): its exit status says why
    tar.on('error', (e) => (stderr += `tar: ${e.message}\n`));
    tar.on('close', (code, signal) => {
      process.off('exit', killTar);
      opts.signal?.removeEventListener('abort', killTar);
      input.destroy();
      if (opts.signal?.aborted) return reject(interrupted(path));
      const onlyDevices = code === 2 && devices > 0 && stderr === '';
      if (code !== 0 && !onlyDevices) return reject(tarError(path, images, stderr, code, signal));
      opts.onProgress?.({ tarball: path, read: total, total, done: true });
      const lost = [foreign && `${foreign} entries owned by other users (e.g. ${example}) now belong to root inside the container`, devices && `${devices} device nodes were skipped`].filter(Boolean);
      if (lost.length) opts.onNote?.(`imported ${path} without root: ${lost.join('; ')}; import as root to keep them`);
      resolve();
    });
  });
}

function interrupted(path: string): LockerError {
  return new LockerError(`import of ${path} interrupted; nothing was kept`);
}

function tarError(path: string, images: string, stderr: string, code: number | null, signal: NodeJS.Signals | null): LockerError {
  if (/ENOENT|not found/.test(stderr) && code === 127) return new LockerError(`cannot run tar to import ${path}; install tar`);
  if (/No space left|Disk quota exceeded/.test(stderr)) {
    return new LockerError(`cannot import --rootfs ${path}: the disk holding the data dir (${images}) is full; nothing was kept. Free space there or set LOCKER_DATA_DIR elsewhere`);
  }
  if (/Read-only file system/.test(stderr)) {
    return new LockerError(`cannot import --rootfs ${path}: the data dir (${images}) is on a read-only filesystem; set LOCKER_DATA_DIR to a writable directory`);
  }
  if (/Permission denied/.test(stderr) && /Cannot (open|mkdir)/.test(stderr)) {
    return new LockerError(`cannot import --rootfs ${path}: permission denied writing into the data dir (${images}); set LOCKER_DATA_DIR to a directory you can write`);
  }
  const why = stderr.split('\n').map((l) => l.trim()).find((l) => l && !/^tar: Exiting with failure/.test(l)) ?? (signal ? `tar was killed by ${signal}` : `tar exited with ${code}`);
  return new LockerError(`--rootfs ${path} is not a readable tar archive (${why.replace(/^tar: /, '')}); re-create it, e.g. docker export NAME > rootfs.tar`);
}

/** Calls f with each line of a stream as it arrives. */
function eachLine(stream: NodeJS.ReadableStream, f: (line: string) => void): void {
  let rest = '';
  stream.on('data', (d: Buffer) => {
    const lines = (rest + d.toString()).split('\n');
    rest = lines.pop() ?? '';
    lines.forEach(f);
  });
  stream.on('end', () => rest && f(rest));
}
