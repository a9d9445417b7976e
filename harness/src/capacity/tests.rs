//! The capacity search against simulated bots of known capacity (and generators of known limits), and the probe
//! judge and Mann-Kendall on series whose answer is known.

use super::*;

/// A probe of a bot that keeps up with `capacity` actions a second, on a generator that keeps up with
/// `generator` a second: above capacity its goodput is capped and latency climbs second by second.
fn probe(rate: f64, capacity: f64, generator: f64) -> Figures {
    let kept = rate.min(capacity);
    let rising = rate > capacity;
    Figures {
        rate,
        duration_s: 20.0,
        sent: (rate * 20.0) as u64,
        answered: (kept * 20.0) as u64,
        errors: 0,
        answered_with_error: 0,
        p99_ms: if rising { 5000.0 } else { 20.0 },
        slos_passed: !rising,
        generator_ok: rate <= generator,
        generator_reasons: if rate <= generator { vec![] } else { vec!["send lateness".into()] },
        steady_p50_ms: (0..15).map(|i| if rising { 100.0 * i as f64 } else { 10.0 + (i % 3) as f64 }).collect(),
    }
}

fn search(start: f64, capacity: f64, generator: f64) -> Capacity {
    let mut search = Search::new(start, DEFAULT_PRECISION);
    for _ in 0..40 {
        match search.next() {
            Next::Probe { rate, trial } => {
                search.record(judge(&probe(rate, capacity, generator), String::new(), trial))
            }
            Next::Done => return search.result(),
        }
    }
    panic!("the search did not end: {:?}", search.probes());
}

#[test]
fn the_bot_limit_is_found_within_the_precision() {
    for (start, capacity) in [(100.0, 437.0), (1000.0, 437.0), (50.0, 6000.0), (10.0, 10.0)] {
        let c = search(start, capacity, 1e9);
        let (low, high) = (c.max_sustainable_per_s.unwrap(), c.first_unsustainable_per_s.unwrap());
        assert_eq!(c.limited_by, LimitedBy::Bot, "{c:?}");
        assert!(low <= capacity && capacity < high, "{low} {high} around {capacity}");
        // Rates are whole numbers: at 10/s the bracket cannot be narrower than 1/s.
        assert!((high - low) / low <= DEFAULT_PRECISION + 0.01 || high - low <= 1.0, "{low}..{high}");
        // Near the boundary every sustainable rate was tried twice.
        let at_low: Vec<_> = c.probes.iter().filter(|p| p.offered_per_s == low).collect();
        assert_eq!(at_low.len(), 2, "{c:?}");
    }
}

#[test]
fn a_generator_that_gives_out_first_is_never_the_bots_limit() {
    let c = search(500.0, 10_000.0, 3000.0);
    assert_eq!((c.limited_by, c.first_unsustainable_per_s), (LimitedBy::Generator, None), "{c:?}");
    assert!(c.max_sustainable_per_s.unwrap() <= 3000.0, "{c:?}");
    assert!(c.probes.iter().any(|p| p.verdict == ProbeVerdict::GeneratorLimited));
}

#[test]
fn a_probe_is_judged_on_goodput_errors_slos_and_trend() {
    let ok = judge(&probe(100.0, 200.0, 1e9), "p".into(), 1);
    assert_eq!((ok.verdict, ok.reasons.len()), (ProbeVerdict::Sustainable, 0), "{ok:?}");
    let over = judge(&probe(300.0, 200.0, 1e9), "p".into(), 1);
    assert_eq!(over.verdict, ProbeVerdict::Unsustainable);
    assert_eq!(over.reasons.len(), 3, "goodput, SLOs and the trend: {over:?}");
    // A significant but tiny rise (a healthy bot's p50 wandering from 10 to 12 ms) is no queue.
    let wandering =
        Figures { steady_p50_ms: (0..15).map(|i| 10.0 + i as f64 / 7.0).collect(), ..probe(100.0, 200.0, 1e9) };
    assert_eq!(judge(&wandering, "p".into(), 1).verdict, ProbeVerdict::Sustainable);
    // Errors over budget alone.
    let failing = Figures { errors: 50, answered_with_error: 50, ..probe(100.0, 200.0, 1e9) };
    let failing = judge(&failing, "p".into(), 1);
    assert!(failing.reasons.iter().any(|r| r.contains("failed")), "{failing:?}");
}

#[test]
fn mann_kendall_sees_a_rise_and_not_noise() {
    let rising: Vec<f64> = (0..20).map(f64::from).collect();
    assert!(mann_kendall_z(&rising).unwrap() > Z_99);
    let flat: Vec<f64> = (0..20).map(|i| 10.0 + ((i * 7) % 5) as f64).collect();
    assert!(mann_kendall_z(&flat).unwrap().abs() < Z_99, "{:?}", mann_kendall_z(&flat));
    assert_eq!(mann_kendall_z(&[1.0, 2.0]), None);
    // n = 10, strictly rising: S = 45, Var = 10·9·25/18 = 125, z = 44 / √125 = 3.9355.
    let ten: Vec<f64> = (0..10).map(f64::from).collect();
    assert!((mann_kendall_z(&ten).unwrap() - 44.0 / 125f64.sqrt()).abs() < 1e-12);
}
