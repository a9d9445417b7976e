//! `report.html` and `compare.html` in a real browser. A `smoke` run's page, opened by headless Chromium (Debian's
//! `chromium`, which ci/test.sh installs when missing; without it these tests say so and stop), loads with no
//! request (its Content-Security-Policy refuses any, and the page counts refusals into its DOM), draws its
//! charts, shows `summary.json`'s p99, and zooms; `tgload report` rebuilds it; `tgload compare` writes its own.
//! The browser resolves no host name, so nothing it might try could leave the machine.

use std::fs;
use std::time::{Duration, Instant};

use super::*;

/// How long one page may take to load and dump before the browser is stopped and the test fails.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);

struct Browser(PathBuf);

impl Browser {
    /// `TGLOAD_CHROMIUM`, else `chromium` or `chromium-browser` on the PATH.
    fn find() -> Option<Browser> {
        if let Some(path) = std::env::var_os("TGLOAD_CHROMIUM") {
            return Some(Browser(PathBuf::from(path)));
        }
        let path = std::env::var_os("PATH")?;
        let found = std::env::split_paths(&path)
            .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
            .find(|candidate| candidate.is_file());
        found.map(Browser)
    }

    /// The DOM after the page's scripts ran, and the browser's log (console messages included).
    fn dom(&self, page: &Path) -> (String, String) {
        let work = page.with_extension("browser");
        let _ = fs::remove_dir_all(&work);
        fs::create_dir_all(&work).unwrap();
        let (stdout, stderr) = (work.join("dom.html"), work.join("log.txt"));
        let mut child = Command::new(&self.0)
            .args(["--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--disable-sync"])
            .args(["--disable-background-networking", "--disable-component-update", "--disable-default-apps"])
            .arg("--host-resolver-rules=MAP * ~NOTFOUND")
            .arg(format!("--user-data-dir={}", work.join("profile").display()))
            .args(["--enable-logging=stderr", "--v=0", "--dump-dom"])
            .arg(format!("file://{}", page.canonicalize().unwrap().display()))
            .stdout(fs::File::create(&stdout).unwrap())
            .stderr(fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("the browser starts");
        let started = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if started.elapsed() > BROWSER_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{} did not dump {} within {BROWSER_TIMEOUT:?}", self.0.display(), page.display());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        (fs::read_to_string(stdout).unwrap(), fs::read_to_string(stderr).unwrap_or_default())
    }
}

/// The browser, or `None` after saying why the test stops here.
fn browser() -> Option<Browser> {
    let browser = Browser::find();
    if browser.is_none() {
        eprintln!(
            "skipped: no chromium on the PATH (install Debian's `chromium`, as ci/test.sh does, or set \
             TGLOAD_CHROMIUM): report.html was not opened in a browser"
        );
    }
    browser
}

/// The value of attribute `name` in the first tag that contains `marker`.
fn attribute(dom: &str, marker: &str, name: &str) -> Option<String> {
    let at = dom.find(marker)?;
    let start = dom[..=at].rfind('<')?;
    let tag = &dom[start..start + dom[start..].find('>')?];
    let value = &tag[tag.find(&format!(" {name}=\""))? + name.len() + 3..];
    Some(value[..value.find('"')?].to_string())
}

/// Checks what every page must show after loading: no request refused, no script error, every chart drawn.
fn check_loaded(dom: &str, log: &str, n_plots: usize) {
    assert_eq!(attribute(dom, "<html", "data-violations").as_deref(), Some("0"), "a request was refused:\n{log}");
    assert!(!log.contains("Content Security Policy"), "the browser refused a request:\n{log}");
    assert!(!log.contains("Uncaught"), "a script failed:\n{log}");
    assert_eq!(attribute(dom, "<body", "data-drawn"), Some(n_plots.to_string()), "charts drawn");
    assert_eq!(dom.matches("data-drawn=\"true\"").count(), n_plots);
    let mut rest = dom;
    while let Some(at) = rest.find("data-ticks=\"") {
        let ticks: usize = rest[at + 12..].split('"').next().unwrap().parse().unwrap();
        assert!(ticks >= 4, "a chart has {ticks} axis ticks");
        rest = &rest[at + 12..];
    }
}

/// `page` with `extra` markup just before `</body>`, written beside it as `name`.
fn variant(page: &Path, name: &str, extra: &str) -> PathBuf {
    let html = fs::read_to_string(page).unwrap();
    let path = page.with_file_name(name);
    fs::write(&path, html.replace("</body>", &format!("{extra}</body>"))).unwrap();
    path
}

/// Drags across the middle fifth of the latency chart, as a person zooming in would.
const DRAG: &str = "<script>(function () {
  var overlay = document.querySelector('#plot-latency .overlay'), r = overlay.getBoundingClientRect();
  function at(type, x, target) {
    target.dispatchEvent(new MouseEvent(type, {clientX: r.left + x * r.width, clientY: r.top + 5, bubbles: true}));
  }
  at('mousedown', 0.4, overlay); at('mousemove', 0.6, window); at('mouseup', 0.6, window); at('mousemove', 0.5, overlay);
  document.body.setAttribute('data-tip', document.querySelector('#plot-latency .tooltip').textContent);
})();</script>";

