import { checkIntegerField, Fields, internIntegerField, splitBlankBytes } from '../fields.js';
import { forEachLineBytes } from '../input.js';
import type { Format } from './format.js';

/**
 * LightGCN / NGCF lists: one line per user, `user item item ...`, space
 * separated. Given two files they are train and test of a predefined split,
 * which the import keeps (predefined_test.arrow). A line with a user and no
 * items adds nothing. Ids are non-negative integers (as LightGCN writes
 * them), so a damaged or binary file fails at its first bad token.
 */
export const lightgcn: Format = {
  name: 'lightgcn',
  summary: "per-user lines 'user item item ...' (LightGCN/NGCF train.txt [test.txt]; two files keep their split)",
  inputs: { min: 1, max: 2, meaning: 'train.txt [test.txt]' },
  options: [],
  columns: (inputs) => ({ weight: false, timestamp: false, predefinedTest: inputs.length === 2 }),
  async read(inputs, opts, sink) {
    for (let f = 0; f < inputs.length; f++) {
      const isTest = f === 1;
      const tok = new Fields();
      await forEachLineBytes(
        inputs[f]!,
        (ref) => {
          splitBlankBytes(ref, tok);
          if (tok.n === 0) return;
          if (tok.n === 1) return checkIntegerField(tok, 0, 'user', ref);
          const user = internIntegerField(sink.users, tok, 0, 'user', ref);
          for (let k = 1; k < tok.n; k++) sink.add(user, internIntegerField(sink.items, tok, k, 'item', ref), NaN, NaN, isTest);
        },
        opts,
      );
    }
    return {};
  },
};
