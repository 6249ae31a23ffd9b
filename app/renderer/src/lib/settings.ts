// Projector settings survive a reload.
import { useEffect, useState } from 'react';

export type Theme = 'dark' | 'light';

export const DEFAULT_FONT_SIZE = 15;
/** Projector mode's smallest text: readable from the back of a room. */
export const PROJECTOR_MIN_FONT_SIZE = 20;

/** ?projector=1 (or 0) in the page's URL; undefined when the URL does not say. */
export function projectorFromUrl(search = window.location.search): boolean | undefined {
  const v = new URLSearchParams(search).get('projector');
  if (v === null) return undefined;
  return v !== '0' && v !== 'false' && v !== 'off';
}

/** The size text is drawn at: projector mode enlarges small settings, and never shrinks a larger choice. */
export function effectiveFontSize(fontSize: number, projector: boolean): number {
  return projector ? Math.max(fontSize, PROJECTOR_MIN_FONT_SIZE) : fontSize;
}

export function useStored<T>(key: string, initial: T): [T, (v: T) => void] {
  const [value, setValue] = useState<T>(() => {
    try {
      const raw = window.localStorage.getItem(`locker.${key}`);
      return raw === null ? initial : (JSON.parse(raw) as T);
    } catch {
      return initial;
    }
  });
  useEffect(() => {
    try {
      window.localStorage.setItem(`locker.${key}`, JSON.stringify(value));
    } catch {
      // storage may be unavailable; the setting just won't persist
    }
  }, [key, value]);
  return [value, setValue];
}

export function xtermTheme(theme: Theme) {
  return theme === 'dark'
    ? { background: '#11151c', foreground: '#e6e6e6', cursor: '#f0c674', selectionBackground: '#3a4a63' }
    : { background: '#fbfbf8', foreground: '#1d1f21', cursor: '#b5480b', selectionBackground: '#c8d8f0' };
}
