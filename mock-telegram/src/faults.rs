//! Injected Bot API faults: windows of time in which chosen methods answer an error (a 5xx outage, a 429 flood
//! wait) or answer late (a slow Telegram), so a load run can ask how a bot copes and how fast it recovers.
//!
//! Set through the control API (`PUT /control/bots/{token}/faults`), checked on every Bot API call. This is
//! deliberate failure on request; it is not the flood control of `flood`, which follows Telegram's rules.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::bot::lock;
use crate::error::ApiError;

/// More windows than a scenario would ever schedule; a bound so a runaway client cannot grow the list.
pub const MAX_WINDOWS: usize = 1000;
/// The longest injected delay: past it every client has given up anyway.
pub const MAX_DELAY_MS: u64 = 120_000;

/// One window: from `start_us` (unix µs) for `duration_ms`, the `methods` named (all of them when empty) get
/// `effect`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    #[serde(default)]
    pub methods: Vec<String>,
    pub start_us: u64,
    pub duration_ms: u64,
    pub effect: Effect,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Effect {
    /// Answer this error instead of running the method. Without a description, Telegram's text for the code.
    Error {
        error_code: u16,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after: Option<u64>,
    },
    /// Run the method, but only after this delay.
    Delay { delay_ms: u64 },
}

/// What a call meets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Injected {
    Error(ApiError),
    Delay(Duration),
}

/// One bot's fault windows.
#[derive(Debug, Default)]
pub struct Faults {
    /// Whether any window is set, so that calls skip the lock when none is (the usual case).
    armed: AtomicBool,
    windows: Mutex<Vec<Window>>,
}

impl Faults {
    /// Replaces the windows, after checking each; method names are kept lowercased, as calls are routed.
    pub fn set(&self, windows: Vec<Window>) -> Result<(), String> {
        if windows.len() > MAX_WINDOWS {
            return Err(format!("at most {MAX_WINDOWS} fault windows, got {}", windows.len()));
        }
        let mut checked = Vec::with_capacity(windows.len());
        for (i, mut window) in windows.into_iter().enumerate() {
            validate(&window.effect).map_err(|e| format!("windows[{i}]: {e}"))?;
            window.methods.iter_mut().for_each(|m| *m = m.to_ascii_lowercase());
            checked.push(window);
        }
        let mut current = lock(&self.windows);
        self.armed.store(!checked.is_empty(), Ordering::Release);
        *current = checked;
        Ok(())
    }

    pub fn windows(&self) -> Vec<Window> {
        lock(&self.windows).clone()
    }

    /// What a call of `method` (lowercase) meets at `now_us`: the first window open then that names it.
    pub fn check(&self, method: &str, now_us: u64) -> Option<Injected> {
        if !self.armed.load(Ordering::Acquire) {
            return None;
        }
        let windows = lock(&self.windows);
        let window = windows.iter().find(|w| w.is_open(now_us) && w.applies_to(method))?;
        Some(match &window.effect {
            Effect::Error { error_code, description, retry_after } => {
                Injected::Error(error(*error_code, description.as_deref(), *retry_after))
            }
            Effect::Delay { delay_ms } => Injected::Delay(Duration::from_millis(*delay_ms)),
        })
    }
}

impl Window {
    fn is_open(&self, now_us: u64) -> bool {
        self.start_us <= now_us && now_us < self.start_us.saturating_add(self.duration_ms.saturating_mul(1000))
    }

    fn applies_to(&self, method: &str) -> bool {
        self.methods.is_empty() || self.methods.iter().any(|m| m == method)
    }
}

fn validate(effect: &Effect) -> Result<(), String> {
    match effect {
        Effect::Error { error_code, retry_after, .. } => {
            if !(400..=599).contains(error_code) {
                return Err(format!("error_code must lie between 400 and 599, got {error_code}"));
            }
            if retry_after.is_some() && *error_code != 429 {
                return Err("retry_after only goes with error_code 429".into());
            }
            Ok(())
        }
        Effect::Delay { delay_ms } if *delay_ms > MAX_DELAY_MS => {
            Err(format!("delay_ms must be at most {MAX_DELAY_MS}, got {delay_ms}"))
        }
        Effect::Delay { .. } => Ok(()),
    }
}

