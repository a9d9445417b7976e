//! The run's plan as events: each phase's start and each fault window's opening and closing, in time order,
//! handed out once their time has come, so that `events.jsonl` records them as they happen. Pure: the caller
//! gives the clock.

use std::time::Duration;

use serde_json::{json, Value};

use crate::scenario::Scenario;
use crate::schedule::Schedule;

pub(super) struct Timeline {
    /// Offsets from the load's start, the event kind, its fields.
    events: Vec<(Duration, &'static str, Value)>,
    next: usize,
}

impl Timeline {
    pub(super) fn new(schedule: &Schedule, scenario: &Scenario) -> Timeline {
        let mut events: Vec<_> =
            schedule.phases().into_iter().map(|(start, label)| (start, "phase", json!({"label": label}))).collect();
        for fault in &scenario.faults {
            let fields = json!({"name": fault.name(), "fault": fault.target});
            events.push((fault.start, "fault_start", fields.clone()));
            events.push((fault.start + fault.duration, "fault_end", fields));
        }
        // Stable: a phase and a fault at the same moment keep the phase first.
        events.sort_by_key(|(at, _, _)| *at);
        Timeline { events, next: 0 }
    }

    /// The events due by `now_us` (unix µs) in a load that started at `t0_us`, at their own times; each only once.
    pub(super) fn take_due(&mut self, t0_us: u64, now_us: u64) -> Vec<(u64, &'static str, Value)> {
        let mut due = Vec::new();
        while let Some((offset, kind, fields)) = self.events.get(self.next) {
            let at = t0_us + offset.as_micros() as u64;
            if at > now_us {
                break;
            }
            due.push((at, *kind, fields.clone()));
            self.next += 1;
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn phases_and_fault_windows_come_out_in_order_and_once() {
        let text = "[load]\nsteps = [{ label = \"warm\", users = 2, hold = \"2s\" }, { label = \"peak\", users = 4, hold = \"3s\" }]\n\
            [pacing]\nmode = \"closed\"\n[[actions]]\nkind = \"text\"\ntext = \"hi\"\n\
            [[external_api.faults]]\nendpoint = \"ask\"\nkind = \"error\"\nstart = \"1s\"\nduration = \"3s\"\n";
        let scenario = Scenario::parse(Path::new("t.toml"), text).unwrap();
        let schedule = Schedule::new(scenario.steps.clone(), scenario.pacing.clone());
        let mut timeline = Timeline::new(&schedule, &scenario);
        let t0 = 1_000_000_000;
        let names = |due: Vec<(u64, &'static str, Value)>| -> Vec<(u64, String)> {
            due.into_iter()
                .map(|(at, kind, fields)| {
                    (
                        (at - t0) / 1000,
                        format!("{kind} {}", fields["label"].as_str().or(fields["name"].as_str()).unwrap()),
                    )
                })
                .collect()
        };
        assert_eq!(
            names(timeline.take_due(t0, t0 + 1_500_000)),
            [(0, "phase warm".into()), (1000, "fault_start /ask error".into())]
        );
        assert!(timeline.take_due(t0, t0 + 1_900_000).is_empty());
        assert_eq!(
            names(timeline.take_due(t0, t0 + 10_000_000)),
            [(2000, "phase peak".into()), (4000, "fault_end /ask error".into())]
        );
        assert!(timeline.take_due(t0, u64::MAX).is_empty());
    }
}
