import { createHash } from 'node:crypto';
import type { Hasher } from '../transform/types';

/** node:crypto's SHA-256 of the UTF-8 text (lone surrogates as U+FFFD): the checksum hasher of every caller. */
export const nativeSha256: Hasher = (text) => createHash('sha256').update(text, 'utf8').digest('hex');
