// /etc/hosts, /etc/hostname and /etc/resolv.conf of a container, as docker manages them: files in
// the container's own dir, bind-mounted over the image's (the image is never changed). hosts names
// localhost and the container's hostname at its address; resolv.conf is the host's with loopback
// nameservers dropped (they would name the container's own loopback), docker's public defaults when
// none is left. With --network host the host's hosts and resolv.conf are copied unchanged.
import { lstatSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Volume } from '../spec';

export const ETC_FILES = ['hosts', 'hostname', 'resolv.conf'] as const;
/** Docker's defaults when the host names only loopback resolvers (moby's resolvconf package). */
export const DEFAULT_NAMESERVERS = ['8.8.8.8', '8.8.4.4'];

const BASE_HOSTS = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', 'fe00::0\tip6-localnet', 'ff00::0\tip6-mcastprefix', 'ff02::1\tip6-allnodes', 'ff02::2\tip6-allrouters'];

export function hostsFile(hostname: string, address?: string): string {
  return [...BASE_HOSTS, ...(address ? [`${address}\t${hostname}`] : [`127.0.1.1\t${hostname}`])].join('\n') + '\n';
}

const loopback = (ns: string): boolean => ns.startsWith('127.') || ns === '::1' || ns === '0:0:0:0:0:0:0:1';

/** The host's resolv.conf as a container gets it: loopback nameservers out, the defaults if none remain. */
export function containerResolvConf(host: string): string {
  const lines = host.split('\n');
  const kept = lines.filter((l) => {
    const m = /^\s*nameserver\s+(\S+)/.exec(l);
    return !m || !loopback(m[1]);
  });
  const out = kept.join('\n').replace(/\n*$/, '\n');
  if (kept.some((l) => /^\s*nameserver\s/.test(l))) return out === '\n' ? '' : out;
  return (out.trim() ? out : '') + DEFAULT_NAMESERVERS.map((n) => `nameserver ${n}`).join('\n') + '\n';
}

function readHost(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * Writes the three files into `dir` and answers the binds for them. A file is bound only where the
 * image has a real /etc directory and no symlink or non-file in its place: a bind never follows an
 * image's link (the mount step would refuse it anyway), and such an image keeps its own. `address`:
 * the container's, when it is known already (a spare network's); else writeHostsAddress puts it in later.
 */
export function etcFiles(dir: string, imageRoot: string, hostname: string, hostNetwork: boolean, address?: string): Volume[] {
  if (!isRealDir(join(imageRoot, 'etc'))) return [];
  const out: Volume[] = [];
  const content: Record<(typeof ETC_FILES)[number], string> = {
    hosts: hostNetwork ? readHost('/etc/hosts') : hostsFile(hostname, address),
    hostname: `${hostname}\n`,
    'resolv.conf': hostNetwork ? readHost('/etc/resolv.conf') : containerResolvConf(readHost('/etc/resolv.conf')),
  };
  // The mount point is opened for writing (made when missing): rootless, an /etc or file of an
  // owner not mapped in the container (an image root copied in by root) refuses that; such an
  // image keeps what it has.
  const uid = process.getuid?.();
  const ours = (path: string): boolean => uid === 0 || !exists(path) || lstatSync(path).uid === uid;
  if (uid !== 0 && lstatSync(join(imageRoot, 'etc')).uid !== uid) return [];
  for (const name of ETC_FILES) {
    const target = join(imageRoot, 'etc', name);
    if (!absentOrFile(target) || !ours(target)) continue;
    const source = join(dir, name);
    writeFileSync(source, content[name], { mode: 0o644 });
    out.push({ source, target: `/etc/${name}`, readonly: false, file: true, hostFlags: [] });
  }
  return out;
}

/**
 * Once the address is known (while the child makes its mounts): the hostname's line gets it. Written
 * in place, the same file: the child may have bound it over the image's already.
 */
export function writeHostsAddress(dir: string, address: string): void {
  const path = join(dir, 'hosts');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return; // not bound for this container
  }
  writeFileSync(path, text.replace(/^127\.0\.1\.1\t/m, `${address}\t`));
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function isRealDir(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

function absentOrFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT';
  }
}
