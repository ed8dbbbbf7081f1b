import { parseInteger, splitWhitespace } from '../fields.js';
import { forEachLine, lineError } from '../input.js';
import type { Format } from './format.js';

/**
 * CiteULike `users.dat`: line k (0-based) is user k, `n item item ...` with n
 * the number of items that follow. The count is checked, since a mismatch
 * means a damaged line. Blank lines would shift every later user id, so they
 * are an error, except at the end of the file.
 */
export const countlist: Format = {
  name: 'countlist',
  summary: "CiteULike users.dat: line k = user k, 'n item item ...'",
  inputs: { min: 1, max: 1, meaning: 'users.dat' },
  options: [],
  columns: () => ({ weight: false, timestamp: false, predefinedTest: false }),
  async read(inputs, opts, sink) {
    const file = inputs[0]!;
    let blankAt = 0;
    await forEachLine(
      file,
      (text, line) => {
        const tok = splitWhitespace(text);
        if (tok.length === 0) {
          if (blankAt === 0) blankAt = line;
          return;
        }
        if (blankAt !== 0) {
          throw lineError(file, blankAt, "blank line (line k is user k-1; a user without items is written '0')", '');
        }
        const where = { file, line, text };
        const n = parseInteger(tok[0]!, 'item count', where);
        if (n < 0 || n !== tok.length - 1) {
          throw lineError(file, line, `item count is ${n} but ${tok.length - 1} items follow`, text);
        }
        const user = String(line - 1);
        for (let k = 1; k < tok.length; k++) sink.add(user, tok[k]!);
      },
      opts,
    );
    return {};
  },
};
