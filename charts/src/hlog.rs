//! Reads `latency.hlog`, the HdrHistogram interval log with one histogram per tag per second, and merges every
//! interval of a tag into one histogram for the whole run. Per-second latency over time comes from
//! `timeseries.csv`, so interval timestamps are not used here.

use std::borrow::Cow;

use base64::Engine as _;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry, LogIteratorError};
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::Histogram;

use crate::Error;

/// The file's name in a run directory.
pub const FILE: &str = "latency.hlog";

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
        let torn_from =
            (!text.is_empty() && !text.ends_with('\n')).then(|| text.rfind('\n').map_or(0, |newline| newline + 1));
        // The log parser needs every line terminated, the last one included.
        let input: Cow<'_, str> = match torn_from {
            Some(_) => Cow::Owned(format!("{text}\n")),
            None => Cow::Borrowed(text),
        };
        let is_torn = |offset: usize| torn_from.is_some_and(|start| offset >= start);
        let mut latency = Latency::default();
        let mut deserializer = Deserializer::new();
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
            let slot = match interval.tag().map(|tag| tag.as_str()) {
                Some("e2e") => &mut latency.e2e,
                Some("service") => &mut latency.service,
                _ => continue,
            };
            // The encoded text is a slice of `input`, so its address gives its offset and so its line number.
            let encoded = interval.encoded_histogram();
            let offset = encoded.as_ptr() as usize - input.as_ptr() as usize;
            match decode(&mut deserializer, encoded).and_then(|h| merge(slot, h)) {
                Ok(()) => {}
                Err(_) if is_torn(offset) => break,
                Err(reason) => return Err(Error::malformed(FILE, line_at(&input, offset), reason)),
            }
        }
        Ok(latency)
    }
}

fn decode(deserializer: &mut Deserializer, encoded: &str) -> Result<Histogram<u64>, String> {
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
