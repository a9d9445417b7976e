//! The rendered files: every chart is written as SVG and PNG, the SVG is an SVG document, the PNG decodes to the
//! expected size and is not blank; missing inputs give "no data" charts and malformed ones errors naming the file.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use charts::Error;

use crate::fixtures::{self, TempDir, HEADER};

/// What a rendered file should be: its name, its pixel size, and whether its chart says "no data".
struct Expected {
    name: &'static str,
    size: (u32, u32),
    no_data: bool,
}

const ONE_PANEL: (u32, u32) = (1200, 500);
const TWO_PANELS: (u32, u32) = (1200, 900);

fn expected(name: &'static str, size: (u32, u32), no_data: bool) -> Expected {
    Expected { name, size, no_data }
}

/// Checks the written paths against the expected charts, each as `.svg` and `.png`, and each file's content.
fn check(written: Vec<PathBuf>, dir: &Path, charts: &[Expected]) {
    let names: Vec<String> = written.iter().map(|p| p.strip_prefix(dir).unwrap().display().to_string()).collect();
    let expected_names: Vec<String> =
        charts.iter().flat_map(|c| [format!("{}.svg", c.name), format!("{}.png", c.name)]).collect();
    assert_eq!(names, expected_names);
    for chart in charts {
        let svg = fs::read_to_string(dir.join(format!("{}.svg", chart.name))).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{}.svg", chart.name);
        let says_no_data = svg.lines().any(|line| line.trim() == "no data");
        assert_eq!(says_no_data, chart.no_data, "{}.svg says no data", chart.name);
        let png = fs::read(dir.join(format!("{}.png", chart.name))).unwrap();
        assert_eq!(png_size_and_colors(&png).0, chart.size, "{}.png", chart.name);
        assert!(png_size_and_colors(&png).1 > 8, "{}.png has almost no distinct colours", chart.name);
    }
    let leftovers: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

/// The PNG's dimensions and how many distinct colours it has, after checking its signature.
fn png_size_and_colors(bytes: &[u8]) -> ((u32, u32), usize) {
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG signature");
    let mut reader = png::Decoder::new(bytes).read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    let colors: HashSet<&[u8]> = pixels[..frame.buffer_size()].chunks(3).collect();
    ((frame.width, frame.height), colors.len())
}

#[test]
fn run_charts_are_written() {
    let run = fixtures::realistic_run("render", 1.0, Some("feedface"));
    let written = charts::render_run(run.path()).unwrap();
    let charts = [
        expected("latency", ONE_PANEL, false),
        expected("throughput", TWO_PANELS, false),
        expected("errors", ONE_PANEL, false),
        expected("resources", TWO_PANELS, false),
        expected("distribution", ONE_PANEL, false),
    ];
    check(written, &run.path().join("charts"), &charts);
}

#[test]
fn missing_inputs_give_no_data_charts() {
    let empty = TempDir::new("render-empty");
    let charts = [
        expected("latency", ONE_PANEL, true),
        expected("throughput", TWO_PANELS, true),
        expected("errors", ONE_PANEL, true),
        expected("resources", TWO_PANELS, true),
        expected("distribution", ONE_PANEL, true),
    ];
    check(charts::render_run(empty.path()).unwrap(), &empty.path().join("charts"), &charts);
    // A header alone and no log: still no data, and rendering again replaces the charts.
    empty.write("timeseries.csv", format!("{HEADER}\n"));
    check(charts::render_run(empty.path()).unwrap(), &empty.path().join("charts"), &charts);
}

#[test]
fn comparison_charts_are_written() {
    let base = fixtures::realistic_run("base", 1.0, Some("aaaaaaa111"));
    let candidate = fixtures::realistic_run("candidate", 1.4, Some("bbbbbbb222"));
    let out = TempDir::new("compare-out");
    let out_dir = out.path().join("nested");
    let written = charts::render_comparison(base.path(), candidate.path(), &out_dir).unwrap();
    let charts = [
        expected("distribution", ONE_PANEL, false),
        expected("latency-p95", ONE_PANEL, false),
        expected("rss", ONE_PANEL, false),
    ];
    check(written, &out_dir, &charts);
    let svg = fs::read_to_string(out_dir.join("rss.svg")).unwrap();
    assert!(svg.contains("base (aaaaaaa)") && svg.contains("candidate (bbbbbbb)"));
}

#[test]
fn malformed_files_are_errors_naming_file_and_line() {
    let cases = [
        ("timeseries.csv", format!("{HEADER}\n1,ramp,1,1,1,0,1,1,1,1,1\n2,ramp\n"), 3),
        ("events.jsonl", "{\"t_s\": 1, \"kind\": \"phase\"}\n{\"t_s\": 2}\n".to_string(), 2),
        ("latency.hlog", "#comment\nnot a log line\n".to_string(), 2),
        ("summary.json", "{\n\"scenario\": \"smoke\",\n}".to_string(), 3),
    ];
    for (file, text, line) in cases {
        let run = TempDir::new("malformed");
        run.write(file, text);
        let error = charts::render_run(run.path()).unwrap_err();
        let message = error.to_string();
        match error {
            Error::Malformed { path, line: at, .. } => {
                assert_eq!((path, at), (run.path().join(file), line), "{message}");
            }
            other => panic!("expected a malformed-file error, got `{other}`"),
        }
        let named = format!("malformed {} at line {line}: ", run.path().join(file).display());
        assert!(message.starts_with(&named), "{message}");
        assert!(!run.path().join("charts").exists(), "charts written despite the error");
    }
}

#[test]
fn missing_run_directory_is_an_error() {
    let parent = TempDir::new("missing");
    let error = charts::render_run(&parent.path().join("no-such-run")).unwrap_err();
    assert!(matches!(error, Error::Read { .. }), "{error}");
}
