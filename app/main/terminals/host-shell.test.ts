// A real bash through node-pty, behind the real service: input, output, resize, and a `yes` flood
// that pauses the pty until acked (what keeps the UI alive).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TerminalData } from '../../shared/api';
import { LockerService } from '../api/service';
import { FakeRuntime } from '../api/testing';
import { HIGH_WATERMARK, MAX_CHUNK } from './flow';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(20);
  }
}

test('a host shell echoes, resizes and floods within the watermark', async () => {
  const service = new LockerService(new FakeRuntime());
  const data: TerminalData[] = [];
  service.on('terminalData', (d) => data.push(d));
  const { terminalId } = await service.openHostShell({ cols: 80, rows: 24 });
  const text = () => data.map((d) => d.data).join('');
  try {
    // As a pane does: attach, then ack what it drew. (Until a reader attaches, output waits for it.)
    await service.attachTerminal({ terminalId });
    await service.writeTerminal({ terminalId, data: 'stty size; echo ok-$((40+2))\r' });
    await until(() => text().includes('ok-42'));
    assert.match(text(), /24 80/);
    await service.resizeTerminal({ terminalId, cols: 120, rows: 40 });
    await service.writeTerminal({ terminalId, data: 'stty size\r' });
    await until(() => text().includes('40 120'));

    // everything so far acknowledged, as the renderer would after drawing
    for (const d of data.splice(0)) await service.ackTerminal({ terminalId, bytes: d.bytes });
    await service.writeTerminal({ terminalId, data: 'yes €\r' });
    const sent = () => data.reduce((n, d) => n + d.bytes, 0);
    // `yes` floods as fast as the machine lets it: wait for the watermark, not for a fixed time.
    await until(() => sent() >= HIGH_WATERMARK, 20000).catch(() => assert.fail(`a flood should reach the watermark, got ${sent()}`));
    await sleep(300); // the pause takes effect with the chunk in flight
    const unacked = sent();
    assert.ok(unacked < HIGH_WATERMARK + 2 * MAX_CHUNK, `paused near the watermark, got ${unacked}`);
    assert.ok(data.every((d) => d.bytes <= MAX_CHUNK && !d.data.includes('\uFFFD')), 'bounded chunks, no broken characters');
    await sleep(300);
    assert.equal(data.reduce((n, d) => n + d.bytes, 0), unacked, 'nothing more while unacknowledged');

    // acking resumes the stream
    for (const d of data.splice(0)) await service.ackTerminal({ terminalId, bytes: d.bytes });
    await until(() => data.length > 0);
    await service.writeTerminal({ terminalId, data: '\x03' });
  } finally {
    service.dispose();
  }
});
