// `locker images` (the layered images imported from docker save archives and OCI layouts) and
// `locker rmi ID` (refused while a container, running or kept, was started from it).
import { imagesDir } from '../runtime/data-dir';
import { LockerError } from '../runtime/errors';
import { imageSize, listImageRecords, removeImage } from '../runtime/rootfs/image';
import { Runtime } from '../runtime/runtime';
import { flag, parseArgs } from './args';
import { table } from './format';

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

export async function imagesCommand(argv: string[]): Promise<number> {
  const p = parseArgs(argv, [{ names: ['json'], value: false }], 'images');
  const list = listImageRecords(imagesDir(new Runtime().dataRoot)).map((r) => ({ id: r.id, name: r.name, format: r.format, layers: r.layers.length, size: imageSize(r.dir), sources: r.labels }));
  if (flag(p, 'json')) {
    process.stdout.write(JSON.stringify(list, null, 2) + '\n');
    return 0;
  }
  const rows = [['ID', 'NAME', 'FORMAT', 'LAYERS', 'SIZE']];
  for (const r of list) rows.push([r.id.slice(0, 12), r.name ?? '', r.format, String(r.layers), megabytes(r.size)]);
  process.stdout.write(table(rows));
  return 0;
}

export async function rmiCommand(argv: string[]): Promise<number> {
  const p = parseArgs(argv, [], 'rmi');
  if (p.rest.length === 0) throw new LockerError('locker rmi needs an image id or name; see locker images');
  const rt = new Runtime();
  const usedBy = userOf(rt);
  for (const ref of p.rest) {
    const img = removeImage(imagesDir(rt.dataRoot), ref, usedBy);
    process.stdout.write(`${img.id.slice(0, 12)}\n`);
  }
  return 0;
}

/** The container using an image (running or kept), by the path the image was imported from. */
function userOf(rt: Runtime): (labels: string[]) => string | undefined {
  const list = rt.list();
  return (labels) => list.find((c) => labels.includes(c.rootfs ?? ''))?.id;
}

/** `locker image prune [-a] [-f]`: every image no container (running or kept) uses, with its unshared layers. */
async function imagePrune(argv: string[]): Promise<number> {
  // docker's -a (all unused, not only dangling: Locker's images are all named) and -f (no prompt) are accepted.
  parseArgs(argv, [{ names: ['all', 'a'], value: false }, { names: ['force', 'f'], value: false }], 'image prune');
  const rt = new Runtime();
  const images = imagesDir(rt.dataRoot);
  const used = userOf(rt);
  let freed = 0;
  for (const img of listImageRecords(images)) {
    if (used(img.labels)) continue;
    const size = imageSize(img.dir);
    removeImage(images, img.id, used);
    freed += size;
    process.stdout.write(`${img.id.slice(0, 12)}\n`);
  }
  process.stdout.write(`Total reclaimed space: ${megabytes(freed)}\n`);
  return 0;
}

/** `locker image ls|rm|prune`: docker's `image` subcommands. */
export async function imageCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'prune') return imagePrune(rest);
  if (sub === 'ls' || sub === 'list') return imagesCommand(rest);
  if (sub === 'rm') return rmiCommand(rest);
  throw new LockerError(`locker image ${sub ? `"${sub.slice(0, 40)}" ` : ''}is not a command; use locker image ls, rm or prune`);
}
