//! `--shard I/N` and `--start-at TIME`: one load generator's part of a scenario, and the moment every generator
//! starts. Pure: which users, chats and groups a shard drives, and the parsing of the two flags.
//!
//! A shard drives a fixed subset of the scenario's users, each with the very schedule it has in the whole run
//! (its windows, and for open pacing its slots on the whole run's grid), so the N shards together send exactly
//! the actions one generator would: the arrival rate splits as the users do, as k6 splits execution segments.
//! A user in a group goes with its group (group `g` to shard `g % N`), so each chat is driven from one shard;
//! a user in its private chat goes to shard `user % N`.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use crate::scenario::Chats;

/// One of `count` shards, `index` counted from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// The whole scenario, unsharded.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    pub fn is_whole(&self) -> bool {
        self.count == 1
    }

    /// Whether this shard drives `user` (0-based): a user in a private chat goes to shard `user % N`, one in a
    /// group with its group, group `g` to shard `g % N`, so each chat is driven (and each group created) by one shard.
    fn owns_user(&self, user: usize, chats: &Chats) -> bool {
        chats.group_of(user).unwrap_or(user) % self.count == self.index
    }

    /// The users of `0..n_users` this shard drives, in index order.
    pub fn users(&self, n_users: usize, chats: &Chats) -> Vec<usize> {
        (0..n_users).filter(|&user| self.owns_user(user, chats)).collect()
    }
}

impl Default for Shard {
    fn default() -> Shard {
        Shard::WHOLE
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    /// `I/N`: shard `I` (0-based) of `N`, as a Kubernetes Indexed Job's `JOB_COMPLETION_INDEX` numbers its pods.
    fn from_str(text: &str) -> Result<Shard, String> {
        let bad = || format!("`{text}` is not I/N (shard I of N, counted from 0, e.g. 0/3)");
        let (index, count) = text.split_once('/').ok_or_else(bad)?;
        let index: usize = index.trim().parse().map_err(|_| bad())?;
        let count: usize = count.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(format!("`{text}`: the index must lie in 0..{count} (shards are counted from 0)"));
        }
        Ok(Shard { index, count })
    }
}

/// `--start-at`: unix seconds (`1764633600`) or RFC 3339 (`2026-12-01T23:00:00Z`, `2026-12-02T00:00:00+01:00`),
/// a whole second, so that every shard's seconds are the same unix seconds.
pub fn parse_start_at(text: &str) -> Result<SystemTime, String> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(SystemTime::UNIX_EPOCH + Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc3339(text)
        .map_err(|e| format!("`{text}` is neither unix seconds nor RFC 3339 (2026-12-01T23:00:00Z): {e}"))?;
    if at.timestamp_subsec_nanos() != 0 {
        return Err(format!("`{text}`: give a whole second, so every shard's seconds line up"));
    }
    let secs = u64::try_from(at.timestamp()).map_err(|_| format!("`{text}` is before 1970"))?;
    Ok(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chats(group_share: f64, group_size: usize) -> Chats {
        Chats { group_share, group_size }
    }

    #[test]
    fn parses_shards() {
        assert_eq!("2/3".parse::<Shard>(), Ok(Shard { index: 2, count: 3 }));
        assert_eq!("0/1".parse::<Shard>(), Ok(Shard::WHOLE));
        for bad in ["3/3", "0/0", "1", "a/3", "-1/3", "1/3/4", ""] {
            let error = bad.parse::<Shard>().unwrap_err();
            assert!(error.contains(&format!("`{bad}`")), "{bad}: {error}");
        }
        assert_eq!(Shard { index: 1, count: 4 }.to_string(), "1/4");
    }

    #[test]
    fn shards_partition_users_and_keep_groups_whole() {
        for (share, size) in [(0.0, 10), (0.3, 4), (1.0, 7), (0.5, 1)] {
            let chats = chats(share, size);
            let n = 1000;
            let count = 3;
            let shards: Vec<Vec<usize>> = (0..count).map(|index| Shard { index, count }.users(n, &chats)).collect();
            let mut all: Vec<usize> = shards.concat();
            all.sort_unstable();
            assert_eq!(all, (0..n).collect::<Vec<_>>(), "share {share}: every user on exactly one shard");
            for user in 0..n {
                if let Some(group) = chats.group_of(user) {
                    let shard = shards.iter().position(|s| s.contains(&user)).unwrap();
                    assert_eq!(shard, group % count, "user {user} of group {group}");
                }
            }
            // Each shard has about a third of the users (groups of up to 7 make it uneven by a few).
            for users in &shards {
                assert!(users.len().abs_diff(n / count) <= 10, "share {share}: {} users", users.len());
            }
        }
        assert_eq!(Shard::WHOLE.users(5, &chats(0.5, 2)), [0, 1, 2, 3, 4]);
    }

    #[test]
    fn parses_start_times() {
        let unix = |s: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        assert_eq!(parse_start_at("1764633600"), Ok(unix(1_764_633_600)));
        assert_eq!(parse_start_at("2025-12-02T00:00:00Z"), Ok(unix(1_764_633_600)));
        assert_eq!(parse_start_at("2025-12-02T01:00:00+01:00"), Ok(unix(1_764_633_600)));
        assert!(parse_start_at("2025-12-02T00:00:00.5Z").unwrap_err().contains("whole second"));
        assert!(parse_start_at("tomorrow").unwrap_err().contains("RFC 3339"));
        assert!(parse_start_at("1969-12-31T23:59:59Z").unwrap_err().contains("1970"));
    }
}
