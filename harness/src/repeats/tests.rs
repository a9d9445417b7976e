//! The set's summary: the worst exit code, errors pooled over runs, the spread, and the merged percentiles taken
//! from the summed histogram rather than from the runs' percentiles.

use super::*;

fn figures(dir: &str, exit_code: u8, p95_ms: f64, sent: u64, errors: u64) -> RunFigures {
    RunFigures {
        dir: dir.into(),
        status: if exit_code == 1 { "error".into() } else { "completed".into() },
        exit_code,
        sent,
        errors,
        error_rate: errors as f64 / sent as f64,
        throughput_per_s: 100.0,
        p50_ms: p95_ms / 2.0,
        p95_ms,
        p99_ms: p95_ms * 2.0,
        steady_p95_ms: Some(p95_ms),
    }
}

#[test]
fn the_worst_exit_code_is_the_sets() {
    assert_eq!(worst_exit_code([0, 98, 0]), 98);
    assert_eq!(worst_exit_code([98, 99, 0]), 99);
    assert_eq!(worst_exit_code([99, 1]), 1);
    assert_eq!(worst_exit_code([1, 130]), 130);
    assert_eq!(worst_exit_code([]), 0);
}

#[test]
fn errors_are_pooled_and_the_spread_is_between_runs() {
    let runs =
        vec![figures("r1", 0, 10.0, 1000, 0), figures("r2", 99, 12.0, 1000, 10), figures("r3", 0, 14.0, 2000, 0)];
    let set = summarize("smoke", 3, runs, None);
    assert_eq!(set.exit_code, 99);
    assert_eq!(set.error_rate, 10.0 / 4000.0);
    let p95 = set.spread.iter().find(|s| s.metric == "latency_ms.p95").unwrap();
    assert_eq!((p95.min, p95.median, p95.max), (10.0, 12.0, 14.0));
    // The sample standard deviation of 10, 12, 14 is 2: a CV of 2/12.
    assert!((p95.cv_pct.unwrap() - 100.0 * 2.0 / 12.0).abs() < 1e-9);
    assert_eq!(set.latency_ms, None);
}

#[test]
fn merged_percentiles_come_from_the_summed_histogram() {
    // One run of 960 answers at 1 ms and one of 40 at 100 ms: averaging the runs' p95s (1 and 100) would say
    // 50.5 ms; the merged p95 of the 1,000 answers is 1 ms and their p99 is 100 ms.
    let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
    h.record_n(1000, 960).unwrap();
    let mut other = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
    other.record_n(100_000, 40).unwrap();
    h.add(&other).unwrap();
    let merged = Merged::of(&h);
    assert!((merged.p95 - 1.0).abs() < 0.01, "{merged:?}");
    assert!((merged.p99 - 100.0).abs() < 0.1, "{merged:?}");
}

#[test]
fn report_snapshot() {
    let runs = vec![figures("r1", 0, 10.0, 1000, 0), figures("r2", 0, 11.0, 1000, 1)];
    expect_test::expect![[r#"
        # tgload repeats: smoke × 2

        **completed** · 2 of 2 runs · exit code 0 (the worst run's) · error rate 0.050%

        | run | status | exit | p50 | p95 | p99 | steady p95 | error rate | throughput |
        |---|---|---:|---:|---:|---:|---:|---:|---:|
        | [r1](r1/report.md) | completed | 0 | 5.00 ms | 10.00 ms | 20.00 ms | 10.00 ms | 0.000% | 100.0/s |
        | [r2](r2/report.md) | completed | 0 | 5.50 ms | 11.00 ms | 22.00 ms | 11.00 ms | 0.100% | 100.0/s |

        ## Spread between runs

        | figure | min | median | max | CV |
        |---|---:|---:|---:|---:|
        | `latency_ms.p50` | 5.0000 | 5.2500 | 5.5000 | 6.7% |
        | `latency_ms.p95` | 10.0000 | 10.5000 | 11.0000 | 6.7% |
        | `latency_ms.p99` | 20.0000 | 21.0000 | 22.0000 | 6.7% |
        | `steady_p95_ms` | 10.0000 | 10.5000 | 11.0000 | 6.7% |
        | `error_rate` | 0.0000 | 0.0005 | 0.0010 | 141.4% |
        | `throughput_per_s` | 100.0000 | 100.0000 | 100.0000 | 0.0% |
    "#]]
    .assert_eq(&markdown(&summarize("smoke", 2, runs, None)));
}
