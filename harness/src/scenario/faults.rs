//! The scenario's fault schedule: windows, timed from the load's start, in which the external API the bundled bot
//! calls fails (`[[external_api.faults]]`) or the Bot API itself does (`[[bot_api.faults]]`, injected by the mock),
//! plus the external API's latencies. Validated here so a bad window is an error naming its line; carrying them
//! out is the session's and the services' business.

use std::ops::Range;
use std::time::Duration;

use serde::Serialize;
use toml::Spanned;

use super::{file, ser, spanned_duration, Fail};
use crate::duration;
use crate::error::Error;

/// The longest Bot API delay a window may add (the mock's own limit): past it every client has given up.
const MAX_BOT_API_DELAY: Duration = Duration::from_secs(120);

/// The external API mock the bundled bot calls: each endpoint's latency.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExternalApi {
    #[serde(serialize_with = "ser::range")]
    pub quote_latency: Range<Duration>,
    #[serde(serialize_with = "ser::range")]
    pub ask_latency: Range<Duration>,
}

/// A window, timed from the load's start, during which something the bot depends on fails.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fault {
    #[serde(serialize_with = "ser::secs")]
    pub start: Duration,
    #[serde(serialize_with = "ser::secs")]
    pub duration: Duration,
    #[serde(flatten)]
    pub target: Target,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "target", rename_all = "snake_case")]
pub enum Target {
    ExternalApi {
        endpoint: Endpoint,
        kind: ExternalFault,
    },
    /// `methods` as written (the mock compares them case-insensitively); empty means every method.
    BotApi {
        methods: Vec<String>,
        effect: BotApiEffect,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    Quote,
    Ask,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExternalFault {
    /// HTTP 500 after the usual latency.
    Error,
    /// No answer until long after any client timeout.
    Timeout,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BotApiEffect {
    /// The call answers this Bot API error (with Telegram's text for the code) instead of running.
    Error { error_code: u16, retry_after: Option<u64> },
    /// The call runs, but answers this much later.
    Delay {
        #[serde(serialize_with = "ser::secs")]
        delay: Duration,
    },
}

impl Endpoint {
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::Quote => "quote",
            Endpoint::Ask => "ask",
        }
    }
}

impl ExternalFault {
    pub fn name(self) -> &'static str {
        match self {
            ExternalFault::Error => "error",
            ExternalFault::Timeout => "timeout",
        }
    }
}

impl Fault {
    /// A short name for events and chart markers: `/ask timeout`, `sendMessage 502`, `Bot API +500ms`.
    pub fn name(&self) -> String {
        match &self.target {
            Target::ExternalApi { endpoint, kind } => format!("/{} {}", endpoint.name(), kind.name()),
            Target::BotApi { methods, effect } => {
                let methods = if methods.is_empty() { "Bot API".to_string() } else { methods.join(",") };
                match effect {
                    BotApiEffect::Error { error_code, .. } => format!("{methods} {error_code}"),
                    BotApiEffect::Delay { delay } => format!("{methods} +{}", duration::format(*delay)),
                }
            }
        }
    }
}

pub(super) fn build_external_api(raw: &file::ExternalApi, fail: Fail<'_>) -> Result<ExternalApi, Error> {
    let latency = |value: &Option<Spanned<String>>, field: &str, default: &str| match value {
        Some(v) => duration::parse_range(v.get_ref()).map_err(|m| fail(&v.span(), field, m)),
        None => duration::parse_range(default).map_err(|m| fail(&(0..0), field, m)),
    };
    Ok(ExternalApi {
        quote_latency: latency(&raw.quote_latency, "external_api.quote_latency", "5ms..30ms")?,
        ask_latency: latency(&raw.ask_latency, "external_api.ask_latency", "200ms..800ms")?,
    })
}

/// Both tables' windows, external API first, each checked to open within a load that lasts `load`.
pub(super) fn build_faults(
    external: &[Spanned<file::ExternalFault>],
    bot_api: &[Spanned<file::BotApiFault>],
    load: Duration,
    fail: Fail<'_>,
) -> Result<Vec<Fault>, Error> {
    let mut faults = Vec::new();
    for (i, f) in external.iter().map(Spanned::get_ref).enumerate() {
        let field = |name: &str| format!("external_api.faults[{i}].{name}");
        let target = external_target(f, &field, fail)?;
        let (start, duration) = window(&f.start, &f.duration, load, &field, fail)?;
        faults.push(Fault { start, duration, target });
    }
    for (i, spanned) in bot_api.iter().enumerate() {
        let f = spanned.get_ref();
        let field = |name: &str| format!("bot_api.faults[{i}].{name}");
        let effect = bot_api_effect(f, &spanned.span(), &field, fail)?;
        let methods = f.methods.iter().map(|m| m.get_ref().clone()).collect();
        let (start, duration) = window(&f.start, &f.duration, load, &field, fail)?;
        faults.push(Fault { start, duration, target: Target::BotApi { methods, effect } });
    }
    Ok(faults)
}

