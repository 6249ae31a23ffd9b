// Layered images (issue 10): a two-layer OCI layout built here with tar and sha256 (layer 1 the
// default rootfs plus /etc/gone, layer 2 gzipped with a whiteout of it and a new file), run as a
// tar and a directory, and as a docker save archive (written by skopeo when installed); its Env,
// WorkingDir and Cmd honoured; bad archives refused with one line and nothing left behind.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { runAsUser, sandbox, userDataDir } from '../../testing/harness';
import { imagesDir } from '../data-dir';
import { defaultRootfs } from './default-rootfs';

const sb = sandbox();
const work = mkdtempSync(join(tmpdir(), 'locker-image-'));
chmodSync(work, 0o755); // the rootless test user reads the archives too
after(() => {
  sb.cleanup();
  rmSync(work, { recursive: true, force: true });
});

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
function sh(cmd: string): void {
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd}: ${r.stderr}`);
}

interface Variant {
  /** Extra files for layer 2 (relative path → content). */
  layer2?: Record<string, string>;
  /** Symlinks for layer 1 (relative path → target). */
  layer1Links?: Record<string, string>;
  /** Bytes written over layer 1's blob after its digest was taken. */
  corruptLayer1?: boolean;
}

/** An OCI image layout in dir (and dir.tar); returns the layout dir. */
function buildLayout(name: string, v: Variant = {}): string {
  const base = join(work, name);
  const l1 = join(base, 'l1');
  const l2 = join(base, 'l2');
  cpSync(defaultRootfs(imagesDir(sb.dataDir)), l1, { recursive: true, verbatimSymlinks: true });
  writeFileSync(join(l1, 'etc/gone'), 'lower\n');
  mkdirSync(join(l2, 'etc'), { recursive: true });
  writeFileSync(join(l2, 'etc/.wh.gone'), '');
  writeFileSync(join(l2, 'etc/newfile'), 'hello from layer 2\n');
  for (const [p, t] of Object.entries(v.layer1Links ?? {})) symlinkSync(t, join(l1, p));
  for (const [p, c] of Object.entries(v.layer2 ?? {})) {
    mkdirSync(dirname(join(l2, p)), { recursive: true });
    writeFileSync(join(l2, p), c);
  }
  const layout = join(base, 'layout');
  mkdirSync(join(layout, 'blobs/sha256'), { recursive: true });
  sh(`tar --numeric-owner -cf "${base}/l1.tar" -C "${l1}" . && tar --numeric-owner -cf "${base}/l2.tar" -C "${l2}" . && gzip -kn "${base}/l2.tar"`);
  const l1tar = readFileSync(join(base, 'l1.tar'));
  const l2tar = readFileSync(join(base, 'l2.tar'));
  const l2gz = readFileSync(join(base, 'l2.tar.gz'));
  const blob = (b: Buffer, mediaType: string): { mediaType: string; digest: string; size: number } => {
    writeFileSync(join(layout, 'blobs/sha256', sha(b)), b);
    return { mediaType, digest: `sha256:${sha(b)}`, size: b.length };
  };
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux',
    config: { Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'FOO=bar'], WorkingDir: '/etc', Cmd: ['cat', '/etc/newfile'] },
    rootfs: { type: 'layers', diff_ids: [`sha256:${sha(l1tar)}`, `sha256:${sha(l2tar)}`] },
  }));
  const layer1 = blob(l1tar, 'application/vnd.oci.image.layer.v1.tar');
  if (v.corruptLayer1) writeFileSync(join(layout, 'blobs/sha256', layer1.digest.slice(7)), Buffer.concat([l1tar.subarray(0, l1tar.length - 1024), Buffer.alloc(1024, 1)]));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: blob(config, 'application/vnd.oci.image.config.v1+json'),
    layers: [layer1, blob(l2gz, 'application/vnd.oci.image.layer.v1.tar+gzip')],
  }));
  const m = blob(manifest, 'application/vnd.oci.image.manifest.v1+json');
  writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ ...m, annotations: { 'org.opencontainers.image.ref.name': 'test' } }] }));
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  sh(`tar -cf "${base}/layout.tar" -C "${layout}" .`);
  return layout;
}

/** What an import left in the images dir besides the default rootfs. */
const leftovers = (): string[] => readdirSync(imagesDir(sb.dataDir)).filter((n) => /^(img-|layer-|\.partial-)/.test(n));

const layout = buildLayout('good');
const layoutTar = `${join(work, 'good')}/layout.tar`;

describe('layered images: OCI layout and docker save archive', () => {
  test('an OCI layout tar runs its Cmd in its WorkingDir with its Env; the whiteout removed /etc/gone', () => {
    const r = sb.run(['run', '--rootfs', layoutTar], { timeoutMs: 60000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'hello from layer 2\n');
    assert.match(r.stderr, /^locker: imported \S+layout\.tar \(2 layers\) \(\d+\.\d MB\); later runs use the cached copy\n$/, 'one final line');
    const e = sb.run(['run', '--rootfs', layoutTar, '--', 'sh', '-c', 'echo $FOO; pwd; test -e /etc/gone && echo present || echo absent']);
    assert.equal(e.stdout, 'bar\n/etc\nabsent\n', e.stderr);
    const user = sb.run(['run', '--rootfs', layoutTar, '--env', 'FOO=mine', '--workdir', '/', '--', 'sh', '-c', 'echo $FOO; pwd']);
    assert.equal(user.stdout, 'mine\n/\n', 'the user\'s --env and --workdir win over the image\'s');
    const layers = readdirSync(imagesDir(sb.dataDir)).filter((n) => n.startsWith('layer-'));
    assert.equal(layers.length, 2, 'each layer unpacked once');
  });

  test('the layout as a directory gives the same image, and locker images lists it', () => {
    const r = sb.run(['run', '--rootfs', layout, '--', 'cat', '/etc/newfile']);
    assert.equal(r.stdout, 'hello from layer 2\n', r.stderr);
    assert.equal(readdirSync(imagesDir(sb.dataDir)).filter((n) => n.startsWith('img-')).length, 1, 'same config digest, same image');
    const list = sb.run(['images'], { timeoutMs: 60000 });
    assert.match(list.stdout, /^ID\s+NAME\s+FORMAT\s+LAYERS\s+SIZE\n[0-9a-f]{12}\s+layout\.tar\s+oci\s+2\s+\d+\.\d MB\n$/, list.stderr);
  });

  test('a docker save archive (manifest.json: Config + Layers) runs the same', () => {
    const archive = join(work, 'docker.tar');
    // Same config as the OCI image, so the same image id: start from an empty cache to stack it anew.
    for (const n of leftovers()) rmSync(join(imagesDir(sb.dataDir), n), { recursive: true, force: true });
    if (spawnSync('sh', ['-c', 'command -v skopeo']).status === 0) {
      // skopeo as the real peer: it writes what docker save writes.
      sh(`skopeo copy --quiet oci:${layout}:test docker-archive:${archive}:locker/test:1`);
    } else {
      const d = join(work, 'docker');
      const blobs = join(layout, 'blobs/sha256');
      const manifest = JSON.parse(readFileSync(join(blobs, JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')).manifests[0].digest.slice(7)), 'utf8'));
      mkdirSync(d);
      cpSync(join(blobs, manifest.config.digest.slice(7)), join(d, 'config.json'));
      sh(`cp "${join(work, 'good/l1.tar')}" "${d}/1.tar" && cp "${join(work, 'good/l2.tar')}" "${d}/2.tar"`);
      writeFileSync(join(d, 'manifest.json'), JSON.stringify([{ Config: 'config.json', RepoTags: ['locker/test:1'], Layers: ['1.tar', '2.tar'] }]));
      sh(`tar -cf "${archive}" -C "${d}" .`);
    }
    const r = sb.run(['run', '--rootfs', archive], { timeoutMs: 60000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'hello from layer 2\n');
    const e = sb.run(['run', '--rootfs', archive, '--', 'sh', '-c', 'echo $FOO; test -e /etc/gone && echo present || echo absent']);
    assert.equal(e.stdout, 'bar\nabsent\n', e.stderr);
    const images = sb.run(['images'], { timeoutMs: 60000 });
    assert.match(images.stdout, /locker\/test:1\s+docker\s+2\s/, `${images.stderr} ${images.signal ?? ''}`);
  });

  test('rootless: the same image, stacked without root', () => {
    const data = userDataDir();
    try {
      const r = runAsUser(data, ['run', '--rootfs', layoutTar, '--', 'sh', '-c', 'cat /etc/newfile; echo $FOO; pwd; test -e /etc/gone && echo present || echo absent'], { timeoutMs: 60000 });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, 'hello from layer 2\nbar\n/etc\nabsent\n');
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });

  test('rmi is refused while a container uses the image, and removes it and its layers after', () => {
    const kept = sb.run(['run', '--keep', '--rootfs', layoutTar, '--', 'true']);
    assert.equal(kept.status, 0, kept.stderr);
    const id = sb.run(['ps', '-a', '--json']).stdout;
    const container = (JSON.parse(id) as { id: string; rootfs: string }[]).find((c) => c.rootfs === layoutTar)!.id;
    const image = (JSON.parse(sb.run(['images', '--json']).stdout) as { id: string; sources: string[] }[]).find((i) => i.sources.includes(layoutTar))!.id;
    const refused = sb.run(['rmi', image.slice(0, 12)]);
    assert.equal(refused.status, 2);
    assert.equal(refused.stderr, `locker: image ${image.slice(0, 12)} is used by container ${container}; remove it first (locker rm -f ${container})\n`);
    assert.equal(sb.run(['rm', container]).status, 0);
    const ok = sb.run(['rmi', image.slice(0, 12)]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.ok(!existsSync(join(imagesDir(sb.dataDir), `img-${image}`)));
    assert.deepEqual(leftovers(), [], 'its layers went with it');
  });
});

describe('layered images: bad archives give one line and leave nothing', () => {
  const refused = (path: string, pattern: RegExp, command = ['--', 'true']): void => {
    for (const n of leftovers()) rmSync(join(imagesDir(sb.dataDir), n), { recursive: true, force: true });
    const r = sb.run(['run', '--rootfs', path, ...command], { timeoutMs: 60000 });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr.split('\n').length, 2, `one line: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.deepEqual(leftovers(), []);
  };

  test('no command with a plain directory rootfs (no image config to name one)', () => {
    refused(defaultRootfs(imagesDir(sb.dataDir)), /^locker: no command given; name one, e\.g\. locker run --rootfs \S+ -- \/bin\/sh \(only a layered image names its own\)\n$/, []);
  });

  test('a layer that does not match its digest', () => {
    buildLayout('corrupt', { corruptLayer1: true });
    refused(join(work, 'corrupt/layout.tar'), /^locker: --rootfs \S+: layer 1 does not match its digest \(expected sha256:[0-9a-f]{12}…, got sha256:[0-9a-f]{12}…\); the archive is corrupt or truncated, nothing was kept\n$/);
  });

  test('a manifest layer path that leaves the archive (../)', () => {
    const d = join(work, 'escape/archive');
    mkdirSync(join(work, 'escape/outside'), { recursive: true });
    mkdirSync(d, { recursive: true });
    writeFileSync(join(work, 'escape/outside/layer.tar'), '');
    writeFileSync(join(d, 'config.json'), JSON.stringify({ config: {}, rootfs: { diff_ids: [`sha256:${'0'.repeat(64)}`] } }));
    writeFileSync(join(d, 'manifest.json'), JSON.stringify([{ Config: 'config.json', Layers: ['../outside/layer.tar'] }]));
    refused(d, /^locker: --rootfs \S+: the manifest's layer 1 "\.\.\/outside\/layer\.tar" points outside the archive; refused/);
  });

  test('a whiteout that names ..', () => {
    buildLayout('dotdot', { layer2: { 'etc/.wh...': '' } });
    refused(join(work, 'dotdot/layout.tar'), /^locker: --rootfs \S+: a whiteout names "\.\." \(etc\/\.wh\.\.\.\), which is not a file in its directory; refused, nothing was kept\n$/);
  });

  test('a layer cannot reach the host through a lower layer\'s symlink', () => {
    const victim = join(work, 'victim');
    mkdirSync(victim);
    writeFileSync(join(victim, 'precious'), 'keep\n');
    // A whiteout through the link is refused; a directory over the link replaces it, writing nothing to the host.
    buildLayout('linkwh', { layer1Links: { evil: victim }, layer2: { 'evil/.wh.precious': '' } });
    refused(join(work, 'linkwh/layout.tar'), /^locker: --rootfs \S+: a whiteout for \/evil\/precious goes through \/evil, which is not a directory in the layers below; refused\n$/);
    assert.equal(readFileSync(join(victim, 'precious'), 'utf8'), 'keep\n');
    buildLayout('linkdir', { layer1Links: { evil: victim }, layer2: { 'evil/planted': 'x\n' } });
    const r = sb.run(['run', '--rootfs', join(work, 'linkdir/layout.tar'), '--', 'sh', '-c', 'ls /evil'], { timeoutMs: 60000 });
    assert.equal(r.stdout, 'planted\n', r.stderr);
    assert.deepEqual(readdirSync(victim), ['precious'], 'nothing written through the link');
  });
});
