//! AAF sessions end to end (issue 9): inspect against LibAAF dumps, write-back read by pyaaf2.
