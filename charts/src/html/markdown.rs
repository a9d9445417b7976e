//! The Markdown that `report.md` and `compare.md` use, as HTML: headings, paragraphs, `-` lists, `>` quotes,
//! pipe tables with their column alignment, and inline code, bold and links. It is not a general Markdown parser:
//! it reads what tgload writes, and everything it does not recognise stays text, escaped, so a name holding
//! markup or a `javascript:` link shows as the characters it is.

use std::fmt::Write;

use super::escape;

/// The document as HTML block elements.
pub fn to_html(markdown: &str) -> String {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut html = String::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim_end();
        if line.trim().is_empty() {
            i += 1;
        } else if let Some((level, title)) = heading(line) {
            let _ = writeln!(html, "<h{level}>{}</h{level}>", inline(title));
            i += 1;
        } else if is_table_start(&lines, i) {
            i = table(&lines, i, &mut html);
        } else if line.starts_with('>') {
            let quoted = take_while(&lines, &mut i, |l| l.starts_with('>'));
            let inner: Vec<&str> = quoted.iter().map(|l| l[1..].strip_prefix(' ').unwrap_or(&l[1..])).collect();
            let _ = writeln!(html, "<blockquote>\n{}</blockquote>", to_html(&inner.join("\n")));
        } else if line.starts_with("- ") {
            let items = take_while(&lines, &mut i, |l| l.starts_with("- "));
            html.push_str("<ul>\n");
            for item in items {
                let _ = writeln!(html, "<li>{}</li>", inline(&item[2..]));
            }
            html.push_str("</ul>\n");
        } else {
            let start = i;
            i += 1;
            while i < lines.len() && !starts_block(&lines, i) {
                i += 1;
            }
            let text: Vec<&str> = lines[start..i].iter().map(|l| l.trim()).collect();
            let _ = writeln!(html, "<p>{}</p>", inline(&text.join(" ")));
        }
    }
    html
}

fn heading(line: &str) -> Option<(usize, &str)> {
    let level = line.chars().take_while(|&c| c == '#').count();
    let title = line[level..].strip_prefix(' ')?;
    (1..=6).contains(&level).then_some((level, title.trim()))
}

/// Whether line `i` opens a block other than a paragraph, which therefore ends a paragraph before it.
fn starts_block(lines: &[&str], i: usize) -> bool {
    let line = lines[i];
    line.trim().is_empty()
        || heading(line).is_some()
        || line.starts_with('>')
        || line.starts_with("- ")
        || is_table_start(lines, i)
}

fn take_while<'a>(lines: &[&'a str], i: &mut usize, keep: impl Fn(&str) -> bool) -> Vec<&'a str> {
    let start = *i;
    while *i < lines.len() && keep(lines[*i]) {
        *i += 1;
    }
    lines[start..*i].to_vec()
}

fn is_table_start(lines: &[&str], i: usize) -> bool {
    lines[i].trim_start().starts_with('|') && lines.get(i + 1).is_some_and(|next| alignments(next).is_some())
}

/// A table's separator row (`|---|---:|:---:|`) as each column's alignment, or `None` if the line is not one.
fn alignments(line: &str) -> Option<Vec<&'static str>> {
    let cells = cells(line);
    let aligned = cells.iter().map(|cell| {
        let dashes = cell.trim_matches(':');
        if dashes.is_empty() || !dashes.chars().all(|c| c == '-') {
            return None;
        }
        Some(match (cell.starts_with(':'), cell.ends_with(':')) {
            (true, true) => "center",
            (false, true) => "right",
            _ => "left",
        })
    });
    let aligned: Option<Vec<&str>> = aligned.collect();
    aligned.filter(|a| !a.is_empty())
}

