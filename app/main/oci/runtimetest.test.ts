// The OCI runtime-tools validation, which nobody here wrote: `runtimetest` (built from
// github.com/opencontainers/runtime-tools with Debian's Go, never committed) runs as the process
// of a container that `locker oci create`/`start` made, and compares what it finds (user, args,
// env, cwd, no_new_privs, capabilities, hostname, rlimits, read-only root, masked and read-only
// paths, devices, id maps, mounts) with the bundle's config.json, which the harness of
// runtime-tools places in the root beside it (validation/util/test.go: root.path ".", args
// /runtimetest --path=/). Its TAP report is read line by line: every check must be `ok`, and the
// checks this test is about must be among them (a run that checked nothing cannot pass).
//
// Where is it: $LOCKER_RUNTIMETEST, else ~/.cache/locker-runtime-tools/runtimetest. Build it:
//   git clone https://github.com/opencontainers/runtime-tools && cd runtime-tools && git checkout 260e151
//   GOFLAGS=-mod=vendor go build -tags "netgo osusergo" -ldflags "-extldflags -static" -o ~/.cache/locker-runtime-tools/runtimetest ./cmd/runtimetest
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, closeSync, copyFileSync, cpSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { imagesDir } from '../runtime/data-dir';
import { defaultRootfs } from '../runtime/rootfs/default-rootfs';
import { REPO, sandbox, until } from '../testing/harness';

const RUNTIME = join(REPO, 'bin', 'locker-runtime');
const RUNTIMETEST = process.env.LOCKER_RUNTIMETEST ?? join(homedir(), '.cache', 'locker-runtime-tools', 'runtimetest');
const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const missing = !existsSync(RUNTIMETEST)
  ? `runtimetest is not on this machine (${RUNTIMETEST}); build it from github.com/opencontainers/runtime-tools (see this file's header) or set LOCKER_RUNTIMETEST`
  : !has('runc')
    ? 'runc is not installed (its `runc spec` is the base config)'
    : undefined;

interface TapLine { ok: boolean; skip: boolean; name: string; yaml: string }

