/**
 * jsonb is selected as text (`col::text`) and parsed here rather than by `pg`'s JSON.parse, which would
 * silently change numbers a double cannot hold (jsonb keeps them as exact `numeric`).
 */
import { parse } from 'lossless-json';
import { jsonNumberOf } from '../transform/json-number';

/** A JSON value whose numbers are doubles where exact and JsonNumbers elsewhere (transform/json-number.ts). */
export function parseJsonbText(text: string): unknown {
  return parse(text, null, jsonNumberOf);
}
