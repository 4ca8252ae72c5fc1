//! Splits the byte stream of a JSON-RPC connection into messages.
//!
//! OVSDB puts JSON objects back to back with no delimiter, and one read may
//! hold half a message or several. Scanning for the end of each top-level
//! value keeps the cost linear in the input: re-parsing a growing buffer on
//! every read would be quadratic for multi-megabyte replies.
//!
//! The server is not trusted with our memory: a message may not grow past
//! a limit, and blanks between messages are dropped as they are scanned.

use serde_json::Value as Json;

use crate::Error;

/// The largest message a [`crate::Client`] accepts unless told otherwise
/// ([`crate::Client::set_max_message_size`]). Far above what the plugin's
/// requests get back (a schema is ~100 KiB, its monitors watch a few rows),
/// yet a bound on what a broken or hostile server can make us buffer.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// Incremental splitter: feed bytes with [`Framer::push`], then take the
/// complete messages with [`Framer::next_message`] until it gives
/// `Ok(None)`. After an error the stream is out of step: drop the framer
/// (the connection closes).
#[derive(Debug)]
pub(crate) struct Framer {
    buf: Vec<u8>,
    /// Where the message being assembled starts in `buf`: bytes before it
    /// are consumed (earlier messages, blanks) and dropped on the next push.
    start: usize,
    /// How far `buf` has been scanned; the state below describes that point.
    scanned: usize,
    /// Open brackets of the message being assembled; never more than its
    /// length, which the limit bounds.
    depth: usize,
    in_string: bool,
    escaped: bool,
    /// The most bytes one message may have.
    limit: usize,
    /// Who sends the bytes, for errors.
    remote: String,
}

impl Framer {
    /// A framer for messages from `remote` of at most `limit` bytes.
    pub(crate) fn new(remote: impl Into<String>, limit: usize) -> Framer {
        Framer {
            buf: Vec::new(),
            start: 0,
            scanned: 0,
            depth: 0,
            in_string: false,
            escaped: false,
            limit,
            remote: remote.into(),
        }
    }

    /// Changes the limit; it applies to the message being assembled too.
    pub(crate) fn set_limit(&mut self, limit: usize) {
        self.limit = limit;
    }

