//! Cutting an answer to a size bound: the longest run of entries, oldest first, whose
//! encoded sizes fit, and whether any were left for a later request. Pure, with no
//! actix in it; the socket's `history` frame (256 KiB) and the REST history (1 MiB)
//! share it, and the caller asks again with `since` = the last seq it got.

use std::io;

use fillstack_protocol::Codec;
use serde::Serialize;

/// Keeps the longest prefix of `entries` whose costs (`cost_of` each) add up to at
/// most `max_bytes`; the flag is true when entries were left out (`more`).
///
/// The first entry is kept even when it alone is over the bound, so that a caller
/// asking again from the last seq it got always makes progress. (An entry is bounded
/// by the field and label limits, about 31 KB, far below either answer bound.)
pub fn cut_to_bytes<T>(
    mut entries: Vec<T>,
    max_bytes: usize,
    cost_of: impl Fn(&T) -> usize,
) -> (Vec<T>, bool) {
    let mut used = 0usize;
    let mut kept = 0;
    for entry in &entries {
        let cost = cost_of(entry);
        if kept > 0 && used.saturating_add(cost) > max_bytes {
            break;
        }
        used = used.saturating_add(cost);
        kept += 1;
    }
    let more = kept < entries.len();
    entries.truncate(kept);
    (entries, more)
}

/// The size of `value` encoded with `codec`, counted without keeping the bytes.
pub fn encoded_len<T: Serialize>(codec: Codec, value: &T) -> usize {
    let mut counter = ByteCounter(0);
    // Frames hold only maps, lists and scalars, which both encoders always accept
    // (the same invariant as `Codec::encode`); a failure would only undercount.
    let _ = match codec {
        Codec::Json => serde_json::to_writer(&mut counter, value).map_err(|_| ()),
        Codec::MsgPack => rmp_serde::encode::write_named(&mut counter, value).map_err(|_| ()),
    };
    counter.0
}

/// An `io::Write` that only counts.
struct ByteCounter(usize);

impl io::Write for ByteCounter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0 = self.0.saturating_add(bytes.len());
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_that_fits_is_kept_and_more_is_false() {
        assert_eq!(
            cut_to_bytes(vec![3, 4, 5], 12, |n| *n),
            (vec![3, 4, 5], false)
        );
        assert_eq!(
            cut_to_bytes(Vec::<usize>::new(), 0, |n| *n),
            (vec![], false)
        );
    }

    #[test]
    fn the_cut_keeps_the_oldest_entries_that_fit_and_says_more() {
        assert_eq!(cut_to_bytes(vec![3, 4, 5], 11, |n| *n), (vec![3, 4], true));
        assert_eq!(cut_to_bytes(vec![3, 4, 5], 7, |n| *n), (vec![3, 4], true));
        assert_eq!(cut_to_bytes(vec![3, 4, 5], 6, |n| *n), (vec![3], true));
    }

    #[test]
    fn a_later_small_entry_is_not_taken_past_one_that_did_not_fit() {
        // Taking the 1 after skipping the 9 would leave a gap in the seqs.
        assert_eq!(cut_to_bytes(vec![2, 9, 1], 5, |n| *n), (vec![2], true));
    }

    #[test]
    fn the_first_entry_is_kept_even_over_the_bound_so_a_caller_makes_progress() {
        assert_eq!(cut_to_bytes(vec![50, 1], 10, |n| *n), (vec![50], true));
        assert_eq!(cut_to_bytes(vec![50], 10, |n| *n), (vec![50], false));
    }

    #[test]
    fn encoded_len_is_the_length_of_the_encoded_bytes_in_either_codec() {
        let value = serde_json::json!({"t": "delta", "resource": "svc/a", "seq": 7,
            "fields": {"cpu": 1.5, "name": "x".repeat(300)}});
        for codec in [Codec::Json, Codec::MsgPack] {
            assert_eq!(
                encoded_len(codec, &value),
                codec.encode(&value).len(),
                "{codec:?}"
            );
        }
    }
}
