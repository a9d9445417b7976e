//! When each synthetic user acts: pure arithmetic over the scenario's steps and pacing, no clock.
//! Times are offsets from the start of the load. A user is active in the windows the steps give it (users
//! start in index order on a ramp up and stop in reverse order on a ramp down). Closed pacing: the next
//! action is due a think time after the previous answer. Open pacing: a fixed grid of slots per user, so the
//! users together arrive at the target rate, whether or not earlier actions have been answered.

use std::ops::Range;
use std::sync::OnceLock;
use std::time::Duration;

use rand::Rng;

use crate::scenario::{Pacing, Step};

/// How close to a slot a time must be to count as that slot: far above `Duration`'s nanosecond rounding, far
/// below the smallest slot spacing (1 µs, at a million actions per second for one user).
const SLOT_TOLERANCE_S: f64 = 1e-7;

/// The timing plan of a run, shared by all users.
#[derive(Debug, Clone)]
pub struct Schedule {
    steps: Vec<Step>,
    pacing: Pacing,
    peak_users: usize,
    /// The users this generator drives, in index order: all of them, or a shard's (`shard`).
    users: Vec<usize>,
    /// Where their windows open and where they close, each sorted, once asked for: `active_users` counts
    /// them by binary search instead of building every user's windows each second (10,000 users: a
    /// millisecond of the one worker's time, and users due in it were sent late).
    edges: OnceLock<Edges>,
}

#[derive(Debug, Clone, Default)]
struct Edges {
    opens: Vec<Duration>,
    closes: Vec<Duration>,
}

impl Schedule {
    pub fn new(steps: Vec<Step>, pacing: Pacing) -> Schedule {
        let peak_users = steps.iter().map(|s| s.users).max().unwrap_or(0);
        Schedule { steps, pacing, peak_users, users: (0..peak_users).collect(), edges: OnceLock::new() }
    }

    /// The same plan, of which this generator drives only `users` (a shard's): each keeps the windows and slots
    /// it has in the whole plan, so the shards together send exactly what one generator would.
    pub fn driving(mut self, users: Vec<usize>) -> Schedule {
        self.users = users;
        self.edges = OnceLock::new();
        self
    }

    /// The number of synthetic users the whole run needs: the largest step.
    pub fn peak_users(&self) -> usize {
        self.peak_users
    }

    /// The users this generator drives (0-based indices of the whole run), in index order.
    pub fn users(&self) -> &[usize] {
        &self.users
    }

    /// The length of the load: every step's ramp and hold.
    pub fn duration(&self) -> Duration {
        self.steps.iter().map(|s| s.ramp + s.hold).sum()
    }

    /// When each step begins, with its label, for `phase` events.
    pub fn phases(&self) -> Vec<(Duration, &str)> {
        let mut start = Duration::ZERO;
        let mut phases = Vec::with_capacity(self.steps.len());
        for step in &self.steps {
            phases.push((start, step.label.as_str()));
            start += step.ramp + step.hold;
        }
        phases
    }

    /// The label of the step running at `t` (the last one after the end).
    pub fn phase(&self, t: Duration) -> &str {
        let phases = self.phases();
        phases.iter().rev().find(|(start, _)| *start <= t).or(phases.first()).map_or("", |(_, label)| label)
    }

    /// How many of this generator's users the plan has active at `t`.
    pub fn active_users(&self, t: Duration) -> usize {
        let edges = self.edges.get_or_init(|| {
            let mut edges = Edges::default();
            for window in self.users.iter().flat_map(|&user| self.windows(user)) {
                edges.opens.push(window.start);
                edges.closes.push(window.end);
            }
            edges.opens.sort_unstable();
            edges.closes.sort_unstable();
            edges
        });
        // A user's windows do not overlap, and `t` is in `start..end` once its start and not yet its end is
        // at or before `t`.
        let at_or_before = |edges: &[Duration]| edges.partition_point(|&edge| edge <= t);
        at_or_before(&edges.opens) - at_or_before(&edges.closes)
    }