/** TAP 13 as runtimetest writes it: `ok N - name` / `not ok N - name`, `# SKIP`, YAML blocks between `---` and `...`. */
function parseTap(text: string): TapLine[] {
  const out: TapLine[] = [];
  let yaml: string[] | undefined;
  for (const line of text.split('\n')) {
    if (yaml) {
      if (line.trim() === '...') {
        out[out.length - 1].yaml = yaml.join('\n');
        yaml = undefined;
      } else yaml.push(line);
      continue;
    }
    const m = /^(not )?ok \d+(?: - (.*?))?(?: # SKIP (.*))?$/.exec(line);
    if (m) out.push({ ok: !m[1], skip: m[3] !== undefined, name: m[2] ?? m[3] ?? '', yaml: '' });
    else if (line.trim() === '---' && out.length) yaml = [];
  }
  return out;
}

describe('OCI runtime-tools runtimetest inside locker oci containers', { skip: missing }, () => {
  const sb = sandbox();
  const work = mkdtempSync(join(tmpdir(), 'locker-rtt-'));
  chmodSync(work, 0o755);
  const root = join(work, 'state');
  const ids: string[] = [];
  let rootfs = '';
  const oci = (args: string[]): SpawnSyncReturns<string> => spawnSync(RUNTIME, ['--root', root, ...args], { encoding: 'utf8', timeout: 60000 });

  before(() => {
    rootfs = defaultRootfs(imagesDir(sb.dataDir));
  });
  after(() => {
    for (const id of ids) oci(['delete', '--force', id]);
    rmSync(work, { recursive: true, force: true });
    sb.cleanup();
  });

  /** A bundle as runtime-tools' harness makes one: the rootfs is the bundle, config.json and runtimetest in it. */
  function runtimetest(name: string, edit: (c: Record<string, any>) => void): { outFile: string; id: string } {
    const bundle = mkdtempSync(join(work, `${name}-`));
    chmodSync(bundle, 0o755);
    cpSync(rootfs, bundle, { recursive: true, verbatimSymlinks: true });
    assert.equal(spawnSync('runc', ['spec', '--bundle', bundle]).status, 0);
    const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
    config.root = { path: '.', readonly: false };
    config.process.terminal = false;
    config.process.args = ['/runtimetest', '--path=/'];
    // Ambient capabilities need to be inheritable too (capabilities(7)); runc spec leaves inheritable out, and runc, as
    // Locker, then fails runtimetest's three ambient checks.
    config.process.capabilities.inheritable = [...config.process.capabilities.ambient];
    // A path the host's /proc lacks (this machine has no /proc/sysrq-trigger) makes runtimetest stop with a stat error, under runc too.
    config.linux.readonlyPaths = config.linux.readonlyPaths.filter((p: string) => existsSync(p));
    // Locker mounts an empty read-only tmpfs for a `cgroup` mount (said in --log): runtimetest's check of it would fail.
    config.mounts = config.mounts.filter((m: { type: string }) => m.type !== 'cgroup');
    edit(config);
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(config, null, 2));
    copyFileSync(RUNTIMETEST, join(bundle, 'runtimetest'));
    chmodSync(join(bundle, 'runtimetest'), 0o755);
    const id = `rtt-${name}-${process.pid}`;
    ids.push(id);
    const outFile = join(work, `${id}.tap`);
    const fd = openSync(outFile, 'w');
    try {
      const r = spawnSync(RUNTIME, ['--root', root, 'create', '--bundle', bundle, id], { stdio: ['ignore', fd, fd], timeout: 60000 });
      assert.equal(r.status, 0, readFileSync(outFile, 'utf8'));
    } finally {
      closeSync(fd);
    }
    assert.equal(oci(['start', id]).status, 0);
    return { outFile, id };
  }

  /** Waits for the container to stop and reads runtimetest's report; every check must be ok. */
  async function report({ outFile, id }: { outFile: string; id: string }): Promise<TapLine[]> {
    await until(() => JSON.parse(oci(['state', id]).stdout).status === 'stopped', 30000);
    const text = readFileSync(outFile, 'utf8');
    assert.equal(oci(['delete', id]).status, 0);
    const lines = parseTap(text);
    assert.ok(lines.length > 0, `runtimetest wrote no TAP:\n${text}`);
    assert.match(text, /^1\.\.\d+$/m, `runtimetest did not finish its plan:\n${text.slice(-2000)}`);
    const failed = lines.filter((l) => !l.ok).map((l) => `not ok - ${l.name}\n${l.yaml}`);
    assert.deepEqual(failed, [], 'every runtimetest check passes');
    return lines;
  }

  const passed = (lines: TapLine[], name: string | RegExp): TapLine => {
    const l = lines.find((x) => x.ok && !x.skip && (typeof name === 'string' ? x.name === name : name.test(x.name)));
    assert.ok(l, `runtimetest checked and passed: ${String(name)}`);
    return l;
  };

  test('runc spec\'s config (read-only root, masked and read-only paths, capabilities, no_new_privs, mounts, rlimits): every check passes', async () => {
    const lines = await report(runtimetest('spec', (c) => {
      c.root.readonly = true;
      c.hostname = 'rtt-box';
      c.process.env.push('LOCKER_RTT=yes');
      c.process.cwd = '/etc';
      // soft = hard: runtimetest is Go, and Go programs raise their own soft RLIMIT_NOFILE to the hard one at start.
      c.process.rlimits = [{ type: 'RLIMIT_NOFILE', hard: 2048, soft: 2048 }, { type: 'RLIMIT_CORE', hard: 4096, soft: 1024 }];
    }));
    const host = passed(lines, 'has expected hostname');
    assert.match(host.yaml, /"actual": "rtt-box"/);
    assert.match(passed(lines, 'has expected working directory').yaml, /"actual": "\/etc"/);
    passed(lines, 'has expected environment variable LOCKER_RTT');
    passed(lines, 'has expected process argument 1');
    passed(lines, 'has expected noNewPrivileges');
    passed(lines, 'root filesystem is readonly');
    passed(lines, 'has expected soft RLIMIT_CORE');
    passed(lines, 'has expected hard RLIMIT_NOFILE');
    passed(lines, 'expected bounding capability CAP_KILL set');
    passed(lines, 'unexpected effective capability CAP_SYS_ADMIN not set');
    passed(lines, /^mounts\[\d+\] \(\/dev\/pts\) found in order$/);
    passed(lines, 'cannot read masked path "/proc/kcore"');
    passed(lines, /^"\/proc\/sys" \(linux\.readonlyPaths\[\d+\]\) is not writable$/);
    passed(lines, /^\/dev\/null \(default device\) has the expected major ID$/);
    assert.ok(lines.filter((l) => l.ok && !l.skip).length >= 250, 'hundreds of checks ran');
  });

  test('a non-root user with supplementary groups, and a user namespace with id maps: every check passes', async () => {
    const user = await report(runtimetest('user', (c) => {
      c.process.user = { uid: 1000, gid: 1000, additionalGids: [5, 100] };
    }));
    assert.match(passed(user, 'has expected user ID').yaml, /"actual": 1000/);
    passed(user, 'has expected group ID');
    const maps = await report(runtimetest('userns', (c) => {
      c.linux.namespaces.push({ type: 'user' });
      c.linux.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
    }));
    passed(maps, '/proc/self/uid_map has expected number of mappings');
    passed(maps, '/proc/self/uid_map has expected mapping {0 200000 65536}');
    passed(maps, '/proc/self/gid_map has expected mapping {0 200000 65536}');
  });
});
