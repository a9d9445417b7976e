//! Files the bot uploaded (sendPhoto, sendDocument, ...) and the files synthetic users send (`synthetic`), by file
//! id, for getFile and the download route.
//!
//! Bounded: the oldest files are forgotten past a count and a byte budget, so a long run of photo uploads does not
//! grow memory. A forgotten or unknown id is a Bad Request, as on Telegram.

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;

use crate::error::ApiError;
use crate::wire::File;

const MAX_FILES: usize = 256;
const MAX_BYTES: usize = 64 << 20;

#[derive(Debug, Clone)]
pub struct Stored {
    pub file: File,
    pub data: Bytes,
}

#[derive(Debug, Default)]
pub struct FileStore {
    next: u64,
    by_id: HashMap<String, Stored>,
    order: VecDeque<String>,
    bytes: usize,
}

impl FileStore {
    /// Stores an upload under a new file id; `folder` is `photos` or `documents`, as Telegram names them.
    pub fn put(&mut self, folder: &str, extension: &str, data: Bytes) -> File {
        self.next += 1;
        let file = File {
            file_id: format!("F{:08}", self.next),
            file_unique_id: format!("U{:08}", self.next),
            file_size: data.len() as u64,
            file_path: format!("{folder}/file_{}.{extension}", self.next),
        };
        self.bytes += data.len();
        self.order.push_back(file.file_id.clone());
        self.by_id.insert(file.file_id.clone(), Stored { file: file.clone(), data });
        while self.order.len() > MAX_FILES || self.bytes > MAX_BYTES {
            let Some(oldest) = self.order.pop_front() else { break };
            if let Some(stored) = self.by_id.remove(&oldest) {
                self.bytes -= stored.data.len();
            }
        }
        file
    }

    pub fn get(&self, file_id: &str) -> Result<&Stored, ApiError> {
        self.by_id.get(file_id).ok_or_else(|| ApiError::bad_request("invalid file_id"))
    }

    pub fn by_path(&self, path: &str) -> Option<&Stored> {
        self.by_id.values().find(|stored| stored.file.file_path == path)
    }
}

/// The largest file a user may send: the Bot API's getFile limit.
pub const MAX_USER_FILE: u64 = 20 << 20;

/// A size as a scenario writes it: bytes (`4096`), or a number with `B`, `KB`, `MB` (1024-based, any case).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().map_err(|_| format!("size {text:?} is not a number of bytes, KB or MB"))?;
    let scale = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1.0,
        "KB" | "K" | "KIB" => 1024.0,
        "MB" | "M" | "MIB" => 1024.0 * 1024.0,
        _ => return Err(format!("size {text:?} has an unknown unit (use B, KB or MB)")),
    };
    let bytes = (number * scale).round() as u64;
    match bytes {
        0 => Err(format!("size {text:?} must be more than 0")),
        b if b > MAX_USER_FILE => Err(format!("size {text:?} is over 20MB, the most a bot can download")),
        b => Ok(b),
    }
}

/// The kinds of file a synthetic user sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserFile {
    Photo,
    Document,
    Voice,
    Video,
    Sticker,
}

impl UserFile {
    /// The folder Telegram files it under, and its extension.
    pub fn place(self) -> (&'static str, &'static str) {
        match self {
            UserFile::Photo => ("photos", "png"),
            UserFile::Document => ("documents", "txt"),
            UserFile::Voice => ("voice", "oga"),
            UserFile::Video => ("videos", "mp4"),
            UserFile::Sticker => ("stickers", "webp"),
        }
    }
}

/// `size` bytes that open as what they claim to be where that is cheap: a photo is a valid 1×1 PNG padded with
/// a private chunk, so an image library loads it; the other kinds start with their format's magic bytes.
pub fn synthetic(kind: UserFile, size: u64) -> Bytes {
    let size = size as usize;
    let mut data = match kind {
        UserFile::Photo => return Bytes::from(png(size)),
        UserFile::Document => b"tgload synthetic document\n".to_vec(),
        UserFile::Voice => b"OggS\0\x02".to_vec(),
        UserFile::Video => b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom".to_vec(),
        UserFile::Sticker => b"RIFF\0\0\0\0WEBPVP8 ".to_vec(),
    };
    let pattern = data.clone();
    while data.len() < size {
        let take = (size - data.len()).min(pattern.len());
        data.extend_from_slice(&pattern[..take]);
    }
    data.truncate(size.max(4));
    Bytes::from(data)
}

/// A 1×1 grey PNG of about `size` bytes (at least its 70-byte minimum).
fn png(size: usize) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc32fast::hash(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }
    const MINIMUM: usize = 8 + 25 + 25 + 12;
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    // 1×1, 8-bit greyscale.
    chunk(&mut out, b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]);
    if size > MINIMUM + 12 {
        // An ancillary, private, safe-to-copy chunk decoders skip.
        chunk(&mut out, b"tgLd", &vec![0; size - MINIMUM - 12]);
    }
    // One scanline (filter 0, pixel 0) in a stored zlib block, with its Adler-32.
    chunk(&mut out, b"IDAT", &[0x78, 0x01, 0x01, 0x02, 0x00, 0xfd, 0xff, 0, 0, 0x00, 0x02, 0x00, 0x01]);
    chunk(&mut out, b"IEND", &[]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_bad_ones_say_why() {
        assert_eq!(parse_size("200KB"), Ok(204_800));
        assert_eq!(parse_size("1.5 mb"), Ok(1_572_864));
        assert_eq!(parse_size("512"), Ok(512));
        assert!(parse_size("20MB").is_ok());
        assert!(parse_size("21MB").unwrap_err().contains("20MB"));
        assert!(parse_size("2GB").unwrap_err().contains("unit"));
        assert!(parse_size("KB").unwrap_err().contains("not a number"));
        assert!(parse_size("0").is_err());
    }

    #[test]
    fn synthetic_files_have_their_size_and_photos_are_pngs() {
        for kind in [UserFile::Photo, UserFile::Document, UserFile::Voice, UserFile::Video, UserFile::Sticker] {
            assert_eq!(synthetic(kind, 10_000).len(), 10_000, "{kind:?}");
        }
        let photo = synthetic(UserFile::Photo, 5_000);
        assert!(photo.starts_with(b"\x89PNG\r\n\x1a\n"));
        // Every chunk's CRC checks, as a decoder checks it.
        let mut at = 8;
        while at < photo.len() {
            let len = u32::from_be_bytes(photo[at..at + 4].try_into().unwrap()) as usize;
            let crc = u32::from_be_bytes(photo[at + 8 + len..at + 12 + len].try_into().unwrap());
            assert_eq!(crc, crc32fast::hash(&photo[at + 4..at + 8 + len]));
            at += 12 + len;
        }
        assert_eq!(at, photo.len());
        assert_eq!(&photo[photo.len() - 8..photo.len() - 4], b"IEND");
    }

    #[test]
    fn files_are_found_by_id_and_path_and_evicted_oldest_first() {
        let mut store = FileStore::default();
        let first = store.put("photos", "png", Bytes::from_static(b"png"));
        assert_eq!(store.get(&first.file_id).unwrap().data.as_ref(), b"png");
        assert!(store.by_path(&first.file_path).is_some());
        for _ in 0..MAX_FILES {
            store.put("documents", "bin", Bytes::from_static(b"x"));
        }
        assert!(store.get(&first.file_id).is_err());
    }
}
