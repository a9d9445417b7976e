//! Escaping for the two places the HTML report puts outside text: HTML text and attribute values, and JSON inside
//! a `<script>` element. Every name that reaches the page (scenario, phase, fault window, action) goes through one
//! of these; nothing else does, because everything else is markup this crate wrote.

use serde_json::Value;

/// `text` safe as HTML text and as a quoted attribute value.
pub fn text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `value` as JSON that can sit inside `<script type="application/json">`: `<`, `>` and `&` occur only inside
/// JSON strings, where `\u003c` and friends mean the same to `JSON.parse`, and without them no `</script>` or
/// `<!--` in a name can end the element early.
pub fn json_in_script(value: &Value) -> String {
    let json = serde_json::to_string(value).unwrap_or_else(|_| "null".to_string());
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_a_name_stays_text() {
        assert_eq!(text(r#"<b a='1'>"x" & y</b>"#), "&lt;b a=&#39;1&#39;&gt;&quot;x&quot; &amp; y&lt;/b&gt;");
        assert_eq!(text("plain · ü"), "plain · ü");
    }

    #[test]
    fn a_script_end_tag_in_json_does_not_close_the_element_and_parses_back() {
        let value = serde_json::json!({"name": "</script><script>alert(1)</script> & <!--"});
        let escaped = json_in_script(&value);
        assert!(!escaped.contains('<') && !escaped.contains('>') && !escaped.contains('&'), "{escaped}");
        assert_eq!(serde_json::from_str::<Value>(&escaped).unwrap(), value);
    }
}
