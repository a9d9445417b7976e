//! The live line on stderr while a run goes: elapsed time, users, actions per second, p95 and errors. On a
//! terminal it rewrites itself every second; in a log (CI) it prints a line every ten seconds instead.

use std::io::{IsTerminal, Write};

use crate::collector::Live;

pub struct Progress {
    tty: bool,
    calls: u64,
    drawn: bool,
}

/// What one progress line shows.
pub struct Status<'a> {
    pub elapsed_s: u64,
    pub total_s: u64,
    pub phase: &'a str,
    pub active_users: usize,
    pub started_users: usize,
    pub live: &'a Live,
    pub errors: u64,
    pub sent: u64,
}

pub fn line(s: &Status<'_>) -> String {
    let p95 = s.live.p95_ms.map_or("-".to_string(), |p| format!("{p:.1}ms"));
    let rate = if s.sent == 0 { 0.0 } else { s.errors as f64 * 100.0 / s.sent as f64 };
    format!(
        "[{:>4}s/{}s] {:<6} users {} ({} started)  {} actions/s  p95 {p95}  errors {} ({rate:.2}%)",
        s.elapsed_s, s.total_s, s.phase, s.active_users, s.started_users, s.live.done, s.errors
    )
}

impl Default for Progress {
    fn default() -> Self {
        Progress { tty: std::io::stderr().is_terminal(), calls: 0, drawn: false }
    }
}

impl Progress {
    pub fn show(&mut self, status: &Status<'_>) {
        self.calls += 1;
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(err, "\r\x1b[2K{}", line(status));
            self.drawn = true;
        } else if self.calls % 10 == 1 {
            let _ = writeln!(err, "{}", line(status));
        }
        let _ = err.flush();
    }

    /// Ends the live line so later output starts on a fresh line.
    pub fn finish(&mut self) {
        if self.drawn {
            eprintln!();
            self.drawn = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_a_line() {
        let live = Live { done: 950, errors: 2, p50_ms: Some(20.0), p95_ms: Some(45.25), p99_ms: Some(60.0) };
        let status = Status {
            elapsed_s: 12,
            total_s: 60,
            phase: "hold",
            active_users: 1000,
            started_users: 1000,
            live: &live,
            errors: 3,
            sent: 12_000,
        };
        assert_eq!(
            line(&status),
            "[  12s/60s] hold   users 1000 (1000 started)  950 actions/s  p95 45.2ms  errors 3 (0.03%)"
        );
        let idle = Live { done: 0, errors: 0, p50_ms: None, p95_ms: None, p99_ms: None };
        assert!(line(&Status { live: &idle, sent: 0, ..status }).contains("p95 -  errors 3 (0.00%)"));
    }
}