fn external_target(f: &file::ExternalFault, field: &dyn Fn(&str) -> String, fail: Fail<'_>) -> Result<Target, Error> {
    let endpoint = match f.endpoint.get_ref().as_str() {
        "quote" | "/quote" => Endpoint::Quote,
        "ask" | "/ask" => Endpoint::Ask,
        other => {
            let message = format!("unknown endpoint `{other}` (use \"quote\" or \"ask\")");
            return Err(fail(&f.endpoint.span(), &field("endpoint"), message));
        }
    };
    let kind = match f.kind.get_ref().as_str() {
        "error" => ExternalFault::Error,
        "timeout" => ExternalFault::Timeout,
        other => {
            let message = format!("unknown kind `{other}` (use \"error\" or \"timeout\")");
            return Err(fail(&f.kind.span(), &field("kind"), message));
        }
    };
    Ok(Target::ExternalApi { endpoint, kind })
}

/// A Bot API window's effect: its kind decides which keys it needs and which it refuses.
fn bot_api_effect(
    f: &file::BotApiFault,
    span: &Range<usize>,
    field: &dyn Fn(&str) -> String,
    fail: Fail<'_>,
) -> Result<BotApiEffect, Error> {
    let refuse = |span: Option<Range<usize>>, name: &str, why: &str| match span {
        Some(span) => Err(fail(&span, &field(name), why.to_string())),
        None => Ok(()),
    };
    match f.kind.get_ref().as_str() {
        "error" => {
            refuse(f.delay.as_ref().map(Spanned::span), "delay", "only applies to kind = \"delay\"")?;
            let error_code = f.error_code.as_ref().map_or(502, |c| *c.get_ref());
            if !(400..=599).contains(&error_code) {
                let span = f.error_code.as_ref().map_or(span.clone(), Spanned::span);
                return Err(fail(&span, &field("error_code"), "must lie between 400 and 599".into()));
            }
            let retry_after = f.retry_after.as_ref().map(|r| *r.get_ref());
            if error_code != 429 {
                refuse(f.retry_after.as_ref().map(Spanned::span), "retry_after", "only applies to error_code 429")?;
            }
            Ok(BotApiEffect::Error { error_code, retry_after: retry_after.or((error_code == 429).then_some(5)) })
        }
        "delay" => {
            refuse(f.error_code.as_ref().map(Spanned::span), "error_code", "only applies to kind = \"error\"")?;
            refuse(f.retry_after.as_ref().map(Spanned::span), "retry_after", "only applies to kind = \"error\"")?;
            let value = f.delay.as_ref().ok_or_else(|| fail(span, &field("delay"), "missing".into()))?;
            let delay = spanned_duration(value, &field("delay"), fail)?;
            if delay.is_zero() || delay > MAX_BOT_API_DELAY {
                return Err(fail(&value.span(), &field("delay"), "must lie between 1ms and 2m".into()));
            }
            Ok(BotApiEffect::Delay { delay })
        }
        other => {
            let message = format!("unknown kind `{other}` (use \"error\" or \"delay\")");
            Err(fail(&f.kind.span(), &field("kind"), message))
        }
    }
}

/// A window's start and length: it must open before the load is over and last a while.
fn window(
    start: &Spanned<String>,
    length: &Spanned<String>,
    load: Duration,
    field: &dyn Fn(&str) -> String,
    fail: Fail<'_>,
) -> Result<(Duration, Duration), Error> {
    let opens = spanned_duration(start, &field("start"), fail)?;
    if opens >= load {
        let message = format!("starts after the load is over (it lasts {})", duration::format(load));
        return Err(fail(&start.span(), &field("start"), message));
    }
    let lasts = spanned_duration(length, &field("duration"), fail)?;
    if lasts.is_zero() {
        return Err(fail(&length.span(), &field("duration"), "must be longer than 0s".into()));
    }
    Ok((opens, lasts))
}
