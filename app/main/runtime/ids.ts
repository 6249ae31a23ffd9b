// Container ids: 12 random hex digits. A container's default hostname is its id, so `locker
// equivalent` draws one the same way to show the hostname a launch would really get.
import { randomBytes } from 'node:crypto';

export const randomContainerId = (): string => randomBytes(6).toString('hex');
