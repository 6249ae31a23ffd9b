// --memory, --cpus and --pids-limit on this host's cgroups (v1 here), through locker run.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { hostLayout } from '../runtime/cgroups';
import { sandbox, startCli, until } from '../testing/harness';

const sb = sandbox();
after(() => sb.cleanup());
const layout = hostLayout();
const cgroupDirs = (id: string): string[] => Object.values(layout.v1Roots).map((r) => `${r}/locker/${id}`).concat(layout.v2Parent ? [`${layout.v2Parent}/locker/${id}`] : []);

describe('cgroup limits', { skip: layout.canWrite ? false : `cgroups not writable here: ${layout.reason}` }, () => {
  test('a fork bomb stops at the pids limit', () => {
    const r = sb.run(['run', '--pids-limit', '20', '--', 'sh', '-c', 'for i in $(seq 60); do sleep 1 & done; wait; echo finished']);
    assert.match(r.stderr, /can't fork: Resource temporarily unavailable/);
    assert.notEqual(r.stdout.trim(), 'finished');
    assert.notEqual(r.status, 0);
  });

  test('a memory hog is OOM-killed and reported as such', () => {
    const r = sb.run(['run', '--memory', '16m', '--', 'sh', '-c', 'x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo survived']);
    assert.notEqual(r.stdout.trim(), 'survived');
    assert.match(r.stderr, /hit its memory limit/);
  });

  test('limits show in inspect and the cgroup is removed with the container', async () => {
    const run = startCli(sb, ['run', '--name', 'limited', '--memory', '64m', '--cpus', '0.5', '--pids-limit', '30', '--', 'sh', '-c', 'echo up; exec sleep 30']);
    await until(() => run.output().includes('up'));
    const info = JSON.parse(sb.run(['inspect', 'limited']).stdout);
    assert.deepEqual(info.limits, { memory: 64 * 1024 * 1024, cpus: 0.5, pidsLimit: 30 });
    assert.equal(info.inspection.resources.stats.pidsMax, 30);
    assert.equal(info.inspection.resources.stats.memoryMax, 64 * 1024 * 1024);
    assert.ok(info.inspection.resources.stats.pidsCurrent >= 1);
    assert.ok(cgroupDirs(info.id).some((d) => existsSync(d)));
    sb.run(['stop', '-t', '0', 'limited']);
    await run.done;
    assert.deepEqual(cgroupDirs(info.id).filter((d) => existsSync(d)), []);
  });

  test('an exec\'d process is in the container\'s cgroup in every hierarchy, as its init is', async () => {
    const run = startCli(sb, ['run', '--name', 'execd', '--pids-limit', '10', '--', 'sh', '-c', 'echo up; exec sleep 30']);
    try {
      await until(() => run.output().includes('up'));
      const ex = sb.run(['exec', 'execd', '--', 'sh', '-c', 'cat /proc/self/cgroup; echo ---; cat /proc/1/cgroup']);
      assert.equal(ex.status, 0, ex.stderr);
      const [self, init] = ex.stdout.split('---\n');
      assert.equal(self, init);
      assert.doesNotMatch(self, /\.\./, 'inside the container\'s cgroup namespace: nothing outside its root');
    } finally {
      sb.run(['stop', '-t', '0', 'execd']);
      await run.done;
    }
  });

  test('exec into a container at its --pids-limit is one line, and starts nothing', async () => {
    const run = startCli(sb, ['run', '--name', 'full', '--pids-limit', '1', '--', 'sh', '-c', 'echo up; exec sleep 30']);
    try {
      await until(() => run.output().includes('up'));
      const ex = sb.run(['exec', 'full', '--', 'echo', 'started']);
      assert.equal(ex.stdout, '');
      assert.equal(ex.stderr, 'locker: container full is at its --pids-limit; no new process can start in it until one ends\n');
      assert.notEqual(ex.status, 0);
    } finally {
      sb.run(['stop', '-t', '0', 'full']);
      await run.done;
    }
  });

  test('bad limits are refused with the fix', () => {
    const r = sb.run(['run', '--memory', 'lots', '--', 'true']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^locker: --memory "lots": expected a size like 64m or 1g/);
  });
});

describe('cgroup namespace with limits', { skip: layout.canWrite ? false : `cgroups not writable here: ${layout.reason}` }, () => {
  test('the container sees its own cgroup as the root', () => {
    const r = sb.run(['run', '--memory', '64m', '--', 'cat', '/proc/self/cgroup']);
    assert.equal(r.status, 0, r.stderr);
    const memory = r.stdout.split('\n').find((l) => /:memory:/.test(l) || /^0::/.test(l));
    assert.ok(memory, r.stdout);
    assert.equal(memory.split(':')[2], '/', 'cgroup namespace root is the container cgroup, not /locker/<id>');
  });
});
