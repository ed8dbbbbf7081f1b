import t from 'tap';
import { duration } from '../src/util/progress.js';

t.test('duration: seconds as people read them, carried at the unit boundaries', async (t) => {
  t.equal(duration(0), '0 s');
  t.equal(duration(59.4), '59 s');
  t.equal(duration(59.6), '1 min 0 s');
  t.equal(duration(95), '1 min 35 s');
  t.equal(duration(3599.4), '59 min 59 s');
  t.equal(duration(4000), '1 h 7 min');
  t.equal(duration(7170), '2 h 0 min', 'never "1 h 60 min"');
});
