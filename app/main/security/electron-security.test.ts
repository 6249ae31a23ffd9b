// The Electron security checklist, checked without running Electron: the pure decisions the
// Electron glue uses (electron-policy.ts), the sources that wire them in, index.html's CSP and the
// fuses electron-builder flips in packaged builds.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { REPO } from '../testing/harness';
import { contentSecurityPolicy } from '../web/start';
import {
  RENDERER_CSP, WEB_PREFERENCES, navigationAllowed, pageUrl, parseCsp, permissionAllowed, redirectAllowed, scriptPolicyProblems,
  senderTrusted, webPreferences, webviewAllowed, windowOpenDecision, withCsp, type SenderFacts,
} from './electron-policy';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const yaml = require('js-yaml') as { load(text: string): unknown };

const source = (rel: string): string => readFileSync(join(REPO, rel), 'utf8');
const page = pageUrl('/opt/Locker/resources/app.asar/build/renderer/index.html');

function tsFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(join(REPO, dir))) {
    const rel = join(dir, name);
    if (statSync(join(REPO, rel)).isDirectory()) tsFiles(rel, out);
    else if (/\.tsx?$/.test(name) && !name.endsWith('.test.ts')) out.push(rel);
  }
  return out;
}

describe('BrowserWindow webPreferences', () => {
  test('context isolation, sandbox, no Node, web security on', () => {
    const prefs = webPreferences('/x/preload.bundle.js');
    assert.equal(prefs.preload, '/x/preload.bundle.js');
    assert.equal(prefs.contextIsolation, true);
    assert.equal(prefs.sandbox, true);
    assert.equal(prefs.nodeIntegration, false);
    assert.equal(prefs.nodeIntegrationInWorker, false);
    assert.equal(prefs.nodeIntegrationInSubFrames, false);
    assert.notEqual(prefs.webSecurity, false);
    assert.equal(prefs.allowRunningInsecureContent, false);
    assert.equal(prefs.webviewTag, false);
    assert.ok(Object.isFrozen(WEB_PREFERENCES));
    assert.ok(!('enableBlinkFeatures' in prefs) && !('experimentalFeatures' in prefs));
  });

  test('main.ts builds its one window with these preferences and hardens every webContents and the session', () => {
    const main = source('app/main/electron/main.ts');
    assert.equal(main.match(/new BrowserWindow\(/g)?.length, 1, 'exactly one BrowserWindow');
    assert.match(main, /webPreferences:\s*webPreferences\(preload\)/);
    assert.match(main, /app\.on\('web-contents-created',[^\n]*hardenContents\(contents, allowedUrl\)\)/);
    assert.match(main, /hardenSession\(session\.defaultSession\)/);
    assert.match(main, /registerIpc\(service, \(\) => win, allowedUrl\)/);
    assert.match(source('app/main/electron/ipc.ts'), /if \(!trustedSender\(event, getWindow\(\), allowedUrl\)\) return \{ error:/);
  });

  test('no Electron or preload source turns a protection off', () => {
    const files = [...tsFiles('app/main/electron'), ...tsFiles('app/preload')];
    assert.ok(files.length >= 4, files.join(' '));
    for (const f of files) {
      const text = source(f);
      for (const bad of [/contextIsolation:\s*false/, /sandbox:\s*false/, /nodeIntegration\w*:\s*true/, /webSecurity:\s*false/, /allowRunningInsecureContent:\s*true/, /webviewTag:\s*true/, /\.openExternal\(/]) {
        assert.doesNotMatch(text, bad, `${f} has ${bad}`);
      }
    }
    // The preload exposes only the typed API, through contextBridge, never ipcRenderer itself.
    const preload = source('app/preload/preload.ts');
    assert.match(preload, /contextBridge\.exposeInMainWorld\(/);
    assert.doesNotMatch(preload, /exposeInMainWorld\([^)]*ipcRenderer\s*\)/);
  });
});

describe('content security policy', () => {
  const metaCsp = (html: string): string => {
    const m = /<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]+)"/i.exec(html);
    assert.ok(m, 'index.html has a CSP meta tag');
    return m[1];
  };

  test('the session header, the index.html meta tag and web mode forbid inline and eval\'d scripts', () => {
    const policies: Array<[string, string]> = [
      ['session header', RENDERER_CSP],
      ['app/renderer/index.html', metaCsp(source('app/renderer/index.html'))],
      ['web mode', contentSecurityPolicy('127.0.0.1:8080')],
    ];
    for (const [where, csp] of policies) {
      assert.deepEqual(scriptPolicyProblems(csp), [], `${where}: ${csp}`);
      const d = parseCsp(csp);
      assert.deepEqual(d.get('script-src'), ["'self'"], where);
      assert.deepEqual(d.get('default-src'), ["'self'"], where);
      assert.deepEqual(d.get('object-src'), ["'none'"], where);
    }
    assert.deepEqual(parseCsp(RENDERER_CSP).get('frame-ancestors'), ["'none'"]);
  });

  test('the meta tag is still in the built page when it exists', (t) => {
    let html: string;
    try {
      html = readFileSync(join(REPO, 'build', 'renderer', 'index.html'), 'utf8');
    } catch {
      t.skip('build/renderer not built');
      return;
    }
    assert.deepEqual(scriptPolicyProblems(metaCsp(html)), []);
    assert.doesNotMatch(html.replace(/<script[^>]*\bsrc=[^>]*><\/script>/g, ''), /<script/i, 'no inline script');
  });

  test('the header replaces a CSP the response brought, whatever its case, and keeps other headers', () => {
    const out = withCsp({ 'content-security-policy': ["script-src * 'unsafe-eval'"], 'X-Other': 'v' });
    assert.deepEqual(out, { 'X-Other': ['v'], 'Content-Security-Policy': [RENDERER_CSP] });
    assert.deepEqual(withCsp(undefined), { 'Content-Security-Policy': [RENDERER_CSP] });
  });

  test('the checker itself notices a weak policy', () => {
    assert.deepEqual(scriptPolicyProblems("default-src 'self'; script-src 'self' 'unsafe-eval' 'unsafe-inline'; object-src 'none'; base-uri 'none'"),
      ["scripts allow 'unsafe-eval'", "scripts allow 'unsafe-inline'"]);
    assert.deepEqual(scriptPolicyProblems("img-src *"), ['no script-src or default-src: any script may load']);
  });
});

describe('navigation, popups, permissions', () => {
  test('will-navigate: only our own page (a reload, a hash) is allowed', () => {
    assert.equal(navigationAllowed(page, page), true);
    assert.equal(navigationAllowed(`${page}#lesson`, page), true);
    assert.equal(navigationAllowed(`${page}?x=1`, page), true);
    for (const url of [
      'https://example.com/', 'http://127.0.0.1:8080/', 'file:///etc/passwd', 'file:///opt/Locker/resources/app.asar/build/renderer/other.html',
      `${page}/../../../../../etc/passwd`, 'javascript:alert(1)', 'data:text/html,<script>1</script>', 'about:blank', 'not a url', '',
    ]) {
      assert.equal(navigationAllowed(url, page), false, url);
    }
    assert.equal(navigationAllowed(undefined, page), false);
    assert.equal(navigationAllowed('', ''), false);
  });

  test('redirects and webviews are prevented; window.open is denied; permissions refused', () => {
    assert.equal(redirectAllowed(), false);
    assert.equal(webviewAllowed(), false);
    assert.deepEqual(windowOpenDecision(), { action: 'deny' });
    assert.equal(permissionAllowed(), false);
    const glue = source('app/main/electron/security.ts');
    assert.match(glue, /contents\.setWindowOpenHandler\(windowOpenDecision\)/);
    assert.match(glue, /'will-navigate', \(event, url\) => \{\s*if \(!navigationAllowed\(url, allowedUrl\)\) event\.preventDefault\(\);/);
    assert.match(glue, /'will-redirect'[^]*?event\.preventDefault\(\)/);
    assert.match(glue, /'will-attach-webview'[^]*?event\.preventDefault\(\)/);
    assert.match(glue, /setPermissionRequestHandler\(\(_wc, _permission, callback\) => callback\(permissionAllowed\(\)\)\)/);
    assert.match(glue, /setPermissionCheckHandler\(permissionAllowed\)/);
    assert.match(glue, /onHeadersReceived\(\(details, callback\) => callback\(\{ responseHeaders: withCsp\(details\.responseHeaders\) \}\)\)/);
  });
});

describe('IPC sender check', () => {
  const ok: SenderFacts = { windowAlive: true, fromOurWindow: true, frame: { url: page, isTopFrame: true } };
  test('our window\'s top frame on our page is trusted', () => {
    assert.equal(senderTrusted(ok, page), true);
    assert.equal(senderTrusted({ ...ok, frame: { url: `${page}#x`, isTopFrame: true } }, page), true);
  });
  const refused: Array<[string, SenderFacts]> = [
    ['an iframe of our page', { ...ok, frame: { url: page, isTopFrame: false } }],
    ['a frame that navigated elsewhere', { ...ok, frame: { url: 'https://evil.example/', isTopFrame: true } }],
    ['another file:// page', { ...ok, frame: { url: 'file:///tmp/evil.html', isTopFrame: true } }],
    ['a frame that is gone', { ...ok, frame: null }],
    ['another webContents', { ...ok, fromOurWindow: false }],
    ['a destroyed window', { ...ok, windowAlive: false }],
  ];
  for (const [what, facts] of refused) {
    test(`refused: ${what}`, () => assert.equal(senderTrusted(facts, page), false));
  }
});

describe('fuses in packaged builds (electron-builder.yml)', () => {
  const config = yaml.load(source('electron-builder.yml')) as Record<string, unknown>;
  const expected = {
    runAsNode: false,
    enableCookieEncryption: true,
    enableNodeOptionsEnvironmentVariable: false,
    enableNodeCliInspectArguments: false,
    enableEmbeddedAsarIntegrityValidation: true,
    onlyLoadAppFromAsar: true,
  };

  test('electronFuses turns run-as-node, NODE_OPTIONS and --inspect off and requires the checked asar', () => {
    assert.deepEqual(config.electronFuses, expected);
    assert.notEqual(config.asar, false, 'onlyLoadAppFromAsar needs the app packed as asar');
  });

  test('the keys are the ones electron-builder knows (its JSON schema)', () => {
    const scheme = JSON.parse(readFileSync(join(REPO, 'node_modules', 'app-builder-lib', 'scheme.json'), 'utf8')) as {
      properties: Record<string, { anyOf?: Array<{ $ref?: string }> }>;
      definitions: Record<string, { properties: Record<string, { type: string }>; additionalProperties: boolean }>;
    };
    assert.ok(scheme.properties.electronFuses.anyOf?.some((s) => s.$ref === '#/definitions/FuseOptionsV1'));
    const fuses = scheme.definitions.FuseOptionsV1;
    assert.equal(fuses.additionalProperties, false);
    for (const key of Object.keys(expected)) assert.equal(fuses.properties[key]?.type, 'boolean', key);
  });
});
