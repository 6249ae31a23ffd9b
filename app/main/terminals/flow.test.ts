import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowControl, Utf8Splitter, chunkUtf8, incompleteTail, utf8Boundary } from './flow';

const euro = Buffer.from('€'); // 3 bytes
const face = Buffer.from('😀'); // 4 bytes

test('incompleteTail finds a character cut at the end', () => {
  assert.equal(incompleteTail(Buffer.from('abc')), 0);
  assert.equal(incompleteTail(euro), 0);
  assert.equal(incompleteTail(euro.subarray(0, 1)), 1);
  assert.equal(incompleteTail(euro.subarray(0, 2)), 2);
  assert.equal(incompleteTail(Buffer.concat([Buffer.from('a'), face.subarray(0, 3)])), 3);
  assert.equal(incompleteTail(Buffer.from([0x80, 0x80])), 0, 'stray continuation bytes are passed through');
});

test('utf8Boundary never cuts inside a character', () => {
  const buf = Buffer.concat([Buffer.from('ab'), euro]); // a b E2 82 AC
  assert.equal(utf8Boundary(buf, 2), 2);
  assert.equal(utf8Boundary(buf, 3), 2);
  assert.equal(utf8Boundary(buf, 4), 2);
  assert.equal(utf8Boundary(buf, 5), 5);
  assert.equal(utf8Boundary(buf, 99), 5);
});

test('chunkUtf8 keeps chunks ≤ max and decodes losslessly', () => {
  const text = 'x€😀é'.repeat(5000);
  const buf = Buffer.from(text);
  const chunks = chunkUtf8(buf, 1000);
  assert.ok(chunks.every((c) => c.length <= 1000 && c.length > 0));
  assert.equal(chunks.map((c) => c.toString('utf8')).join(''), text);
  assert.ok(!chunks.some((c) => c.toString('utf8').includes('\uFFFD')));
});

test('Utf8Splitter reassembles a character split across reads', () => {
  const s = new Utf8Splitter();
  const out = [s.push(Buffer.from([0x61, face[0], face[1]])), s.push(Buffer.from([face[2]])), s.push(Buffer.from([face[3], 0x62]))];
  assert.equal(Buffer.concat(out).toString(), 'a😀b');
  assert.equal(out[1].length, 0);
  assert.equal(s.flush().length, 0);
});

function harness(opts: { maxChunk?: number; high?: number; low?: number } = {}) {
  const events: string[] = [];
  const chunks: { data: string; bytes: number; offset: number }[] = [];
  const flow = new FlowControl({
    emit: (data, bytes, offset) => chunks.push({ data, bytes, offset }),
    pause: () => events.push('pause'),
    resume: () => events.push('resume'),
    maxChunk: opts.maxChunk ?? 100 * 1024,
    highWatermark: opts.high ?? 1000,
    lowWatermark: opts.low ?? 200,
  });
  return { flow, events, chunks };
}

test('flow control pauses above the high watermark and resumes at the low one', () => {
  const { flow, events, chunks } = harness();
  flow.push(Buffer.alloc(600, 'y'));
  assert.deepEqual(events, []);
  flow.push(Buffer.alloc(600, 'y'));
  assert.deepEqual(events, ['pause']);
  assert.equal(flow.unacked, 1200);
  flow.ack(600);
  assert.deepEqual(events, ['pause'], 'still above the low watermark');
  flow.ack(500);
  assert.deepEqual(events, ['pause', 'resume']);
  assert.equal(flow.paused, false);
  assert.deepEqual(chunks.map((c) => c.offset), [0, 600]);
  assert.equal(flow.offset, 1200);
});

test('flow control splits big reads into ≤ maxChunk UTF-8-safe chunks with offsets', () => {
  const { flow, chunks } = harness({ maxChunk: 10, high: 1e9, low: 1 });
  const text = '€'.repeat(20); // 60 bytes: 3 whole characters per 10-byte chunk
  const buf = Buffer.from(text);
  // feed in awkward 7-byte reads, splitting characters
  for (let i = 0; i < buf.length; i += 7) flow.push(buf.subarray(i, i + 7));
  assert.equal(chunks.map((c) => c.data).join(''), text);
  assert.ok(chunks.every((c) => c.bytes <= 10 && Buffer.byteLength(c.data) === c.bytes));
  let expect = 0;
  for (const c of chunks) {
    assert.equal(c.offset, expect);
    expect += c.bytes;
  }
});

