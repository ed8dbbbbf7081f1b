import { Fields, integerField, internIntegerField, splitBlankBytes } from '../fields.js';
import { forEachLineBytes, lineError } from '../input.js';
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
    const tok = new Fields();
    await forEachLineBytes(
      file,
      (ref) => {
        splitBlankBytes(ref, tok);
        if (tok.n === 0) {
          if (blankAt === 0) blankAt = ref.line;
          return;
        }
        if (blankAt !== 0) {
          throw lineError(file, blankAt, "blank line (line k is user k-1; a user without items is written '0')", '');
        }
        const n = integerField(tok, 0, 'item count', ref);
        if (n < 0 || n !== tok.n - 1) {
          throw lineError(file, ref.line, `item count is ${n} but ${tok.n - 1} items follow`, ref.text);
        }
        if (n === 0) return;
        const user = sink.users.intern(String(ref.line - 1));
        for (let k = 1; k < tok.n; k++) sink.add(user, internIntegerField(sink.items, tok, k, 'item', ref));
      },
      opts,
    );
    return {};
  },
};