    /// The spans in which `user` (0-based) is active. Ramps spread starts and stops evenly over the ramp.
    pub fn windows(&self, user: usize) -> Vec<Range<Duration>> {
        let mut windows = Vec::new();
        let mut open: Option<Duration> = None;
        let mut before = 0usize;
        let mut start = Duration::ZERO;
        for step in &self.steps {
            let (a, b) = (before, step.users);
            if b > a && (a..b).contains(&user) && open.is_none() {
                open = Some(start + step.ramp.mul_f64((user - a) as f64 / (b - a) as f64));
            } else if b < a && (b..a).contains(&user) {
                if let Some(since) = open.take() {
                    let stop = start + step.ramp.mul_f64((a - user) as f64 / (a - b) as f64);
                    if stop > since {
                        windows.push(since..stop);
                    }
                }
            }
            before = b;
            start += step.ramp + step.hold;
        }
        if let Some(since) = open {
            if start > since {
                windows.push(since..start);
            }
        }
        windows
    }

    /// The first action of `user`, or `None` if the plan never activates it.
    pub fn first_due(&self, user: usize, windows: &[Range<Duration>], rng: &mut impl Rng) -> Option<Duration> {
        let first = windows.first()?.start;
        let candidate = match &self.pacing {
            // Spread the first actions over one think time so a ramp's users do not act in lockstep.
            Pacing::Closed { think } => first + think.end.mul_f64(rng.random::<f64>()),
            Pacing::Open { .. } => first,
        };
        self.snap(user, windows, candidate)
    }

    /// The action after one that was due at `prev_due`, for a user that became free again (got its answer) at
    /// `free_at`. Closed pacing counts from `free_at`; open pacing ignores it: the next slot is due regardless.
    pub fn next_due(
        &self,
        user: usize,
        windows: &[Range<Duration>],
        prev_due: Duration,
        free_at: Duration,
        think: Option<&Range<Duration>>,
        rng: &mut impl Rng,
    ) -> Option<Duration> {
        let candidate = match &self.pacing {
            Pacing::Closed { think: pacing } => free_at.max(prev_due) + think_time(think.unwrap_or(pacing), rng),
            Pacing::Open { .. } => {
                let (offset, interval) = self.slot_grid(user);
                let k = ((prev_due.as_secs_f64() - offset) / interval).round().max(0.0) + 1.0;
                Duration::from_secs_f64(offset + k * interval)
            }
        };
        self.snap(user, windows, candidate)
    }

    /// Moves `candidate` to the first moment at or after it that lies in one of `windows` (and, for open
    /// pacing, on the user's slot grid), or `None` if there is none.
    fn snap(&self, user: usize, windows: &[Range<Duration>], candidate: Duration) -> Option<Duration> {
        for window in windows {
            if candidate >= window.end {
                continue;
            }
            let at = candidate.max(window.start);
            let at = match self.pacing {
                Pacing::Closed { .. } => at,
                Pacing::Open { .. } => {
                    let (offset, interval) = self.slot_grid(user);
                    // A time within `SLOT_TOLERANCE_S` after a slot is that slot: slot times pass through
                    // `Duration`'s whole nanoseconds, and must not round up to the next slot.
                    let k = ((at.as_secs_f64() - offset - SLOT_TOLERANCE_S) / interval).ceil().max(0.0);
                    Duration::from_secs_f64(offset + k * interval)
                }
            };
            if at < window.end {
                return Some(at);
            }
        }
        None
    }

    /// The open-pacing grid of `user`: its first slot and the spacing of its slots, in seconds. Every user
    /// acts once per `peak_users / rate` seconds; offsets are staggered so the arrivals are evenly spaced.
    fn slot_grid(&self, user: usize) -> (f64, f64) {
        let Pacing::Open { rate_per_s } = self.pacing else { return (0.0, 1.0) };
        let interval = self.peak_users.max(1) as f64 / rate_per_s;
        (interval * user as f64 / self.peak_users.max(1) as f64, interval)
    }
}

