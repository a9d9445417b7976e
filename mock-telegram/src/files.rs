//! Files the bot uploaded (sendPhoto, sendDocument), by file id, for getFile and the download route.
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

#[cfg(test)]
mod tests {
    use super::*;

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