    /// Appends bytes read from the socket, first dropping what earlier
    /// calls consumed: the buffer then holds at most the message being
    /// assembled (no more than the limit) and these bytes.
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        // One drain per read, not per message: a read full of tiny messages
        // must not move the rest of the buffer once per message.
        self.buf.drain(..self.start);
        self.scanned -= self.start;
        self.start = 0;
        self.buf.extend_from_slice(bytes);
    }

    /// How many bytes the framer holds, to check the bound in tests.
    #[cfg(test)]
    pub(crate) fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next complete message, `Ok(None)` when more bytes are needed;
    /// [`Error::MessageTooLarge`] as soon as the message being assembled
    /// passes the limit, [`Error::Protocol`] for bytes that are not a
    /// sequence of JSON objects or arrays.
    pub(crate) fn next_message(&mut self) -> Result<Option<Json>, Error> {
        while let Some(&b) = self.buf.get(self.scanned) {
            self.scanned += 1;
            let complete = if self.depth == 0 {
                self.between_messages(b)?;
                false
            } else {
                self.in_message(b)
            };
            if self.depth > 0 || complete {
                self.check_size()?;
            }
            if complete {
                return self.take_message().map(Some);
            }
        }
        Ok(None)
    }

    /// Scans a byte outside any message: blanks are skipped (and dropped on
    /// the next push), a bracket opens a message, anything else is an error.
    fn between_messages(&mut self, b: u8) -> Result<(), Error> {
        match b {
            b'{' | b'[' => {
                self.depth = 1;
                self.start = self.scanned - 1;
                Ok(())
            }
            b' ' | b'\t' | b'\r' | b'\n' => {
                self.start = self.scanned;
                Ok(())
            }
            _ => Err(Error::Protocol(format!(
                "unexpected byte {:?} between JSON-RPC messages",
                char::from(b)
            ))),
        }
    }

    /// Scans a byte inside a message; true when it closes the message.
    /// Mismatched brackets are left for the JSON parser to reject.
    fn in_message(&mut self, b: u8) -> bool {
        if self.in_string {
            match (self.escaped, b) {
                (true, _) => self.escaped = false,
                (false, b'\\') => self.escaped = true,
                (false, b'"') => self.in_string = false,
                _ => {}
            }
            return false;
        }
        match b {
            b'"' => self.in_string = true,
            b'{' | b'[' => self.depth += 1,
            b'}' | b']' => {
                self.depth -= 1;
                return self.depth == 0;
            }
            _ => {}
        }
        false
    }

    fn check_size(&self) -> Result<(), Error> {
        if self.scanned - self.start > self.limit {
            return Err(Error::MessageTooLarge {
                remote: self.remote.clone(),
                limit: self.limit,
            });
        }
        Ok(())
    }

    /// Parses the message that ends at `scanned` and moves past it.
    fn take_message(&mut self) -> Result<Json, Error> {
        let parsed = serde_json::from_slice(&self.buf[self.start..self.scanned]);
        self.start = self.scanned;
        parsed.map_err(|e| Error::Protocol(format!("invalid JSON from server: {e}")))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    const REMOTE: &str = "unix:/tmp/x.sock";

    fn framer() -> Framer {
        Framer::new(REMOTE, MAX_MESSAGE_BYTES)
    }

    fn drain(f: &mut Framer) -> Vec<Json> {
        let mut out = Vec::new();
        while let Some(m) = f.next_message().unwrap() {
            out.push(m);
        }
        out
    }

    #[test]
    fn several_messages_in_one_read() {
        let mut f = framer();
        f.push(
            br#"{"id":1} {"id":2}
[3]"#,
        );
        assert_eq!(
            drain(&mut f),
            vec![json!({"id":1}), json!({"id":2}), json!([3])]
        );
    }

    #[test]
    fn message_split_at_every_byte() {
        let text = br#"{"a":"x}{\"]","b":[1,{"c":"\\"}]}{"n":null}"#;
        let mut f = framer();
        let mut out = Vec::new();
        for b in text {
            f.push(&[*b]);
            out.extend(drain(&mut f));
        }
        assert_eq!(
            out,
            vec![json!({"a":"x}{\"]","b":[1,{"c":"\\"}]}), json!({"n":null})]
        );
    }

    #[test]
    fn large_message_across_reads() {
        let big = json!({"result": vec!["x".repeat(100); 10_000], "id": 7});
        let bytes = serde_json::to_vec(&big).unwrap();
        let mut f = framer();
        let mut out = Vec::new();
        for chunk in bytes.chunks(4096) {
            f.push(chunk);
            out.extend(drain(&mut f));
        }
        assert_eq!(out, vec![big]);
    }

    #[test]
    fn garbage_is_a_protocol_error() {
        let mut f = framer();
        f.push(b"hello");
        assert!(matches!(f.next_message(), Err(Error::Protocol(_))));
        let mut f = framer();
        f.push(b"{\"a\" 1}");
        assert!(matches!(f.next_message(), Err(Error::Protocol(_))));
    }

    #[test]
    fn a_message_may_fill_the_limit_but_not_pass_it() {
        let message = br#"{"id":1}"#;
        let mut f = Framer::new(REMOTE, message.len());
        f.push(message);
        assert_eq!(drain(&mut f), vec![json!({"id": 1})]);
        // Blanks around messages do not count.
        f.push(b"  \n");
        f.push(message);
        assert_eq!(drain(&mut f), vec![json!({"id": 1})]);
        f.set_limit(message.len() - 1);
        f.push(message);
        match f.next_message() {
            Err(Error::MessageTooLarge { remote, limit }) => {
                assert_eq!((remote.as_str(), limit), (REMOTE, message.len() - 1));
            }
            other => panic!("expected MessageTooLarge, got {other:?}"),
        }
    }

    /// An endless reply (an array that never closes, a string that never
    /// ends) fails once past the limit, and the framer never holds more
    /// than the limit plus the read being scanned.
    #[test]
    fn an_endless_message_stops_at_the_limit() {
        const LIMIT: usize = 1024 * 1024;
        const READ: usize = 64 * 1024;
        for (head, pattern) in [(&b"["[..], &b"[1,"[..]), (b"[\"", b"xyz")] {
            let mut f = Framer::new(REMOTE, LIMIT);
            let endless: Vec<u8> = pattern.iter().copied().cycle().take(READ).collect();
            f.push(head);
            let mut fed = head.len();
            let err = loop {
                match f.next_message() {
                    Ok(None) => {}
                    Ok(Some(m)) => panic!("an endless message ended: {m}"),
                    Err(e) => break e,
                }
                assert!(f.buffered() <= LIMIT, "{} bytes held", f.buffered());
                f.push(&endless);
                fed += endless.len();
                assert!(fed <= LIMIT + 2 * READ, "no error after {fed} bytes");
            };
            assert!(
                matches!(&err, Error::MessageTooLarge { remote, limit: LIMIT } if remote == REMOTE),
                "{err:?}"
            );
            assert!(f.buffered() <= LIMIT + READ);
        }
    }

    #[test]
    fn blanks_between_messages_are_not_kept() {
        let mut f = Framer::new(REMOTE, 16);
        let blanks = vec![b' '; 64 * 1024];
        for _ in 0..64 {
            f.push(&blanks);
            assert_eq!(f.next_message().unwrap(), None);
        }
        f.push(b"\r\n\t[]");
        assert!(f.buffered() <= blanks.len() + 5);
        assert_eq!(drain(&mut f), vec![json!([])]);
        f.push(b"");
        assert_eq!(f.buffered(), 0);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let mut f = framer();
        let mut deep = vec![b'['; 100_000];
        deep.extend(vec![b']'; 100_000]);
        f.push(&deep);
        assert!(matches!(f.next_message(), Err(Error::Protocol(_))));
    }
}
