//! Splits the byte stream of a JSON-RPC connection into messages.
//!
//! OVSDB puts JSON objects back to back with no delimiter, and one read may
//! hold half a message or several. Scanning for the end of each top-level
//! value keeps the cost linear in the input: re-parsing a growing buffer on
//! every read would be quadratic for multi-megabyte replies.

use serde_json::Value as Json;

use crate::Error;

/// Incremental splitter: feed bytes with [`Framer::push`], then take the
/// complete messages with [`Framer::next_message`].
#[derive(Debug, Default)]
pub(crate) struct Framer {
    buf: Vec<u8>,
    /// How far `buf` has been scanned; the state below describes that point.
    scanned: usize,
    depth: usize,
    in_string: bool,
    escaped: bool,
}

impl Framer {
    /// Appends bytes read from the socket.
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete message, `Ok(None)` when more bytes are needed.
    pub(crate) fn next_message(&mut self) -> Result<Option<Json>, Error> {
        while self.scanned < self.buf.len() {
            let b = self.buf[self.scanned];
            self.scanned += 1;
            if self.in_string {
                match (self.escaped, b) {
                    (true, _) => self.escaped = false,
                    (false, b'\\') => self.escaped = true,
                    (false, b'"') => self.in_string = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' if self.depth > 0 => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' if self.depth > 0 => {
                    self.depth -= 1;
                    if self.depth == 0 {
                        let end = std::mem::take(&mut self.scanned);
                        let parsed = serde_json::from_slice(&self.buf[..end]);
                        self.buf.drain(..end);
                        return parsed.map(Some).map_err(|e| {
                            Error::Protocol(format!("invalid JSON from server: {e}"))
                        });
                    }
                }
                b' ' | b'\t' | b'\r' | b'\n' if self.depth == 0 => {}
                _ if self.depth == 0 => {
                    return Err(Error::Protocol(format!(
                        "unexpected byte {:?} between JSON-RPC messages",
                        char::from(b)
                    )));
                }
                _ => {}
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn drain(f: &mut Framer) -> Vec<Json> {
        let mut out = Vec::new();
        while let Some(m) = f.next_message().unwrap() {
            out.push(m);
        }
        out
    }

    #[test]
    fn several_messages_in_one_read() {
        let mut f = Framer::default();
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
        let mut f = Framer::default();
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
        let mut f = Framer::default();
        let mut out = Vec::new();
        for chunk in bytes.chunks(4096) {
            f.push(chunk);
            out.extend(drain(&mut f));
        }
        assert_eq!(out, vec![big]);
    }

    #[test]
    fn garbage_is_a_protocol_error() {
        let mut f = Framer::default();
        f.push(b"hello");
        assert!(matches!(f.next_message(), Err(Error::Protocol(_))));
        let mut f = Framer::default();
        f.push(b"{\"a\" 1}");
        assert!(matches!(f.next_message(), Err(Error::Protocol(_))));
    }
}
