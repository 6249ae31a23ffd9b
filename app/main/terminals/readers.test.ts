import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AttachedTerminals } from './readers';

test('a connection reads a terminal from its attach until its last pane detaches', () => {
  const a = new AttachedTerminals();
  const t = { terminalId: 'c-1' };
  assert.equal(a.before('attachTerminal', t), undefined);
  a.after('attachTerminal', t, { result: {} });
  assert.ok(a.has('c-1'));
  a.before('attachTerminal', t); // a second pane
  assert.deepEqual(a.before('detachTerminal', t), { result: null }, 'the other pane still reads it');
  assert.ok(a.has('c-1'));
  assert.equal(a.before('detachTerminal', t), undefined);
  a.after('detachTerminal', t, { result: null });
  assert.equal(a.has('c-1'), false);
});

test('a refused attach reads nothing; a close ends the reading', () => {
  const a = new AttachedTerminals();
  a.before('attachTerminal', { terminalId: 'nope' });
  a.after('attachTerminal', { terminalId: 'nope' }, { error: 'no terminal "nope"' });
  assert.equal(a.has('nope'), false);
  a.before('attachTerminal', { terminalId: 'h-1' });
  a.after('closeTerminal', { terminalId: 'h-1' }, { result: null });
  assert.equal(a.has('h-1'), false);
  assert.equal(a.before('attachTerminal', { terminalId: 5 }), undefined);
  assert.equal(a.has('5'), false);
});
