//! Reads `latency.hlog`, the HdrHistogram interval log with one histogram per tag per second, and merges every
//! interval of a tag into one histogram for the whole run; or hands each interval to a visitor, in order, for a
//! reader that wants them by second (`tgload report`). A long run rotates the log every hour: `latency.hlog`, then
//! `latency.1.hlog`, `latency.2.hlog`, ... (`parts`), each a complete log with the same base time.

use std::borrow::Cow;

use base64::Engine as _;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry, LogIteratorError};
use hdrhistogram::serialization::{Deserializer, Serializer as _, V2DeflateSerializer};
use hdrhistogram::Histogram;

use crate::Error;

/// The file's name in a run directory: the first hour's log.
pub const FILE: &str = "latency.hlog";

/// The name of the log of hour `n` (0 is `latency.hlog`).
pub fn part_name(n: usize) -> String {
    if n == 0 {
        FILE.to_string()
    } else {
        format!("latency.{n}.hlog")
    }
}

/// The log files of the run in `dir`, in order: `latency.hlog` and the rotated parts that follow it.
pub fn parts(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    (0..).map(|n| dir.join(part_name(n))).take_while(|p| p.is_file()).collect()
}

/// The whole run's latency per tag, in microseconds as recorded. A tag with no interval in the log is `None`.
#[derive(Debug, Clone, Default)]
pub struct Latency {
    /// Due time to answer.
    pub e2e: Option<Histogram<u64>>,
    /// Actual send to answer.
    pub service: Option<Histogram<u64>>,
}

impl Latency {
    /// Parses the log's text and merges the `e2e` and `service` intervals; other tags are skipped. Both the V2
    /// and the V2 compressed (deflate) encodings are accepted. A final line without its newline that does not
    /// decode is dropped, as a write torn by a crash.
    pub fn from_hlog(text: &str) -> Result<Latency, Error> {
        let mut latency = Latency::default();
        latency.add_hlog(text)?;
        Ok(latency)
    }

    /// Merges one more log's `e2e` and `service` intervals (a rotated part) into these.
    pub fn add_hlog(&mut self, text: &str) -> Result<(), Error> {
        for_each_interval(text, |tag, _, histogram| {
            let slot = match tag {
                "e2e" => &mut self.e2e,
                "service" => &mut self.service,
                _ => return Ok(()),
            };
            merge(slot, histogram)
        })
    }
}

/// Calls `visit(tag, start_s, histogram)` for every interval of the log, in file order; `start_s` counts whole
/// seconds from the log's base time. An error from `visit` is reported at that interval's line. A final line
/// without its newline that does not decode is dropped, as a write torn by a crash.
pub fn for_each_interval(
    text: &str,
    mut visit: impl FnMut(&str, u64, Histogram<u64>) -> Result<(), String>,
) -> Result<(), Error> {
    let mut deserializer = Deserializer::new();
    walk(text, |tag, start_s, encoded| decode_with(&mut deserializer, encoded).and_then(|h| visit(tag, start_s, h)))
}

/// Like `for_each_interval`, without decoding: hands over each interval's histogram as its base64 text, for a
/// reader that decodes only some (`tgload merge`, a second at a time).
pub fn for_each_encoded(text: &str, mut visit: impl FnMut(&str, u64, &str) -> Result<(), String>) -> Result<(), Error> {
    walk(text, |tag, start_s, encoded| visit(tag, start_s, encoded))
}

/// One histogram from its base64 text (V2 or V2 deflate), as an interval log holds it.
pub fn decode_histogram(encoded: &str) -> Result<Histogram<u64>, String> {
    decode_with(&mut Deserializer::new(), encoded)
}

/// One histogram as base64 text of its V2 deflate encoding, as an interval log holds it.
pub fn encode_histogram(histogram: &Histogram<u64>) -> Result<String, String> {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(histogram, &mut bytes)
        .map_err(|e| format!("histogram does not encode: {e:?}"))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn walk(text: &str, mut visit: impl FnMut(&str, u64, &str) -> Result<(), String>) -> Result<(), Error> {
    let torn_from =
        (!text.is_empty() && !text.ends_with('\n')).then(|| text.rfind('\n').map_or(0, |newline| newline + 1));
    // The log parser needs every line terminated, the last one included.
    let input: Cow<'_, str> = match torn_from {
        Some(_) => Cow::Owned(format!("{text}\n")),
        None => Cow::Borrowed(text),
    };
    let is_torn = |offset: usize| torn_from.is_some_and(|start| offset >= start);
    for entry in IntervalLogIterator::new(input.as_bytes()) {
        let interval = match entry {
            Ok(LogEntry::Interval(interval)) => interval,
            Ok(LogEntry::StartTime(_) | LogEntry::BaseTime(_)) => continue,
            Err(LogIteratorError::ParseError { offset }) if is_torn(offset) => break,
            Err(LogIteratorError::ParseError { offset }) => {
                let reason = "not an interval log line";
                return Err(Error::malformed(FILE, line_at(&input, offset), reason));
            }
        };
        let tag = interval.tag().map_or("", |tag| tag.as_str());
        let start_s = interval.start_timestamp().as_secs();
        // The encoded text is a slice of `input`, so its address gives its offset and so its line number.
        let encoded = interval.encoded_histogram();
        let offset = encoded.as_ptr() as usize - input.as_ptr() as usize;
        match visit(tag, start_s, encoded) {
            Ok(()) => {}
            Err(_) if is_torn(offset) => break,
            Err(reason) => return Err(Error::malformed(FILE, line_at(&input, offset), reason)),
        }
    }
    Ok(())
}

fn decode_with(deserializer: &mut Deserializer, encoded: &str) -> Result<Histogram<u64>, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|e| format!("histogram is not base64: {e}"))?;
    deserializer.deserialize(&mut bytes.as_slice()).map_err(|e| format!("histogram does not decode: {e}"))
}

fn merge(slot: &mut Option<Histogram<u64>>, histogram: Histogram<u64>) -> Result<(), String> {
    match slot {
        Some(total) => total.add(&histogram).map_err(|e| format!("histogram cannot be merged: {e:?}")),
        None => {
            let mut histogram = histogram;
            // Later intervals may hold larger values than the first one's range.
            histogram.auto(true);
            *slot = Some(histogram);
            Ok(())
        }
    }
}

fn line_at(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}
