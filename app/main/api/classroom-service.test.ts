// The service as the lesson panel and the terminal tabs use it, on real containers: a step ticks
// only after its command was entered in the right terminal during the step (never at launch), a
// container started for another step gets one line instead of a list of failures, and closing an
// exec tab ends the exec'd shell and its helper even in a PID-namespaced container.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Runtime } from '../runtime/runtime';
import { LockerService } from './service';

const isRoot = process.getuid?.() === 0;
const dataDir = mkdtempSync(join(tmpdir(), 'locker-classroom-'));
const runtime = new Runtime({ dataDir });
const service = new LockerService(runtime);
after(async () => {
  service.dispose();
  for (const c of runtime.list()) await runtime.remove(c.id, true).catch(() => {});
  rmSync(dataDir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > end) {
      assert.ok(ok(v), `${what}: ${JSON.stringify(v)}`);
      return v;
    }
    await sleep(100);
  }
}

function alive(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').match(/\) Z /);
  } catch {
    return false;
  }
}

describe('lesson checks and exec tabs on real containers', { skip: isRoot ? false : 'needs root (the classic presets without a user namespace)' }, () => {
  test('a step ticks only after its command was entered in the container terminal during the step', async () => {
    const { container, terminal } = await service.run({ command: ['/bin/sh'], namespaces: ['pid', 'mnt'], cols: 80, rows: 24 });
    assert.ok(terminal);
    const req = { lessonId: 'classic', stepId: 'pid-fresh-proc', id: container.id };
    const atLaunch = await service.verifyStep(req);
    assert.equal(atLaunch.ok, false, 'the launch alone must not tick the step');
    assert.equal(atLaunch.mismatch, undefined);
    const ran = atLaunch.outcomes.find((o) => o.rule === 'ran: 0')!;
    assert.equal(ran.ok, false);
    assert.match(ran.says, /^To do: run “echo pid=\$\$; ps” in the container terminal\.$/);
    // the state rules already hold, and say so in words
    assert.ok(atLaunch.outcomes.some((o) => o.ok && o.says === 'The container has its own PID namespace — the host\'s is different.'));

    await service.writeTerminal({ terminalId: terminal.terminalId, data: 'echo pid=$$; ps\r' });
    const done = await until('verified after the command', () => service.verifyStep(req), (v) => v.ok);
    assert.match(done.outcomes.find((o) => o.rule === 'ran: 0')!.says, /^You ran “echo pid=\$\$; ps” in the container terminal\.$/);

    // a later start of the step (or a reset) needs the command again
    const again = await service.verifyStep({ ...req, since: Date.now() + 1 });
    assert.equal(again.ok, false);
    await runtime.remove(container.id, true);
  });

  test('a container started for another step: one line saying what to do, not a list of failures', async () => {
    const { container } = await service.run({ command: ['/bin/sh'], namespaces: ['pid', 'uts', 'mnt', 'ipc', 'net', 'cgroup'], cols: 80, rows: 24 });
    const v = await service.verifyStep({ lessonId: 'classic', stepId: 'plain', id: container.id });
    assert.equal(v.ok, false);
    assert.equal(v.mismatch, 'This container was started with pid, uts, mnt, ipc, net, cgroup; this step wants no namespaces. Press “Set up the launch form”, then Run.');
    await runtime.remove(container.id, true);
  });

  test('closing an exec tab ends the exec shell and its helper in a PID-namespaced container', async () => {
    const { container } = await service.run({ command: ['/bin/sh'], namespaces: ['pid', 'uts', 'mnt'], cols: 80, rows: 24 });
    const tab = await service.exec({ id: container.id, cols: 80, rows: 24 });
    const shell = Number(/host pid (\d+)/.exec(tab.title)![1]);
    await until('the exec shell runs', async () => alive(shell), Boolean);
    const helper = Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${shell}/status`, 'utf8'))![1]);
    assert.notEqual(helper, process.pid, 'exec runs the shell under a helper in the PID namespace');
    await service.closeTerminal({ terminalId: tab.terminalId });
    await until('the shell has ended', async () => alive(shell), (a) => !a);
    await until('its helper has ended', async () => alive(helper), (a) => !a);
    // the container itself keeps running
    assert.ok(existsSync(`/proc/${container.pid}`) && alive(container.pid));
    await runtime.remove(container.id, true);
  });
});
