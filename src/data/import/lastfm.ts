import { tabTriples } from './triplets.js';

/** Last.fm HetRec 2011 `user_artists.dat`: `userID<TAB>artistID<TAB>weight` with a header, CRLF line ends. */
export const lastfm = tabTriples(
  'lastfm',
  "Last.fm HetRec user_artists.dat 'userID<TAB>artistID<TAB>weight' (play count → weight)",
  'user_artists.dat',
  'weight',
);
