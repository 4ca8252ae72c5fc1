//! The framer on arbitrary bytes, on valid messages cut anywhere, and on
//! messages around its size limit.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use serde_json::Value as Json;

use super::{REMOTE, config, frame, is_framing_error, split, strategies};
use crate::Error;

/// A byte that steers the framer: brackets, quotes, escapes, blanks.
fn json_byte() -> impl Strategy<Value = u8> {
    select(b"{}[]\"\\ \n\t:,1a".to_vec())
}

/// Blanks RFC 7159 allows between values, possibly none.
fn blanks() -> impl Strategy<Value = String> {
    "[ \t\r\n]{0,4}"
}

proptest! {
    #![proptest_config(config(128))]

    /// Any bytes, cut anywhere, under any limit: messages or an error the
    /// framer is allowed to give, never a panic; and (checked in `frame`)
    /// never more held than the limit plus one read.
    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in vec(prop_oneof![any::<u8>(), json_byte()], 0..2048),
        cuts in vec(any::<Index>(), 0..8),
        limit in 0usize..4096,
    ) {
        let framed = frame(limit, split(&bytes, &cuts));
        if let Some(e) = &framed.error {
            prop_assert!(is_framing_error(e), "{e:?}");
        }
    }

    /// Valid messages with blanks between them come out exactly as serde
    /// reads each alone, wherever the reads cut them.
    #[test]
    fn valid_messages_come_out_as_fed(
        messages in vec((strategies::message(), any::<bool>(), blanks()), 0..6),
        lead in blanks(),
        cuts in vec(any::<Index>(), 0..12),
    ) {
        let mut stream = lead.into_bytes();
        let mut expected = Vec::new();
        for (message, pretty, blanks) in &messages {
            let text = if *pretty {
                serde_json::to_vec_pretty(message)
            } else {
                serde_json::to_vec(message)
            }
            .unwrap();
            expected.push(serde_json::from_slice::<Json>(&text).unwrap());
            stream.extend(text);
            stream.extend(blanks.as_bytes());
        }
        let framed = frame(crate::MAX_MESSAGE_BYTES, split(&stream, &cuts));
        prop_assert!(framed.error.is_none(), "{:?}", framed.error);
        prop_assert_eq!(framed.messages, expected);
    }

    /// A message passes when it fits the limit and fails with the limit
    /// and the remote when it does not, however it is cut.
    #[test]
    fn the_limit_is_exact(
        message in strategies::message(),
        slack in -64isize..64,
        cuts in vec(any::<Index>(), 0..8),
    ) {
        let text = serde_json::to_vec(&message).unwrap();
        let limit = text.len().saturating_add_signed(slack);
        let framed = frame(limit, split(&text, &cuts));
        if text.len() <= limit {
            prop_assert!(framed.error.is_none(), "{:?}", framed.error);
            prop_assert_eq!(framed.messages.len(), 1);
        } else {
            prop_assert!(framed.messages.is_empty());
            let too_large = matches!(
                &framed.error,
                Some(Error::MessageTooLarge { remote, limit: l }) if remote == REMOTE && *l == limit
            );
            prop_assert!(too_large, "{:?}", framed.error);
        }
    }

    /// A message that never ends, whatever it repeats, fails by the time
    /// the limit plus one read has arrived, or stops being one message.
    #[test]
    fn an_endless_message_hits_the_limit(
        pattern in vec(prop_oneof![any::<u8>(), json_byte()], 1..16),
        limit in 1usize..8192,
        read in 1usize..4096,
    ) {
        let endless: Vec<u8> = b"[".iter().chain(pattern.iter().cycle()).copied()
            .take(limit + 2 * read).collect();
        let framed = frame(limit, endless.chunks(read));
        // The bound on what is held is checked in `frame` after every read.
        if framed.messages.is_empty() {
            prop_assert!(framed.error.as_ref().is_some_and(is_framing_error), "{:?}", framed.error);
        }
    }
}