#[test]
fn report_html_opens_offline_draws_its_charts_and_shows_the_summary() {
    let Some(_guard) = e2e() else { return };
    let Some(browser) = browser() else { return };
    let out = out_dir("report-html");
    let output = tgload(&shipped("smoke"), &out, &["--duration", "3s"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let s = summary(&out);
    let page = out.join("report.html");
    assert!(page.is_file(), "no report.html in {}", out.display());

    let (dom, log) = browser.dom(&page);
    check_loaded(&dom, &log, 6);
    let shown: f64 = attribute(&dom, "id=\"figure-p99\"", "data-value").unwrap().parse().unwrap();
    assert_eq!(Some(shown), s["latency_ms"]["p99"].as_f64(), "the page's p99 is summary.json's");
    let verdict = s["verdict"].as_str().unwrap().to_uppercase();
    assert!(dom.contains(&format!("id=\"verdict-badge\">{verdict}</span>")), "the verdict is shown");
    assert!(dom.contains("<table>"), "report.md's tables are there");

    // The check above can fail: the same page with one outside image is caught, and the image never loads.
    let leaking = variant(&page, "leaking.html", "<img src=\"http://127.0.0.1:9/x.png\" alt=\"\">");
    let (dom, _) = browser.dom(&leaking);
    assert_eq!(attribute(&dom, "<html", "data-violations").as_deref(), Some("1"), "an outside image is refused");

    // A drag zooms every chart over time to the same range; hovering then shows the values there.
    let (dom, log) = browser.dom(&variant(&page, "zoomed.html", DRAG));
    let ranges: Vec<String> = ["latency", "throughput", "errors", "memory", "cpu"]
        .iter()
        .map(|id| attribute(&dom, &format!("id=\"plot-{id}\""), "data-range").unwrap())
        .collect();
    assert!(ranges.iter().all(|r| *r == ranges[0]), "{ranges:?}\n{log}");
    let full = attribute(&browser.dom(&page).0, "id=\"plot-latency\"", "data-range").unwrap();
    assert_ne!(ranges[0], full, "the drag zoomed in");
    let tip = attribute(&dom, "<body", "data-tip").unwrap();
    assert!(tip.starts_with("t = ") && tip.contains("p99: ") && tip.contains(" ms"), "{tip}");
}

#[test]
fn tgload_report_rebuilds_report_html_and_compare_writes_compare_html() {
    let Some(_guard) = e2e() else { return };
    let Some(browser) = browser() else { return };
    let out = out_dir("report-html-rebuilt");
    let output = tgload(&shipped("smoke"), &out, &["--duration", "2s"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    fs::remove_file(out.join("report.html")).unwrap();
    let output = Command::new(tgload_bin()).arg("report").arg(&out).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let (dom, log) = browser.dom(&out.join("report.html"));
    check_loaded(&dom, &log, 6);
    let shown: f64 = attribute(&dom, "id=\"figure-p99\"", "data-value").unwrap().parse().unwrap();
    assert_eq!(Some(shown), summary(&out)["latency_ms"]["p99"].as_f64(), "the rebuilt summary's p99");

    let compared = out.join("compare-self");
    let output = Command::new(tgload_bin()).arg("compare").arg(&out).arg(&out).arg("--out").arg(&compared).output();
    let output = output.unwrap();
    // One run a side is always inconclusive (98): the page is what is checked here.
    assert_eq!(output.status.code(), Some(98), "{}", text(&output));
    let (dom, log) = browser.dom(&compared.join("compare.html"));
    check_loaded(&dom, &log, 5);
    assert!(dom.contains("id=\"verdict-badge\">INCONCLUSIVE</span>"), "the comparison's verdict");
    assert!(dom.contains("class=\"verdicts\""), "the verdicts table");
}
