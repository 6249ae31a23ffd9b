// Watched inspections on a real container: the watch answers with the whole inspection, a process
// started inside arrives as one added entry (not the table), its end as a removed PID, the
// container's end as `ended`; one refresher serves every watcher, and none is left after the last
// unwatch or a closed connection (IPC and WebSocket alike go through readerGone).
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { WebSocket } from 'ws';
import { Channel, type ServerMessage } from '../../shared/api';
import { InspectionMirror, type InspectionDiff, type InspectionEvent } from '../../shared/inspection-diff';
import { Runtime } from '../runtime/runtime';
import { serveSocket } from '../web/socket';
import { LockerService } from './service';

const isRoot = process.getuid?.() === 0;
const dataDir = mkdtempSync(join(tmpdir(), 'locker-watch-'));
const runtime = new Runtime({ dataDir });
const service = new LockerService(runtime);
const events: InspectionEvent[] = [];
service.on('inspection', (ev) => void events.push(ev));
after(async () => {
  service.dispose();
  for (const c of runtime.list()) await runtime.remove(c.id, true).catch(() => {});
  rmSync(dataDir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const wire = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** Waits (bounded, generously: the CI machine is loaded) for an event of `id` that `ok` accepts. */
async function nextEvent(id: string, from: number, ok: (ev: InspectionEvent) => boolean, what: string, ms = 30000): Promise<InspectionEvent> {
  const end = Date.now() + ms;
  for (let i = from; ; ) {
    for (; i < events.length; i++) if (events[i].id === id && ok(events[i])) return events[i];
    assert.ok(Date.now() < end, `${what}: none in ${ms} ms; got ${JSON.stringify(events.slice(from).map((e) => Object.keys(e)))}`);
    await sleep(50);
  }
}

const changesOf = (ev: InspectionEvent): InspectionDiff | undefined => ('changes' in ev ? ev.changes : undefined);

async function shell(): Promise<{ id: string; terminalId: string }> {
  const { container, terminal } = await service.run({ command: ['/bin/sh'], namespaces: ['pid', 'uts', 'mnt', 'ipc'], cols: 80, rows: 24 });
  assert.ok(terminal);
  return { id: container.id, terminalId: terminal.terminalId };
}

describe('watching a real container', { skip: isRoot ? false : 'needs root (a container without a user namespace)' }, () => {
  test('full first, then a started process as one added entry, its end as removed, the stop as ended', async () => {
    const { id, terminalId } = await shell();
    const from = events.length;
    const first = await service.watchInspection({ id }, 'reader-a');
    assert.ok('full' in first, 'the watch answers with the whole inspection');
    assert.equal(first.seq, 0);
    assert.equal(first.full.pid, runtime.get(id)!.pid);
    const fullBytes = JSON.stringify(first).length;
    const mirror = new InspectionMirror();
    mirror.accept(wire(first));

    await service.writeTerminal({ terminalId, data: 'sleep 4242 &\n' });
    const addedEv = await nextEvent(id, from, (ev) => !!changesOf(ev)?.processes?.added?.some((p) => p.cmdline === 'sleep 4242'), 'sleep 4242 added');
    const added = changesOf(addedEv)!.processes!.added!.find((p) => p.cmdline === 'sleep 4242')!;
    assert.equal(added.inContainer, true);
    assert.equal(added.containerPpid, 1, 'its parent inside is the shell, PID 1');
    // a diff, not the table: far smaller than the whole inspection and not every host process
    assert.ok(JSON.stringify(addedEv).length < fullBytes / 4, `the diff is ${JSON.stringify(addedEv).length} bytes, the whole ${fullBytes}`);
    assert.ok(changesOf(addedEv)!.processes!.added!.length < first.full.hostProcesses.length / 4);

    await service.writeTerminal({ terminalId, data: 'kill $!; wait $!\n' });
    const removedEv = await nextEvent(id, from, (ev) => !!changesOf(ev)?.processes?.removed?.includes(added.pid), 'sleep 4242 removed');

    // seq has no gap, and the client's copy is exactly what a new watch gets whole
    const mine = events.slice(from).filter((e) => e.id === id && events.indexOf(e) <= events.indexOf(removedEv));
    mine.forEach((ev, i) => assert.equal(ev.seq, i + 1, 'one seq after the other'));
    for (const ev of mine) assert.notEqual(mirror.accept(wire(ev)), 'resync');
    const again = await service.watchInspection({ id }, 'reader-a');
    assert.ok('full' in again);
    assert.ok(again.seq >= removedEv.seq);
    if (again.seq === removedEv.seq) assert.deepEqual(mirror.inspection, wire(again.full));
    assert.deepEqual(service.inspections.active, [id], 'watching again is the same watch');

    await service.stop({ id });
    const ended = await nextEvent(id, from, (ev) => 'ended' in ev, 'ended');
    assert.match((ended as { ended: string }).ended, /exited/);
    assert.deepEqual(service.inspections.active, [], 'no refresher after the container ended');
    assert.equal(service.watchingInspection('reader-a', id), false);
    await service.remove({ id });
  });

  test('one refresher for every watcher; none after the last unwatch or a closed connection', async () => {
    const { id } = await shell();
    await service.watchInspection({ id }, 'reader-a');
    await service.watchInspection({ id }, 'reader-b');
    assert.deepEqual(service.inspections.active, [id]);
    await service.unwatchInspection({ id }, 'reader-a');
    await service.unwatchInspection({ id }, 'reader-a'); // idempotent
    assert.deepEqual(service.inspections.active, [id], 'reader-b still watches');
    assert.equal(service.watchingInspection('reader-b', id), true);
    service.readerGone('reader-b');
    assert.deepEqual(service.inspections.active, []);

    // a WebSocket connection: its watch ends when it closes
    const ws = new FakeSocket();
    serveSocket(ws as unknown as WebSocket, service, { enabled: false });
    ws.call(1, Channel.watchInspection, { id });
    const reply = await ws.reply(1);
    assert.ok('result' in reply.env && 'full' in (reply.env.result as InspectionEvent));
    assert.deepEqual(service.inspections.active, [id]);
    ws.emit('close');
    assert.deepEqual(service.inspections.active, [], 'no refresher after the socket closed');
    await service.remove({ id });
  });

  test('watching a container that is not running is refused in one line', async () => {
    const r = await service.dispatch('watchInspection', { id: 'nosuchcontainer' }, 'reader-c');
    assert.ok('error' in r);
    assert.match(r.error, /nosuchcontainer/);
    assert.deepEqual(service.inspections.active, []);
  });
});

/** Just enough of a ws socket for serveSocket: messages in, JSON out. */
class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  readonly sent: ServerMessage[] = [];
  send(text: string): void {
    this.sent.push(JSON.parse(text) as ServerMessage);
  }
  close(): void {
    this.readyState = 3;
  }
  call(id: number, ch: string, arg: unknown): void {
    this.emit('message', Buffer.from(JSON.stringify({ t: 'call', id, ch, arg })), false);
  }
  async reply(id: number): Promise<Extract<ServerMessage, { t: 'reply' }>> {
    for (let i = 0; i < 600; i++) {
      const m = this.sent.find((s) => s.t === 'reply' && s.id === id);
      if (m) return m as Extract<ServerMessage, { t: 'reply' }>;
      await sleep(50);
    }
    throw new Error(`no reply ${id} in 30 s`);
  }
}
