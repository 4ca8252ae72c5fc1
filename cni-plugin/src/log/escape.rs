//! One event, one line. Log lines quote tenant-controlled strings (network
//! names, `CNI_ARGS` values, errors that repeat them), so before a line is
//! written every character that could end it, rewrite it on a terminal or
//! reorder it on screen is escaped, and the line is capped in length: a
//! value with a newline cannot forge a line, and a 1 MB value cannot write
//! megabytes per call.

use std::fmt::Write as _;
use std::io::{self, Write};

use tracing::Metadata;
use tracing_subscriber::fmt::MakeWriter;

/// Longest line body kept, in bytes after escaping; the cut marker and the
/// newline come on top.
pub const MAX_LINE_BYTES: usize = 4096;

/// Makes writers that sanitise each event ([`sanitize_line`]) before handing
/// it to the wrapped writer as a single `write_all`.
#[derive(Debug)]
pub struct Sanitize<M> {
    inner: M,
}

impl<M> Sanitize<M> {
    /// Wraps `inner`, which then only ever sees whole sanitised lines.
    pub fn new(inner: M) -> Self {
        Sanitize { inner }
    }
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Sanitize<M> {
    type Writer = LineWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter::new(self.inner.make_writer())
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        LineWriter::new(self.inner.make_writer_for(meta))
    }
}

/// The writer for one event. tracing-subscriber's fmt layer (0.3.23,
/// `fmt_layer.rs` `on_event`) formats an event into one buffer and writes it
/// with one `write_all` on a fresh writer, so the usual case is one `write`
/// ending in `\n`. Bytes are still held until they end in `\n` (or the
/// writer is dropped) so a caller that splits its writes does not split the
/// line; interior newlines are escaped, never treated as line ends.
pub struct LineWriter<W: Write> {
    inner: W,
    pending: Vec<u8>,
}

impl<W: Write> LineWriter<W> {
    /// A writer with nothing pending, writing whole lines to `inner`.
    pub fn new(inner: W) -> Self {
        LineWriter {
            inner,
            pending: Vec::new(),
        }
    }

    fn emit_pending(&mut self) -> io::Result<()> {
        let line = sanitize_line(&self.pending);
        self.pending.clear();
        self.inner.write_all(&line)
    }
}

impl<W: Write> Write for LineWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.pending.is_empty() && buf.ends_with(b"\n") {
            // The fmt layer's case: a whole event, no copy needed.
            self.inner.write_all(&sanitize_line(buf))?;
        } else {
            self.pending.extend_from_slice(buf);
            if self.pending.ends_with(b"\n") {
                self.emit_pending()?;
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        // A partial line stays pending: flushing it would split the event.
        self.inner.flush()
    }
}

impl<W: Write> Drop for LineWriter<W> {
    fn drop(&mut self) {
        if !self.pending.is_empty() {
            // Nowhere to report a failed log write; the event is lost.
            let _ = self.emit_pending();
        }
    }
}

/// Turns one event into exactly one line: drops one trailing `\n`, escapes
/// the rest ([`push_escaped`]; bytes that are not UTF-8 become `\xNN`), cuts
/// the body at [`MAX_LINE_BYTES`] on a character boundary with
/// ` ... [N bytes cut]` (N counted in the input), and ends it with `\n`.
pub fn sanitize_line(raw: &[u8]) -> Vec<u8> {
    let body = raw.strip_suffix(b"\n").unwrap_or(raw);
    let mut line = String::with_capacity(body.len().min(MAX_LINE_BYTES) + 32);
    // Offset in `body` of the next character, for the cut count.
    let mut at = 0;
    'chunks: for chunk in body.utf8_chunks() {
        for c in chunk.valid().chars() {
            if !push_within_cap(&mut line, |line| push_escaped(line, c)) {
                break 'chunks;
            }
            at += c.len_utf8();
        }
        for byte in chunk.invalid() {
            if !push_within_cap(&mut line, |line| {
                let _ = write!(line, "\\x{byte:02x}");
            }) {
                break 'chunks;
            }
            at += 1;
        }
    }
    if at < body.len() {
        let _ = write!(line, " ... [{} bytes cut]", body.len() - at);
    }
    line.push('\n');
    line.into_bytes()
}

/// Appends with `push`, undoing it when the line would pass the cap.
fn push_within_cap(line: &mut String, push: impl FnOnce(&mut String)) -> bool {
    let before = line.len();
    push(line);
    if line.len() > MAX_LINE_BYTES {
        line.truncate(before);
        return false;
    }
    true
}

/// Appends `c`, escaped when it could break, rewrite or reorder the line.
/// The backslash is escaped too, so an escape in the log always means the
/// character and never text the tenant typed to look like one.
fn push_escaped(line: &mut String, c: char) {
    match c {
        '\\' => line.push_str("\\\\"),
        '\n' => line.push_str("\\n"),
        '\r' => line.push_str("\\r"),
        '\t' => line.push_str("\\t"),
        c if c.is_control() || is_line_or_bidi_format(c) => {
            let _ = write!(line, "\\u{{{:x}}}", u32::from(c));
        }
        c => line.push(c),
    }
}

/// Unicode line/paragraph separators (some viewers break lines there) and
/// bidirectional formatting characters (they reorder what a reader sees).
fn is_line_or_bidi_format(c: char) -> bool {
    matches!(
        c,
        '\u{2028}'
            | '\u{2029}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{061c}'
    )
}