test('reset forgets unacknowledged bytes and resumes a paused stream', () => {
  const { flow, events } = harness();
  flow.push(Buffer.alloc(5000));
  assert.equal(flow.paused, true);
  flow.reset();
  assert.equal(flow.unacked, 0);
  assert.deepEqual(events, ['pause', 'resume']);
});

test('a yes-like flood stays bounded when nobody acks', () => {
  const { flow, events } = harness({ high: 4096, low: 1024 });
  let pushed = 0;
  // the pty stops delivering once paused: model that
  // bounded: if pausing regressed, this would otherwise never end
  for (let i = 0; !flow.paused && i < 1000; i++) {
    flow.push(Buffer.from('y\n'.repeat(512)));
    pushed += 1024;
  }
  assert.ok(pushed <= 4096 + 1024);
  assert.deepEqual(events, ['pause']);
});

test('watermarks must be ordered', () => {
  assert.throws(() => new FlowControl({ emit() {}, pause() {}, resume() {}, highWatermark: 10, lowWatermark: 10 }), /low watermark/);
});

test('flow control is per reader: the slowest attached reader holds the pty, a detached one no longer does', () => {
  const events: string[] = [];
  const flow = new FlowControl({ emit() {}, pause: () => events.push('pause'), resume: () => events.push('resume'), highWatermark: 1000, lowWatermark: 200, readers: [] });
  flow.push(Buffer.alloc(5000));
  assert.deepEqual(events, [], 'nobody reads: nothing holds the output back');
  flow.attach('a');
  flow.attach('b');
  flow.push(Buffer.alloc(1200));
  assert.deepEqual(events, ['pause']);
  flow.ack(1200, 'a');
  assert.deepEqual(events, ['pause'], 'b is still behind');
  assert.equal(flow.unacked, 1200);
  flow.detach('b');
  assert.deepEqual(events, ['pause', 'resume']);
  flow.ack(5, 'nobody');
  assert.equal(flow.unacked, 0);
});

test('a partial UTF-8 sequence held while paused is not cut by the silence: the pause is ours, its rest comes after the resume', async () => {
  const chunks: string[] = [];
  let paused = false;
  const flow = new FlowControl({
    emit: (data) => chunks.push(data), pause: () => void (paused = true), resume: () => void (paused = false),
    utf8SilenceMs: 5, highWatermark: 6, lowWatermark: 2, maxChunk: 8,
  });
  // A flood of '€' (3 bytes) that reaches the watermark with a character cut after its first byte.
  flow.push(Buffer.concat([euro, euro, euro.subarray(0, 1)]));
  assert.equal(paused, true);
  await new Promise((r) => setTimeout(r, 60)); // well past the silence
  assert.deepEqual(chunks, ['€€'], 'nothing flushed while paused');
  flow.ack(6);
  assert.equal(paused, false);
  flow.push(euro.subarray(1));
  assert.deepEqual(chunks, ['€€', '€']);
  // A writer that really stopped mid-character after the resume: flushed after a silence counted from then.
  flow.ack(3);
  flow.push(euro.subarray(0, 2));
  for (let i = 0; i < 500 && chunks.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(chunks, ['€€', '€', '\uFFFD']);
});

test('a partial UTF-8 sequence goes out after a short silence, its bytes counted once', async () => {
  const chunks: { data: string; bytes: number; offset: number }[] = [];
  const flow = new FlowControl({ emit: (data, bytes, offset) => chunks.push({ data, bytes, offset }), pause() {}, resume() {}, utf8SilenceMs: 5 });
  flow.push(Buffer.concat([Buffer.from('ab'), euro.subarray(0, 2)]));
  assert.deepEqual(chunks, [{ data: 'ab', bytes: 2, offset: 0 }]);
  // polled, not timed: the lone lead bytes must come out on their own
  for (let i = 0; i < 500 && chunks.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(chunks[1], { data: '\uFFFD', bytes: 2, offset: 2 });
  // a sequence completed before the silence is decoded whole
  flow.push(euro.subarray(0, 1));
  flow.push(euro.subarray(1));
  assert.deepEqual(chunks[2], { data: '€', bytes: 3, offset: 4 });
});
