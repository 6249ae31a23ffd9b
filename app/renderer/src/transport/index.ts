// Electron's preload puts the API on window.api; in a plain browser (web mode) there is none,
// so we speak to the web-mode server, proving we hold its token (token.ts) when the socket opens.
import { createClient, type LockerApi } from '../../../shared/api';
import { tokenProtocols } from '../../../shared/web-auth';
import { NO_TOKEN, reloadOnNewToken, takeToken } from './token';
import { connectWebSocket } from './websocket';

declare global {
  interface Window {
    api?: LockerApi;
  }
}

/** Every call fails with the reason; nothing is sent anywhere. */
function refusedApi(reason: string): LockerApi {
  document.body.dataset.connection = 'closed';
  return createClient(async () => ({ error: reason }), () => () => {});
}

export function getApi(): LockerApi {
  if (window.api) return window.api;
  reloadOnNewToken();
  const token = takeToken();
  if (!token) return refusedApi(NO_TOKEN);
  let protocols: string[];
  try {
    protocols = tokenProtocols(token);
  } catch (e) {
    return refusedApi((e as Error).message);
  }
  const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
  return connectWebSocket(`${scheme}://${window.location.host}/ws`, protocols);
}