/// Writes the table that starts at line `i` and returns the line after it.
fn table(lines: &[&str], mut i: usize, html: &mut String) -> usize {
    let header = cells(lines[i]);
    let align = alignments(lines[i + 1]).unwrap_or_default();
    let cell = |tag: &str, n: usize, text: &str| {
        let side = align.get(n).copied().unwrap_or("left");
        format!("<{tag} class=\"{side}\">{}</{tag}>", inline(text))
    };
    html.push_str("<table>\n<thead><tr>");
    for (n, text) in header.iter().enumerate() {
        html.push_str(&cell("th", n, text));
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    i += 2;
    while i < lines.len() && lines[i].trim_start().starts_with('|') {
        html.push_str("<tr>");
        for (n, text) in cells(lines[i]).iter().enumerate() {
            html.push_str(&cell("td", n, text));
        }
        html.push_str("</tr>\n");
        i += 1;
    }
    html.push_str("</tbody>\n</table>\n");
    i
}

/// A table row's cells, trimmed; `\|` is a pipe inside a cell.
fn cells(line: &str) -> Vec<String> {
    let line = line.trim();
    let line = line.strip_prefix('|').unwrap_or(line);
    let line = line.strip_suffix('|').filter(|rest| !rest.ends_with('\\')).unwrap_or(line);
    let mut cells: Vec<String> = Vec::new();
    let mut cell = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cell.push('|');
                chars.next();
            }
            '|' => cells.push(std::mem::take(&mut cell)),
            c => cell.push(c),
        }
    }
    cells.push(cell);
    cells.iter().map(|cell| cell.trim().to_string()).collect()
}

/// Inline code, bold and relative links; the rest escaped.
pub fn inline(text: &str) -> String {
    let mut html = String::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if let Some((code, after)) = rest.strip_prefix('`').and_then(|r| r.split_once('`')) {
            let _ = write!(html, "<code>{}</code>", escape::text(code));
            rest = after;
        } else if let Some((bold, after)) = rest.strip_prefix("**").and_then(|r| r.split_once("**")) {
            let _ = write!(html, "<strong>{}</strong>", inline(bold));
            rest = after;
        } else if let Some((label, href, after)) = link(rest) {
            let _ = write!(html, "<a href=\"{}\">{}</a>", escape::text(href), inline(label));
            rest = after;
        } else {
            html.push_str(&escape::text(&rest[..c.len_utf8()]));
            rest = &rest[c.len_utf8()..];
        }
    }
    html
}

/// `[label](href)` at the start of `text`, for a relative `href` only (a file beside the report): a scheme could
/// make a name into a `javascript:` link.
fn link(text: &str) -> Option<(&str, &str, &str)> {
    let (label, after) = text.strip_prefix('[')?.split_once("](")?;
    let (href, after) = after.split_once(')')?;
    let relative = !href.is_empty() && !href.contains(':') && !href.contains(char::is_whitespace);
    relative.then_some((label, href, after))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(markdown: &str, expected: &str) {
        assert_eq!(to_html(markdown), expected, "from:\n{markdown}");
    }

    #[test]
    fn a_table_keeps_its_alignment_and_its_cells_inline_markup() {
        check(
            "## Latency (ms)\n\n| | p50 | `a\\|b` |\n|---|---:|:---:|\n| **e2e** | 1.5 | x |\n",
            "<h2>Latency (ms)</h2>\n<table>\n<thead><tr><th class=\"left\"></th><th class=\"right\">p50</th>\
             <th class=\"center\"><code>a|b</code></th></tr></thead>\n<tbody>\n<tr><td class=\"left\">\
             <strong>e2e</strong></td><td class=\"right\">1.5</td><td class=\"center\">x</td></tr>\n</tbody>\n\
             </table>\n",
        );
    }

    #[test]
    fn paragraphs_lists_and_quotes() {
        check(
            "one\ntwo\n\n- [latency](charts/latency.svg)\n- b\n> **Warning** x\n> - y\n",
            "<p>one two</p>\n<ul>\n<li><a href=\"charts/latency.svg\">latency</a></li>\n<li>b</li>\n</ul>\n\
             <blockquote>\n<p><strong>Warning</strong> x</p>\n<ul>\n<li>y</li>\n</ul>\n</blockquote>\n",
        );
    }

    #[test]
    fn markup_and_scheme_links_stay_text() {
        check(
            "# run: <script>alert(1)</script>\n\n[x](javascript:alert(1)) `<b>` **<i>**",
            "<h1>run: &lt;script&gt;alert(1)&lt;/script&gt;</h1>\n<p>[x](javascript:alert(1)) <code>&lt;b&gt;</code> \
             <strong>&lt;i&gt;</strong></p>\n",
        );
    }

    #[test]
    fn an_unclosed_backtick_or_bold_is_text() {
        assert_eq!(inline("a ` b ** c"), "a ` b ** c");
    }
}
