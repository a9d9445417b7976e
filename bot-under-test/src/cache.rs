//! A TTL cache by key with hit and miss counters, for the external API's `/quote` (one entry per topic).
//!
//! Bounded: past `MAX_ENTRIES` it drops the expired entries, then any, so 10,000 users asking 10,000 topics do
//! not grow it without end. It reads no clock: callers pass `now`, so the expiry logic is tested without
//! sleeping. It does not coalesce concurrent misses; each one fetches, as a naive bot would.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Hits and misses so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
}

impl CacheStats {
    /// Hits over lookups, or 0 before the first lookup.
    pub fn hit_ratio(&self) -> f64 {
        let lookups = self.hits + self.misses;
        if lookups == 0 {
            0.0
        } else {
            self.hits as f64 / lookups as f64
        }
    }
}

/// The most keys the cache holds.
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug)]
pub(crate) struct TtlCache<V> {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, V)>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl<V: Clone> TtlCache<V> {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self { ttl, entries: Mutex::new(HashMap::new()), hits: AtomicU64::new(0), misses: AtomicU64::new(0) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, V)>> {
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The value cached for `key` if it was stored less than the TTL before `now`; counts a hit or a miss.
    pub(crate) fn get(&self, key: &str, now: Instant) -> Option<V> {
        let entries = self.lock();
        let fresh = entries
            .get(key)
            .filter(|(stored, _)| now.saturating_duration_since(*stored) < self.ttl)
            .map(|(_, value)| value.clone());
        let counter = if fresh.is_some() { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
        fresh
    }

    pub(crate) fn put(&self, key: &str, now: Instant, value: V) {
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(key) {
            entries.retain(|_, (stored, _)| now.saturating_duration_since(*stored) < self.ttl);
            if entries.len() >= MAX_ENTRIES {
                let any = entries.keys().next().cloned();
                any.map(|k| entries.remove(&k));
            }
        }
        entries.insert(key.to_owned(), (now, value));
    }

    pub(crate) fn stats(&self) -> CacheStats {
        CacheStats { hits: self.hits.load(Ordering::Relaxed), misses: self.misses.load(Ordering::Relaxed) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `steps` of (milliseconds since start, value to store after a miss) and checks what each lookup saw.
    fn check(ttl_ms: u64, steps: &[(u64, &'static str)], expect: &[Option<&'static str>], stats: CacheStats) {
        let cache = TtlCache::new(Duration::from_millis(ttl_ms));
        let start = Instant::now();
        let seen: Vec<Option<&str>> = steps
            .iter()
            .map(|&(at_ms, value)| {
                let now = start + Duration::from_millis(at_ms);
                let got = cache.get("", now);
                if got.is_none() {
                    cache.put("", now, value);
                }
                got
            })
            .collect();
        assert_eq!(seen, expect);
        assert_eq!(cache.stats(), stats);
    }

    #[test]
    fn first_lookup_misses_then_hits_within_ttl() {
        check(100, &[(0, "a"), (10, "b"), (99, "c")], &[None, Some("a"), Some("a")], CacheStats { hits: 2, misses: 1 });
    }

    #[test]
    fn expires_exactly_at_ttl_and_refills() {
        check(
            100,
            &[(0, "a"), (100, "b"), (150, "c"), (200, "d")],
            &[None, None, Some("b"), None],
            CacheStats { hits: 1, misses: 3 },
        );
    }

    #[test]
    fn zero_ttl_never_hits() {
        check(0, &[(0, "a"), (0, "b")], &[None, None], CacheStats { hits: 0, misses: 2 });
    }

    #[test]
    fn keys_are_cached_apart_and_bounded() {
        let cache = TtlCache::new(Duration::from_secs(60));
        let now = Instant::now();
        cache.put("cats", now, 1);
        assert_eq!((cache.get("cats", now), cache.get("dogs", now)), (Some(1), None));
        for i in 0..MAX_ENTRIES + 10 {
            cache.put(&i.to_string(), now, i);
        }
        assert!(cache.lock().len() <= MAX_ENTRIES);
    }

    #[test]
    fn hit_ratio() {
        assert_eq!(CacheStats::default().hit_ratio(), 0.0);
        assert_eq!(CacheStats { hits: 3, misses: 1 }.hit_ratio(), 0.75);
    }
}
