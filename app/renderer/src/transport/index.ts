// Electron's preload puts the API on window.api; in a plain browser (web mode) there is none,
// so we speak to the web-mode server, whose token came in this page's URL.
import type { LockerApi } from '../../../shared/api';
import { connectWebSocket } from './websocket';

declare global {
  interface Window {
    api?: LockerApi;
  }
}

export function getApi(): LockerApi {
  if (window.api) return window.api;
  const token = new URLSearchParams(window.location.search).get('token') ?? '';
  const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
  return connectWebSocket(`${scheme}://${window.location.host}/ws?token=${encodeURIComponent(token)}`);
}
