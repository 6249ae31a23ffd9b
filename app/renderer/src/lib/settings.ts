// Projector settings survive a reload.
import { useEffect, useState } from 'react';

export type Theme = 'dark' | 'light';

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
