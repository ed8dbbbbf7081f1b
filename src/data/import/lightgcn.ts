import { splitWhitespace } from '../fields.js';
import { forEachLine } from '../input.js';
import type { Format } from './format.js';

/**
 * LightGCN / NGCF lists: one line per user, `user item item ...`, space
 * separated. Given two files they are train and test of a predefined split,
 * which the import keeps (predefined_test.arrow). A line with a user and no
 * items adds nothing.
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
      await forEachLine(
        inputs[f]!,
        (text) => {
          const tok = splitWhitespace(text);
          for (let k = 1; k < tok.length; k++) sink.add(tok[0]!, tok[k]!, NaN, NaN, isTest);
        },
        opts,
      );
    }
    return {};
  },
};
