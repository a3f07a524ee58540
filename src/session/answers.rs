//! Answers whose size depends on what the store holds, cut to a bound so that no
//! answer can make a reading session a slow consumer.

use bytes::Bytes;
use fillstack_protocol::{Codec, RequestId, ResourceId, ServerFrame};

use super::cut::{cut_to_bytes, encoded_len};
use crate::resource::messages::HistoryPage;

/// The most bytes one `history` frame carries; a longer answer is cut with `more: true`.
pub const MAX_HISTORY_FRAME_BYTES: usize = 256 * 1024;
/// Room kept for the frame's own keys besides its deltas.
const FRAME_OVERHEAD: usize = 512;

/// The `history` frame answering request `id`, encoded, at most
/// [`MAX_HISTORY_FRAME_BYTES`] long (at least one delta, whatever its size).
pub fn history_frame(
    codec: Codec,
    id: RequestId,
    resource: &ResourceId,
    page: HistoryPage,
) -> Bytes {
    let (deltas, more) = cut_to_bytes(
        page.entries,
        MAX_HISTORY_FRAME_BYTES - FRAME_OVERHEAD,
        |entry| encoded_len(codec, entry) + 1,
    );
    codec.encode(&ServerFrame::History {
        id,
        resource: resource.to_string(),
        deltas,
        complete: page.complete,
        more,
    })
}

#[cfg(test)]
mod tests {
    use fillstack_protocol::{DeltaFrame, HistoryEntry, Scalar};

    use super::*;

    fn big_delta(seq: u64) -> HistoryEntry {
        let fields = (0..40)
            .map(|n| (format!("f{n}"), Some(Scalar::Str("x".repeat(250)))))
            .collect();
        HistoryEntry::Delta(DeltaFrame {
            resource: "svc/api".into(),
            seq,
            at: 1,
            status: None,
            fields: Some(fields),
            labels: None,
            ttl_ms: None,
        })
    }

    #[test]
    fn a_history_answer_is_cut_within_its_bound_and_says_more() {
        for codec in [Codec::MsgPack, Codec::Json] {
            let page = HistoryPage {
                entries: (1..=1000).map(big_delta).collect(),
                complete: true,
            };
            let id = ResourceId::parse("svc/api").unwrap();
            let bytes = history_frame(codec, 7, &id, page);
            assert!(
                bytes.len() <= MAX_HISTORY_FRAME_BYTES,
                "{} bytes",
                bytes.len()
            );
            let ServerFrame::History { deltas, more, .. } = codec.decode(&bytes).unwrap() else {
                panic!("not a history frame");
            };
            assert!(more);
            assert!(deltas.len() > 10, "{} deltas", deltas.len());
            assert_eq!(deltas[0].seq(), 1);
        }
    }
}