/// The error a window answers: Telegram's own texts for the codes an outage or a flood wait produces.
fn error(code: u16, description: Option<&str>, retry_after: Option<u64>) -> ApiError {
    if code == 429 && description.is_none() {
        return ApiError::too_many_requests(retry_after.unwrap_or(5));
    }
    let text = description.unwrap_or(match code {
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        400 => "Bad Request",
        403 => "Forbidden",
        _ => "Injected fault",
    });
    ApiError { code, description: text.to_string(), retry_after: (code == 429).then(|| retry_after.unwrap_or(5)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 1_700_000_000_000_000;

    fn window(methods: &[&str], start_ms: u64, duration_ms: u64, effect: Effect) -> Window {
        let methods = methods.iter().map(|m| m.to_string()).collect();
        Window { methods, start_us: T + start_ms * 1000, duration_ms, effect }
    }

    /// Sets `windows` and checks what each `(method, at_ms)` call meets.
    fn check(windows: Vec<Window>, calls: &[(&str, u64, Option<Injected>)]) {
        let faults = Faults::default();
        faults.set(windows).unwrap();
        for (method, at_ms, expected) in calls {
            assert_eq!(&faults.check(method, T + at_ms * 1000), expected, "{method} at {at_ms} ms");
        }
    }

    #[test]
    fn windows_are_half_open_and_name_their_methods() {
        let bad_gateway = ApiError { code: 502, description: "Bad Gateway".into(), retry_after: None };
        let outage = Effect::Error { error_code: 502, description: None, retry_after: None };
        check(
            vec![window(&["sendMessage"], 100, 50, outage)],
            &[
                ("sendmessage", 99, None),
                ("sendmessage", 100, Some(Injected::Error(bad_gateway.clone()))),
                ("sendmessage", 149, Some(Injected::Error(bad_gateway))),
                ("sendmessage", 150, None),
                ("getupdates", 120, None),
            ],
        );
    }

    #[test]
    fn an_empty_method_list_means_every_method_and_the_first_open_window_wins() {
        let slow = Effect::Delay { delay_ms: 300 };
        let flood = Effect::Error { error_code: 429, description: None, retry_after: Some(7) };
        check(
            vec![window(&[], 0, 1000, slow), window(&[], 0, 2000, flood)],
            &[
                ("getupdates", 10, Some(Injected::Delay(Duration::from_millis(300)))),
                ("answercallbackquery", 1500, Some(Injected::Error(ApiError::too_many_requests(7)))),
                ("sendmessage", 2000, None),
            ],
        );
    }

    #[test]
    fn bad_windows_are_refused_and_change_nothing() {
        let faults = Faults::default();
        let slow = window(&[], 0, 1000, Effect::Delay { delay_ms: 10 });
        faults.set(vec![slow.clone()]).unwrap();
        let refused = [
            (Effect::Error { error_code: 200, description: None, retry_after: None }, "between 400 and 599"),
            (Effect::Error { error_code: 500, description: None, retry_after: Some(3) }, "only goes with"),
            (Effect::Delay { delay_ms: MAX_DELAY_MS + 1 }, "at most"),
        ];
        for (effect, message) in refused {
            let error = faults.set(vec![window(&[], 0, 10, effect)]).unwrap_err();
            assert!(error.starts_with("windows[0]: ") && error.contains(message), "{error}");
        }
        assert_eq!(faults.windows(), vec![slow]);
        faults.set(Vec::new()).unwrap();
        assert_eq!(faults.check("getme", T), None);
    }

    #[test]
    fn errors_carry_telegram_texts_or_the_given_one() {
        assert_eq!(error(500, None, None).description, "Internal Server Error");
        assert_eq!(error(429, None, None), ApiError::too_many_requests(5));
        assert_eq!(
            error(503, Some("Service Unavailable: restarting"), None).description,
            "Service Unavailable: restarting"
        );
        let custom = error(429, Some("Too Many Requests: retry after 9"), Some(9));
        assert_eq!((custom.code, custom.retry_after), (429, Some(9)));
    }
}
