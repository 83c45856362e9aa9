/**
 * Finds where a JSON text stops being valid. Node 20's JSON.parse often reports no position and quotes
 * a slice of the input instead, which can be long and could carry a pasted secret; this scanner gives
 * a line and column without echoing the text. It only checks syntax: JSON.parse does the parsing.
 */
export interface JsonErrorLocation {
  line: number;
  column: number;
  reason: string;
}

class SyntaxStop {
  constructor(readonly reason: string) {}
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const HEX4 = /^[0-9a-fA-F]{4}$/;

/** The first syntax error in `text` (1-based line and column), or null when it is valid JSON. */
export function locateJsonError(text: string): JsonErrorLocation | null {
  let pos = 0;

  const found = (): string => (pos >= text.length ? 'unexpected end of input' : `unexpected ${JSON.stringify(text[pos])}`);
  const fail = (expected: string): never => {
    throw new SyntaxStop(`${found()}, expected ${expected}`);
  };
  const skipWhitespace = (): void => {
    while (pos < text.length && ' \t\n\r'.includes(text[pos])) pos++;
  };

  const string = (): void => {
    pos++; // opening quote
    for (;;) {
      if (pos >= text.length) throw new SyntaxStop('unterminated string');
      const ch = text[pos];
      if (ch === '"') {
        pos++;
        return;
      }
      if (ch === '\\') {
        const escape = text[pos + 1];
        if (escape !== undefined && '"\\/bfnrt'.includes(escape)) pos += 2;
        else if (escape === 'u' && HEX4.test(text.slice(pos + 2, pos + 6))) pos += 6;
        else throw new SyntaxStop('invalid escape sequence in string');
      } else if (ch < ' ') {
        throw new SyntaxStop('unescaped control character (such as a line break) in string');
      } else {
        pos++;
      }
    }
  };

  const value = (): void => {
    skipWhitespace();
    const ch = text[pos];
    if (ch === '{') {
      pos++;
      skipWhitespace();
      if (text[pos] === '}') {
        pos++;
        return;
      }
      for (;;) {
        skipWhitespace();
        if (text[pos] !== '"') fail('a property name in double quotes');
        string();
        skipWhitespace();
        if (text[pos] !== ':') fail('":"');
        pos++;
        value();
        skipWhitespace();
        if (text[pos] === ',') pos++;
        else if (text[pos] === '}') {
          pos++;
          return;
        } else fail('"," or "}"');
      }
    }
    if (ch === '[') {
      pos++;
      skipWhitespace();
      if (text[pos] === ']') {
        pos++;
        return;
      }
      for (;;) {
        value();
        skipWhitespace();
        if (text[pos] === ',') pos++;
        else if (text[pos] === ']') {
          pos++;
          return;
        } else fail('"," or "]"');
      }
    }
    if (ch === '"') return string();
    NUMBER.lastIndex = pos;
    if (NUMBER.test(text)) {
      pos = NUMBER.lastIndex;
      return;
    }
    for (const literal of ['true', 'false', 'null']) {
      if (text.startsWith(literal, pos)) {
        pos += literal.length;
        return;
      }
    }
    fail('a value');
  };

  try {
    value();
    skipWhitespace();
    if (pos < text.length) fail('the end of the file after the JSON value');
    return null;
  } catch (error) {
    if (!(error instanceof SyntaxStop)) throw error;
    const before = text.slice(0, pos).split('\n');
    return { line: before.length, column: before[before.length - 1].length + 1, reason: error.reason };
  }
}