fn think_time(think: &Range<Duration>, rng: &mut impl Rng) -> Duration {
    if think.end <= think.start {
        think.start
    } else {
        think.start + (think.end - think.start).mul_f64(rng.random::<f64>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::SeedableRng;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    fn step(users: usize, ramp: f64, hold: f64) -> Step {
        Step { label: format!("to{users}"), users, ramp: secs(ramp), hold: secs(hold) }
    }

    fn check_windows(steps: Vec<Step>, user: usize, expected: &[(f64, f64)]) {
        let schedule = Schedule::new(steps, Pacing::Open { rate_per_s: 1.0 });
        let got: Vec<(f64, f64)> =
            schedule.windows(user).iter().map(|w| (w.start.as_secs_f64(), w.end.as_secs_f64())).collect();
        assert_eq!(got.len(), expected.len(), "user {user}: {got:?} vs {expected:?}");
        for (g, e) in got.iter().zip(expected) {
            assert!((g.0 - e.0).abs() < 1e-6 && (g.1 - e.1).abs() < 1e-6, "user {user}: {got:?} vs {expected:?}");
        }
    }

    #[test]
    fn windows_follow_ramps() {
        // Ramp 0 → 4 over 4 s, hold 6 s: user i starts at i seconds, all stop at 10 s.
        check_windows(vec![step(4, 4.0, 6.0)], 0, &[(0.0, 10.0)]);
        check_windows(vec![step(4, 4.0, 6.0)], 3, &[(3.0, 10.0)]);
        check_windows(vec![step(4, 4.0, 6.0)], 4, &[]);
        // Then down to 2 over 2 s: user 3 stops first (at 11 s), user 2 at 12 s; users 0 and 1 run to the end.
        let plan = || vec![step(4, 4.0, 6.0), step(2, 2.0, 3.0)];
        check_windows(plan(), 3, &[(3.0, 11.0)]);
        check_windows(plan(), 2, &[(2.0, 12.0)]);
        check_windows(plan(), 1, &[(1.0, 15.0)]);
        // Up again: user 3 gets a second window.
        let plan = vec![step(4, 0.0, 5.0), step(1, 0.0, 5.0), step(4, 0.0, 5.0)];
        check_windows(plan, 3, &[(0.0, 5.0), (10.0, 15.0)]);
    }

    #[test]
    fn active_users_and_phases() {
        let schedule = Schedule::new(vec![step(10, 10.0, 5.0), step(0, 5.0, 0.0)], Pacing::Open { rate_per_s: 1.0 });
        assert_eq!(schedule.duration(), secs(20.0));
        assert_eq!(schedule.active_users(secs(0.0)), 1);
        assert_eq!(schedule.active_users(secs(4.5)), 5);
        assert_eq!(schedule.active_users(secs(12.0)), 10);
        assert_eq!(schedule.active_users(secs(17.6)), 5);
        assert_eq!(schedule.active_users(secs(20.0)), 0);
        assert_eq!(schedule.phase(secs(3.0)), "to10");
        assert_eq!(schedule.phase(secs(16.0)), "to0");
    }

    #[test]
    fn active_users_counts_exactly_the_users_whose_window_holds_the_time() {
        // Up, down, up again (users 3..7 get two windows), then down to nothing; a shard's users too.
        let steps = vec![step(8, 4.0, 2.0), step(3, 3.0, 2.0), step(7, 0.0, 3.0), step(0, 2.0, 0.0)];
        let whole = Schedule::new(steps, Pacing::Open { rate_per_s: 1.0 });
        for schedule in [whole.clone(), whole.driving(vec![1, 4, 6])] {
            for tenth in 0..=170 {
                let t = secs(f64::from(tenth) / 10.0);
                let by_windows = schedule
                    .users()
                    .iter()
                    .filter(|&&user| schedule.windows(user).iter().any(|w| w.contains(&t)))
                    .count();
                assert_eq!(schedule.active_users(t), by_windows, "at {t:?} of {:?}", schedule.users());
            }
        }
    }

    /// Every due time of `user` from start to end, treating each action as answered after `answer_s`.
    fn dues(schedule: &Schedule, user: usize, answer_s: f64) -> Vec<f64> {
        let mut rng = SmallRng::seed_from_u64(7);
        let windows = schedule.windows(user);
        let mut out = Vec::new();
        let mut next = schedule.first_due(user, &windows, &mut rng);
        while let Some(due) = next {
            out.push(due.as_secs_f64());
            assert!(out.len() < 100_000, "schedule does not end");
            next = schedule.next_due(user, &windows, due, due + secs(answer_s), None, &mut rng);
        }
        out
    }

    #[test]
    fn open_pacing_is_a_fixed_grid_at_the_target_rate() {
        // 4 users at 8 actions/s: each user every 0.5 s, staggered by 0.125 s; 10 s hold → 80 actions.
        let schedule = Schedule::new(vec![step(4, 0.0, 10.0)], Pacing::Open { rate_per_s: 8.0 });
        let mut all: Vec<f64> = (0..4).flat_map(|u| dues(&schedule, u, 0.01)).collect();
        all.sort_by(f64::total_cmp);
        assert_eq!(all.len(), 80);
        for (k, t) in all.iter().enumerate() {
            assert!((t - k as f64 * 0.125).abs() < 1e-6, "slot {k} at {t}");
        }
        // A slow bot (answers after 2 s) does not move the grid: the same slots stay due.
        assert_eq!(dues(&schedule, 1, 2.0), dues(&schedule, 1, 0.01));
    }

    /// Every slot of every user, counted: the total must be exactly rate × duration.
    fn check_slot_count(n_users: usize, rate_per_s: f64, hold_s: f64) {
        let schedule = Schedule::new(vec![step(n_users, 0.0, hold_s)], Pacing::Open { rate_per_s });
        let total: usize = (0..n_users).map(|u| dues(&schedule, u, 0.0).len()).sum();
        assert_eq!(total, (rate_per_s * hold_s).round() as usize, "{n_users} users at {rate_per_s}/s for {hold_s}s");
    }

    #[test]
    fn open_pacing_never_skips_or_repeats_a_slot() {
        // Spacings that are not binary fractions, where rounding to whole nanoseconds once lost slots.
        check_slot_count(2000, 7000.0, 20.0);
        check_slot_count(3, 7.0, 30.0);
        check_slot_count(10_000, 3333.0, 3.0);
        check_slot_count(1, 1000.0, 10.0);
        check_slot_count(7, 0.7, 100.0);
    }

    #[test]
    fn shards_send_exactly_the_whole_runs_actions() {
        use crate::scenario::Chats;
        use crate::shard::Shard;
        let steps = || vec![step(7, 3.0, 10.0), step(3, 2.0, 5.0)];
        let whole = Schedule::new(steps(), Pacing::Open { rate_per_s: 13.0 });
        let mut expected: Vec<f64> = (0..7).flat_map(|u| dues(&whole, u, 0.01)).collect();
        let chats = Chats { group_share: 0.4, group_size: 2 };
        let mut sharded = Vec::new();
        let mut active = 0;
        for index in 0..3 {
            let users = Shard { index, count: 3 }.users(7, &chats);
            let schedule = Schedule::new(steps(), Pacing::Open { rate_per_s: 13.0 }).driving(users.clone());
            sharded.extend(users.iter().flat_map(|&u| dues(&schedule, u, 0.01)));
            active += schedule.active_users(secs(4.0));
        }
        expected.sort_by(f64::total_cmp);
        sharded.sort_by(f64::total_cmp);
        assert_eq!(sharded, expected);
        assert_eq!(active, whole.active_users(secs(4.0)));
    }

    #[test]
    fn closed_pacing_waits_for_the_answer_and_thinks() {
        let think = secs(1.0)..secs(3.0);
        let schedule = Schedule::new(vec![step(1, 0.0, 60.0)], Pacing::Closed { think: think.clone() });
        let fast = dues(&schedule, 0, 0.0);
        assert!(fast[0] < 3.0);
        for pair in fast.windows(2) {
            let gap = pair[1] - pair[0];
            assert!((1.0..=3.0).contains(&gap), "gap {gap}");
        }
        assert!((15..=60).contains(&fast.len()), "{} actions", fast.len());
        // Each answer taking 2 s leaves room for fewer actions, each 3..5 s after the previous one.
        let slow = dues(&schedule, 0, 2.0);
        assert!(slow.len() < fast.len());
        assert!(slow.windows(2).all(|p| (3.0..=5.0).contains(&(p[1] - p[0]))));
        assert!(fast.iter().chain(&slow).all(|t| *t < 60.0));
    }

    #[test]
    fn a_user_without_windows_never_acts() {
        let schedule = Schedule::new(vec![step(2, 0.0, 5.0)], Pacing::Closed { think: secs(1.0)..secs(1.0) });
        assert!(dues(&schedule, 5, 0.1).is_empty());
    }
}
