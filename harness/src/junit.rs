//! JUnit XML, the pass/fail-per-check format CI systems read: each SLO rule and each verdict a `<testcase>`.
//! This module is the model and its rendering (with quick-xml's writer, never concatenated text); `junit::run`
//! and `junit::compare` turn a run's summary and a comparison into suites, and `ci` writes the file. Pure: the
//! timestamp and host name are handed in.
//!
//! The shape satisfies both schemas CI tools validate against: Jenkins' `junit-10.xsd` and the stricter Ant
//! schema (`JUnit.xsd`): a bare `<testsuites>`, each suite with `id`, `package`, `hostname`, a zone-less
//! `timestamp`, `<properties>`, `<system-out>` and `<system-err>`, each case with `classname` and `time`, at most
//! one outcome element per case, a `type` on failures and errors but not on `skipped`.

mod compare;
mod run;

use std::io;

use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;

pub use compare::{capacity_suite, comparison_suite};
pub use run::run_suites;

/// One `<testsuite>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Suite {
    pub name: String,
    /// Dotted, like a Java package: `tgload.run`, `tgload.compare`.
    pub package: String,
    /// Seconds the suite covers (a run's duration).
    pub time_s: f64,
    pub cases: Vec<Case>,
}

/// One `<testcase>`: a rule or a verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub name: String,
    /// What kind of check it is: `tgload.slo`, `tgload.leak`, `tgload.compare.gated`, ...
    pub classname: String,
    pub outcome: Outcome,
}

/// How a case came out. An `inconclusive` verdict is `Skipped`: it neither holds nor fails, and CI tools show a
/// skipped test as neither green nor red; the command's exit code (98) still says inconclusive.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Passed,
    /// `kind` becomes the failure's `type` (`slo`, `leak`, `worse`, ...); `message` has the observed value, the
    /// threshold and the interval where there is one.
    Failed {
        kind: &'static str,
        message: String,
    },
    Skipped {
        message: String,
    },
    /// The command itself failed, so nothing was judged.
    Error {
        message: String,
    },
}

/// Where and when the file was written, for every suite.
#[derive(Debug, Clone, PartialEq)]
pub struct Stamp {
    /// UTC without a zone, `2026-11-24T21:38:00`: the Ant schema allows no zone.
    pub timestamp: String,
    pub hostname: String,
}

impl Case {
    pub fn new(classname: &str, name: impl Into<String>, outcome: Outcome) -> Case {
        Case { name: name.into(), classname: classname.to_string(), outcome }
    }
}

impl Suite {
    fn count(&self, which: fn(&Outcome) -> bool) -> usize {
        self.cases.iter().filter(|c| which(&c.outcome)).count()
    }
}

/// The suite of a command that failed before it judged anything: one case in error.
pub fn error_suite(command: &str, message: &str) -> Suite {
    Suite {
        name: command.to_string(),
        package: "tgload".into(),
        time_s: 0.0,
        cases: vec![Case::new("tgload.command", command, Outcome::Error { message: message.to_string() })],
    }
}

/// The whole document.
pub fn render(suites: &[Suite], stamp: &Stamp) -> io::Result<String> {
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    writer.create_element("testsuites").write_inner_content(|w| {
        for (id, suite) in suites.iter().enumerate() {
            write_suite(w, id, suite, stamp)?;
        }
        Ok(())
    })?;
    let mut text = String::from_utf8(writer.into_inner()).map_err(io::Error::other)?;
    text.push('\n');
    Ok(text)
}

fn write_suite(w: &mut Writer<Vec<u8>>, id: usize, suite: &Suite, stamp: &Stamp) -> io::Result<()> {
    let failures = suite.count(|o| matches!(o, Outcome::Failed { .. }));
    let errors = suite.count(|o| matches!(o, Outcome::Error { .. }));
    let skipped = suite.count(|o| matches!(o, Outcome::Skipped { .. }));
    let (name, package, hostname) = (clean(&suite.name), clean(&suite.package), clean(&stamp.hostname));
    let attributes = [
        ("name", name.as_str()),
        ("tests", &suite.cases.len().to_string()),
        ("failures", &failures.to_string()),
        ("errors", &errors.to_string()),
        ("skipped", &skipped.to_string()),
        ("time", &seconds(suite.time_s)),
        ("timestamp", &stamp.timestamp),
        ("hostname", &hostname),
        ("id", &id.to_string()),
        ("package", &package),
    ];
    w.create_element("testsuite").with_attributes(attributes).write_inner_content(|w| {
        // The Ant schema requires these three elements; they have nothing to hold here.
        w.create_element("properties").write_empty()?;
        for case in &suite.cases {
            write_case(w, case)?;
        }
        w.create_element("system-out").write_empty()?;
        w.create_element("system-err").write_empty()?;
        Ok(())
    })?;
    Ok(())
}

fn write_case(w: &mut Writer<Vec<u8>>, case: &Case) -> io::Result<()> {
    let (name, classname) = (clean(&case.name), clean(&case.classname));
    let element = w.create_element("testcase").with_attributes([
        ("name", name.as_str()),
        ("classname", &classname),
        ("time", "0"),
    ]);
    // The Ant schema requires a failure's and an error's `type`, and allows none on `skipped`.
    let (tag, kind, message) = match &case.outcome {
        Outcome::Passed => return element.write_empty().map(|_| ()),
        Outcome::Failed { kind, message } => ("failure", Some(*kind), message),
        Outcome::Skipped { message } => ("skipped", None, message),
        Outcome::Error { message } => ("error", Some("error"), message),
    };
    let message = clean(message);
    element.write_inner_content(|w| {
        let outcome = w.create_element(tag).with_attribute(("message", message.as_str()));
        let outcome = match kind {
            Some(kind) => outcome.with_attribute(("type", kind)),
            None => outcome,
        };
        outcome.write_text_content(BytesText::new(&message))?;
        Ok(())
    })?;
    Ok(())
}

/// `SUREFIRE_TIME` and `xs:decimal` both: digits and a point, never an exponent or a sign.
fn seconds(s: f64) -> String {
    if s.is_finite() && s > 0.0 {
        format!("{s:.3}")
    } else {
        "0".to_string()
    }
}

/// Drops the characters XML 1.0 cannot hold at all (most control characters), which a bot's error text or a
/// fault's name could bring in; the writer escapes the rest.
fn clean(text: &str) -> String {
    text.chars()
        .filter(|&c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..))
        .collect()
}

#[cfg(test)]
mod tests;
