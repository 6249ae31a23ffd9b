// Web mode's token, kept where only this exact origin can read it. The printed URL carries it in
// the fragment (#token=…), which the browser never sends to any server; we move it at once into
// localStorage, which browsers scope to scheme + host + PORT (unlike cookies, which every port of
// 127.0.0.1 would receive), and take it out of the address bar and the history entry. A reload or a
// second tab of this origin finds it there without the teacher retyping anything. It is never sent
// on its own: the WebSocket offers it explicitly (app/shared/web-auth.ts).
import { TOKEN_FRAGMENT_KEY } from '../../../shared/web-auth';

const STORAGE_KEY = 'locker.webToken';

function fragmentToken(): string | undefined {
  const params = new URLSearchParams(window.location.hash.replace(/^#/, ''));
  return params.get(TOKEN_FRAGMENT_KEY) ?? undefined;
}

function dropFragment(): void {
  history.replaceState(history.state, '', window.location.pathname + window.location.search);
}

function store(token: string): void {
  try {
    localStorage.setItem(STORAGE_KEY, token);
  } catch {
    // storage refused (a locked-down profile): this tab still works; a reload needs the URL again
  }
}

function stored(): string | undefined {
  try {
    return localStorage.getItem(STORAGE_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

let current: string | undefined;

/** The token for this page: a fresh one from the URL fragment (then removed from it), else the stored one. */
export function takeToken(): string | undefined {
  const fresh = fragmentToken();
  if (fresh) {
    store(fresh);
    dropFragment();
    current = fresh;
  }
  return current ?? (current = stored());
}

/** Pasting a newly printed URL into this tab only changes the fragment (no reload): take it and start over. */
export function reloadOnNewToken(): void {
  window.addEventListener('hashchange', () => {
    const fresh = fragmentToken();
    if (!fresh) return;
    store(fresh);
    dropFragment();
    window.location.reload();
  });
}

export const NO_TOKEN = 'this page has no Locker token: open the URL that `locker ui --web` (or npm start) printed; it ends in #token=…';
