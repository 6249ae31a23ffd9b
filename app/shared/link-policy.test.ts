import assert from 'node:assert/strict';
import { test } from 'node:test';
import { linkDecision } from './link-policy';

const web = { protocol: 'http:', port: '41234' };

test('a link to another site or port is asked about, with its full normalised target', () => {
  assert.deepEqual(linkDecision('http://127.0.0.1:18997/', web), { kind: 'ask', href: 'http://127.0.0.1:18997/', host: '127.0.0.1:18997' });
  assert.deepEqual(linkDecision('https://exämple.org/a b?x=1#f', web), { kind: 'ask', href: 'https://xn--exmple-cua.org/a%20b?x=1#f', host: 'xn--exmple-cua.org' });
  assert.equal(linkDecision('http://user:pw@evil.example/', web).kind, 'ask');
});

test('a link to the web-mode port is refused whatever host names it', () => {
  for (const t of ['http://127.0.0.1:41234/', 'http://localhost:41234/#token=x', 'http://[::1]:41234/', 'http://0.0.0.0:41234/ws', 'https://10.0.2.15:41234/', 'http://127.1:41234']) {
    const d = linkDecision(t, web);
    assert.equal(d.kind, 'refuse', t);
    assert.match(d.kind === 'refuse' ? d.reason : '', /port 41234 is Locker's own web-mode port/);
  }
  assert.equal(linkDecision('http://127.0.0.1/', { protocol: 'http:', port: '' }).kind, 'refuse', 'default port 80 on both sides');
  assert.equal(linkDecision('http://127.0.0.1/', web).kind, 'ask');
});

test('only http and https; garbage is refused with a reason', () => {
  for (const t of ['javascript:alert(1)', 'file:///etc/passwd', 'data:text/html,<b>x', 'ws://127.0.0.1:1/']) {
    const d = linkDecision(t, web);
    assert.equal(d.kind, 'refuse', t);
    assert.match(d.kind === 'refuse' ? d.reason : '', /only http and https/);
  }
  assert.deepEqual(linkDecision('not a url', web), { kind: 'refuse', shown: 'not a url', reason: 'this is not a valid URL' });
});

test("the desktop app's file:// page has no web-mode port to protect", () => {
  assert.equal(linkDecision('http://127.0.0.1:41234/', { protocol: 'file:', port: '' }).kind, 'ask');
});
