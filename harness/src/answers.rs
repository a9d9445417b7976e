//! Checking what the bot answered against what a step expects, and capturing from it. Pure: it reads the
//! answer's calls as the mock reported them.

use crate::control::Answer;
use crate::scenario::{Capture, Expectation};

/// The longest stretch of the bot's text kept in an example of a wrong answer.
const MAX_SAID: usize = 120;

/// The texts (or captions) of an answer's calls, first first.
fn texts(answers: &[Answer]) -> impl Iterator<Item = &str> {
    answers.iter().filter_map(|a| a.text.as_deref())
}

/// The labels of every button on the answer's keyboards (inline or reply).
pub fn buttons(answer: &Answer) -> Vec<(String, Option<String>)> {
    let Some(markup) = &answer.reply_markup else { return Vec::new() };
    let rows = markup.get("inline_keyboard").or_else(|| markup.get("keyboard")).and_then(|k| k.as_array());
    rows.into_iter()
        .flatten()
        .filter_map(|row| row.as_array())
        .flatten()
        .filter_map(|button| {
            let label = button.get("text").and_then(|t| t.as_str())?;
            let data = button.get("callback_data").and_then(|d| d.as_str()).map(str::to_owned);
            Some((label.to_owned(), data))
        })
        .collect()
}

/// Whether `answers` (the answering call, then any follow-ups collected with it) are what `expect` asks for;
/// otherwise what was wrong, with what the bot said.
pub fn check(expect: &Expectation, answers: &[Answer], messages: Option<u32>) -> Result<(), String> {
    let said = || {
        let text: String = texts(answers).collect::<Vec<_>>().join(" | ");
        let text = if text.chars().count() > MAX_SAID {
            format!("{}…", text.chars().take(MAX_SAID).collect::<String>())
        } else {
            text
        };
        let method = answers.first().map_or("nothing", |a| a.method.as_str());
        format!("{method} {text:?}")
    };
    if let Some(method) = &expect.method {
        if !answers.iter().any(|a| &a.method == method) {
            return Err(format!("expected {method}, got {}", said()));
        }
    }
    if let Some(pattern) = &expect.text {
        if !texts(answers).any(|t| pattern.0.is_match(t)) {
            return Err(format!("expected text matching /{}/, got {}", pattern.0.as_str(), said()));
        }
    }
    if !expect.buttons.is_empty() {
        let labels: Vec<String> = answers.iter().flat_map(buttons).map(|(label, _)| label).collect();
        if let Some(missing) = expect.buttons.iter().find(|b| !labels.contains(b)) {
            return Err(format!("expected a button {missing:?}, the answer had {labels:?}: {}", said()));
        }
    }
    if let Some(wanted) = expect.messages {
        let got = messages.unwrap_or(1);
        if got < wanted {
            return Err(format!("expected {wanted} messages, got {got}: {}", said()));
        }
    }
    Ok(())
}

/// The capture's first group (or whole match) in the first text that has it.
pub fn capture(capture: &Capture, answers: &[Answer]) -> Option<String> {
    texts(answers).find_map(|text| {
        let found = capture.pattern.0.captures(text)?;
        found.get(1).or_else(|| found.get(0)).map(|m| m.as_str().to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Pattern;

    fn answer(method: &str, text: &str, buttons: &[&str]) -> Answer {
        let row: Vec<_> =
            buttons.iter().map(|b| serde_json::json!({"text": b, "callback_data": format!("d:{b}")})).collect();
        let markup = (!buttons.is_empty()).then(|| serde_json::json!({"inline_keyboard": [row]}));
        Answer { method: method.into(), message_id: Some(1), text: Some(text.into()), reply_markup: markup }
    }

    fn pattern(p: &str) -> Option<Pattern> {
        Some(Pattern(regex::Regex::new(p).unwrap()))
    }

    #[test]
    fn each_expectation_fires_on_a_wrong_answer_and_not_on_a_right_one() {
        let right = [answer("sendMessage", "Your order #42 is in", &["Pay", "Cancel"])];
        let expect = Expectation {
            text: pattern(r"order #\d+"),
            buttons: vec!["Pay".into()],
            method: Some("sendMessage".into()),
            messages: Some(1),
            quiet: None,
        };
        assert_eq!(check(&expect, &right, Some(1)), Ok(()));
        let sorry = [answer("sendMessage", "Sorry, something went wrong", &[])];
        let text = check(&expect, &sorry, Some(1)).unwrap_err();
        assert!(text.contains("expected text matching /order #\\d+/") && text.contains("Sorry"), "{text}");
        let photo = [answer("sendPhoto", "Your order #42 is in", &["Pay"])];
        assert!(check(&expect, &photo, Some(1)).unwrap_err().starts_with("expected sendMessage, got sendPhoto"));
        let no_pay = [answer("sendMessage", "Your order #42 is in", &["Cancel"])];
        assert!(check(&expect, &no_pay, Some(1)).unwrap_err().contains("expected a button \"Pay\""));
        let two = Expectation { messages: Some(2), ..Expectation::default() };
        assert!(check(&two, &right, Some(1)).unwrap_err().starts_with("expected 2 messages, got 1"));
        assert_eq!(check(&two, &right, Some(2)), Ok(()));
    }

    #[test]
    fn captures_take_the_first_group() {
        let said = [answer("sendMessage", "hello", &[]), answer("sendMessage", "order #42 placed", &[])];
        let order = Capture { name: "order".into(), pattern: pattern(r"order #(\d+)").unwrap() };
        assert_eq!(capture(&order, &said).as_deref(), Some("42"));
        let whole = Capture { name: "w".into(), pattern: pattern(r"h\w+").unwrap() };
        assert_eq!(capture(&whole, &said).as_deref(), Some("hello"));
        let none = Capture { name: "n".into(), pattern: pattern("zzz").unwrap() };
        assert_eq!(capture(&none, &said), None);
    }
}
