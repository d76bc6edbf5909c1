//! The config text as a diagnostic shows it: the same lines and structure, but every string value,
//! every comment and every key that is not a field name of the schema replaced by `…`, because any
//! of them could be a secret written by mistake (a license pasted as a key is still a license).
//! Numbers, booleans, null, the schema's own words and the structure (block and flow alike) stay,
//! so `replicas: 0` and `{quorum: 5}` still read as written.
//!
//! A problem's place is a line and column in the *original* file (what `-o json` prints); the
//! shown text is shorter wherever a value was hidden, so every shown line keeps a map from original
//! column to shown column, and labels land on the same key in both.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

/// The most characters of one line a snippet shows (a longer line is cut around the problem).
pub const MAX_SHOWN_LINE: usize = 200;

/// Lines shown before and after a problem's line (miette's default context).
const SNIPPET_CONTEXT: usize = 1;

/// The redacted text and, per line, where each original character went.
#[derive(Debug, Clone)]
pub struct Shown {
    text: String,
    /// Per line: byte offset of the line in `text`, and for each original char index the shown
    /// char index (one extra entry for the end of the line).
    lines: Vec<(usize, Vec<usize>)>,
}

/// What a line starts inside of, carried over from the line before.
#[derive(Clone, Copy)]
enum Carry {
    Nothing,
    /// Content of a `|` or `>` block scalar whose key is indented this much.
    Block(usize),
    /// A quoted string that did not close on its line.
    Quoted(char),
}

impl Shown {
    /// Redacts `text` line by line.
    pub fn new(text: &str) -> Self {
        let mut out = String::with_capacity(text.len());
        let mut lines = Vec::new();
        let mut carry = Carry::Nothing;
        let mut depth = 0usize;
        for line in text.split_inclusive('\n') {
            let body = line.strip_suffix('\n').unwrap_or(line);
            let start = out.len();
            let mut writer = LineWriter::new(body);
            carry = writer.redact(carry, &mut depth);
            out.push_str(&writer.out);
            out.push_str(&line[body.len()..]);
            lines.push((start, writer.map));
        }
        Shown { text: out, lines }
    }

    /// The text to show.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The same text for a snippet about the place at 1-based `line`/`column` of the original:
    /// only the lines a snippet reads (that line and [`SNIPPET_CONTEXT`] either side), each at most
    /// [`MAX_SHOWN_LINE`] characters: the problem's line cut around the column, the others cut at
    /// their end, a cut marked with `…`. Whatever the size of the file, a snippet stays small.
    pub fn around(&self, line: u64, column: u64) -> Shown {
        let Some(target) = usize::try_from(line).ok().and_then(|l| l.checked_sub(1)) else {
            return self.clone();
        };
        let mut text = String::new();
        let mut lines = Vec::with_capacity(self.lines.len());
        for (index, (offset, map)) in self.lines.iter().enumerate() {
            let start = text.len();
            let near = index.abs_diff(target) <= SNIPPET_CONTEXT;
            let full = &self.text[*offset..];
            let full = &full[..full.find('\n').map_or(full.len(), |n| n + 1)];
            let body = full.strip_suffix('\n').unwrap_or(full);
            let chars = body.chars().count();
            if !near {
                // Far lines are never read by the snippet: empty, so the offsets stay cheap.
                text.push_str(&full[body.len()..]);
                lines.push((start, vec![0]));
                continue;
            }
            let (from, to) = if chars <= MAX_SHOWN_LINE {
                (0, chars)
            } else if index == target {
                let shown_col = map[usize::try_from(column.saturating_sub(1))
                    .unwrap_or(usize::MAX)
                    .min(map.len() - 1)];
                let from = shown_col
                    .saturating_sub(MAX_SHOWN_LINE / 2)
                    .min(chars - (MAX_SHOWN_LINE - 2));
                (from, from + MAX_SHOWN_LINE - 2)
            } else {
                (0, MAX_SHOWN_LINE - 1)
            };
            let lead = usize::from(from > 0);
            if from > 0 {
                text.push('…');
            }
            text.extend(body.chars().skip(from).take(to - from));
            if to < chars {
                text.push('…');
            }
            text.push_str(&full[body.len()..]);
            let kept = to - from + lead + usize::from(to < chars);
            let map = map
                .iter()
                .map(|c| (c.saturating_sub(from) + lead).min(kept))
                .collect();
            lines.push((start, map));
        }
        Shown { text, lines }
    }

    /// The span of the key (or value) written at 1-based `line`/`column` of the original text:
    /// from there to the end of the key.
    pub fn span(&self, line: u64, column: u64) -> Option<SourceSpan> {
        let (offset, map) = self
            .lines
            .get(usize::try_from(line).ok()?.checked_sub(1)?)?;
        let original = usize::try_from(column.saturating_sub(1)).ok()?;
        let shown_col = map[original.min(map.len() - 1)];
        let content = &self.text[*offset..];
        let content = &content[..content.find('\n').unwrap_or(content.len())];
        let start: usize = content.chars().take(shown_col).map(char::len_utf8).sum();
        let rest = &content[start..];
        let length = rest.find([':', ',', '}']).unwrap_or(rest.len()).max(1);
        Some(SourceSpan::new((offset + start).into(), length))
    }
}

/// The shown text as miette reads it, with one change: the `file:line:column` of a report names
/// the column in the original file (the one `-o json` prints), not in the shorter shown line.
impl SourceCode for Shown {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner = self
            .text
            .read_span(span, context_lines_before, context_lines_after)?;
        // Only the header reads without context lines; snippets keep the shown text's columns.
        if context_lines_before != 0 || context_lines_after != 0 {
            return Ok(inner);
        }
        let column = self
            .lines
            .get(inner.line())
            .map(|(offset, map)| {
                let line = &self.text[*offset..];
                let shown = line[..inner.column().min(line.len())].chars().count();
                map.iter().position(|c| *c == shown).unwrap_or(shown)
            })
            .unwrap_or(inner.column());
        Ok(Box::new(MietteSpanContents::new(
            inner.data(),
            *inner.span(),
            inner.line(),
            column,
            inner.line_count(),
        )))
    }
}

/// Every field name the config and fleet schemas know: the only keys shown as written.
fn schema_words() -> &'static BTreeSet<String> {
    static WORDS: OnceLock<BTreeSet<String>> = OnceLock::new();
    WORDS.get_or_init(|| {
        fn collect(value: &serde_json::Value, words: &mut BTreeSet<String>) {
            match value {
                serde_json::Value::Object(map) => {
                    if let Some(serde_json::Value::Object(properties)) = map.get("properties") {
                        words.extend(properties.keys().cloned());
                    }
                    map.values().for_each(|v| collect(v, words));
                }
                serde_json::Value::Array(items) => items.iter().for_each(|v| collect(v, words)),
                _ => {}
            }
        }
        let mut words = BTreeSet::new();
        // A fleet file holds deployments (`base`, `overrides`), so its schema's words are known too.
        for schema in [
            gatehouse_model::json_schema(),
            gatehouse_model::fleet_json_schema(),
        ] {
            let schema: serde_json::Value =
                serde_json::from_str(&schema).expect("the model's schema is JSON");
            collect(&schema, &mut words);
        }
        words
    })
}

/// A value that is shown as written: it cannot be a secret.
fn harmless(value: &str) -> bool {
    let v = value.trim();
    v.is_empty()
        || v.parse::<f64>().is_ok()
        || matches!(
            v,
            "true" | "false" | "null" | "~" | "|" | ">" | "|-" | ">-" | "|+" | ">+"
        )
}

struct LineWriter {
    chars: Vec<char>,
    out: String,
    shown: usize,
    map: Vec<usize>,
}

impl LineWriter {
    fn new(body: &str) -> Self {
        let chars: Vec<char> = body.chars().collect();
        let map = vec![0; chars.len() + 1];
        LineWriter {
            chars,
            out: String::new(),
            shown: 0,
            map,
        }
    }

    fn keep(&mut self, from: usize, to: usize) {
        for k in from..to {
            self.map[k] = self.shown;
            self.out.push(self.chars[k]);
            self.shown += 1;
        }
    }

    fn hide(&mut self, from: usize, to: usize, with: &str) {
        for k in from..to {
            self.map[k] = self.shown;
        }
        self.out.push_str(with);
        self.shown += with.chars().count();
    }

    fn finish(&mut self) {
        let end = self.chars.len();
        self.map[end] = self.shown;
    }

    /// End (exclusive) of the quoted string whose body starts at `from`, or `None` if it does not
    /// close on this line.
    fn close_quote(&self, from: usize, quote: char) -> Option<usize> {
        let mut k = from;
        while k < self.chars.len() {
            let c = self.chars[k];
            if quote == '"' && c == '\\' {
                k += 2;
                continue;
            }
            if c == quote {
                if quote == '\'' && self.chars.get(k + 1) == Some(&'\'') {
                    k += 2;
                    continue;
                }
                return Some(k + 1);
            }
            k += 1;
        }
        None
    }

    fn is_space(&self, k: usize) -> bool {
        self.chars.get(k).is_none_or(|c| c.is_whitespace())
    }

    /// A `:` at `k` that ends a key.
    fn key_colon(&self, k: usize, depth: usize) -> bool {
        self.chars.get(k) == Some(&':')
            && (self.is_space(k + 1)
                || (depth > 0 && matches!(self.chars.get(k + 1), Some(',' | '}' | ']'))))
    }

    /// Whether a plain (unquoted) scalar ends before `k`: at a key's colon, a comment, or in a
    /// flow collection at its punctuation.
    fn ends_plain(&self, k: usize, depth: usize) -> bool {
        let c = self.chars[k];
        self.key_colon(k, depth)
            || (depth > 0 && matches!(c, ',' | '{' | '}' | '[' | ']'))
            || (c == '#' && self.is_space(k.wrapping_sub(1)))
    }

    fn redact(&mut self, carry: Carry, depth: &mut usize) -> Carry {
        let n = self.chars.len();
        let indent = self.chars.iter().take_while(|c| **c == ' ').count();
        let mut i = 0;
        match carry {
            Carry::Block(key_indent) if indent > key_indent || indent == n => {
                self.keep(0, indent);
                if indent < n {
                    self.hide(indent, n, "…");
                }
                self.finish();
                return carry;
            }
            Carry::Quoted(quote) => {
                let end = self.close_quote(0, quote);
                self.keep(0, indent);
                self.hide(indent, end.unwrap_or(n), "…");
                let Some(end) = end else {
                    self.finish();
                    return carry;
                };
                i = end;
            }
            _ => {}
        }
        let mut next = Carry::Nothing;
        while i < n {
            let c = self.chars[i];
            if c.is_whitespace() {
                self.keep(i, i + 1);
                i += 1;
            } else if c == '#' && self.is_space(i.wrapping_sub(1)) {
                self.hide(i, n, "# …");
                i = n;
            } else if c == '-' && *depth == 0 && self.is_space(i + 1) {
                self.keep(i, i + 1);
                i += 1;
            } else if matches!(c, '{' | '[') {
                *depth += 1;
                self.keep(i, i + 1);
                i += 1;
            } else if *depth > 0 && matches!(c, '}' | ']' | ',') {
                if c != ',' {
                    *depth -= 1;
                }
                self.keep(i, i + 1);
                i += 1;
            } else {
                let end = if c == '"' || c == '\'' {
                    match self.close_quote(i + 1, c) {
                        Some(end) => end,
                        None => {
                            next = Carry::Quoted(c);
                            n
                        }
                    }
                } else {
                    let mut k = i;
                    while k < n && !self.ends_plain(k, *depth) {
                        k += 1;
                    }
                    while k > i && self.chars[k - 1].is_whitespace() {
                        k -= 1;
                    }
                    k
                };
                let mut after = end;
                while after < n && self.chars[after] == ' ' {
                    after += 1;
                }
                if self.key_colon(after, *depth) {
                    // A key is shown when it is one of the schema's words.
                    let key: String = self.chars[i..end].iter().collect();
                    if schema_words().contains(key.trim_matches(['"', '\''])) {
                        self.keep(i, end);
                    } else {
                        self.hide(i, end, "…");
                    }
                    self.keep(end, after + 1);
                    i = after + 1;
                } else {
                    let token: String = self.chars[i..end].iter().collect();
                    if harmless(&token) {
                        self.keep(i, end);
                        if *depth == 0 && (token.starts_with('|') || token.starts_with('>')) {
                            next = Carry::Block(indent);
                        }
                    } else {
                        self.hide(i, end, "…");
                    }
                    i = end;
                }
            }
        }
        self.finish();
        next
    }
}

#[cfg(test)]
mod tests {
    use super::Shown;

    fn label(shown: &Shown, line: u64, column: u64) -> String {
        let span = shown.span(line, column).unwrap();
        shown.text()[span.offset()..span.offset() + span.len()].to_string()
    }

    #[test]
    fn every_string_and_comment_is_hidden_and_the_lines_stay() {
        let text = "redis:\n  passwd: \"hunter22\" # was: s3cret\n  replicas: 0\n  plugins:\n    - url: https://x/y\n    - hunter23\n# token: abc\n  GH-LICENSE-1: 1\n";
        let shown = Shown::new(text);
        for secret in ["hunter22", "s3cret", "https://x/y", "hunter23", "abc"] {
            assert!(
                !shown.text().contains(secret),
                "{secret} in {}",
                shown.text()
            );
        }
        assert!(
            shown.text().contains("  replicas: 0\n") && shown.text().contains("    - url: …\n"),
            "{}",
            shown.text()
        );
        assert_eq!(shown.text().lines().count(), text.lines().count());
        assert_eq!(label(&shown, 3, 3), "replicas");
        assert!(shown.span(9, 1).is_none());
    }

    #[test]
    fn flow_mappings_keep_the_schema_s_keys_and_labels_land_on_the_original_column() {
        let text = "redis: {password: \"hunter2\", note: s3cret thing, sentinel: {quorum: 5}}\n";
        let shown = Shown::new(text);
        assert!(!shown.text().contains("hunter2") && !shown.text().contains("s3cret"));
        assert_eq!(
            shown.text(),
            "redis: {password: …, …: …, sentinel: {quorum: 5}}\n"
        );
        let quorum = text.find("quorum").unwrap() as u64 + 1;
        assert_eq!(label(&shown, 1, quorum), "quorum");
        let sentinel = text.find("sentinel").unwrap() as u64 + 1;
        assert_eq!(label(&shown, 1, sentinel), "sentinel");

        // The report's header names the original column.
        use miette::SourceCode;
        let span = shown.span(1, quorum).unwrap();
        let header = shown.read_span(&span, 0, 0).unwrap();
        assert_eq!(
            (header.line() + 1, header.column() + 1),
            (1, quorum as usize)
        );
    }

    #[test]
    fn multi_line_flow_maps_block_scalars_and_open_quotes_are_followed() {
        let text = "redis: {replicas: 2,\n  token: abc}\nnote: |\n  hunter2: x\n  more\nafter: \"two\n  lines: s3cret\"\nreplicas: 1\n";
        let shown = Shown::new(text);
        for secret in ["abc", "hunter2", "more", "two", "s3cret"] {
            assert!(
                !shown.text().contains(secret),
                "{secret} in {}",
                shown.text()
            );
        }
        assert_eq!(label(&shown, 2, 3), "…");
        assert_eq!(label(&shown, 8, 1), "replicas");
        assert!(
            shown.text().ends_with("\nreplicas: 1\n"),
            "{}",
            shown.text()
        );
    }

    #[test]
    fn a_long_line_is_cut_around_the_column_and_far_lines_are_not_carried() {
        let far = format!("# {}\n", "c".repeat(50_000));
        let long = format!(
            "redis: {{{}sentinel: {{quorum: 5}}}}\n",
            "replicas: 2, ".repeat(20_000)
        );
        let text = format!("{far}namespace: x\n{long}gateway: {{}}\n");
        let shown = Shown::new(&text);
        let column = long.find("quorum").unwrap() as u64 + 1;
        let cut = shown.around(3, column);
        assert!(cut.text().len() < 1_000, "{}", cut.text().len());
        for line in cut.text().lines() {
            assert!(line.chars().count() <= super::MAX_SHOWN_LINE, "{line}");
        }
        assert_eq!(cut.text().lines().count(), text.lines().count());
        // The label still lands on the key, and the header still names the original column.
        assert_eq!(label(&cut, 3, column), "quorum");
        let line = cut.text().lines().nth(2).unwrap();
        assert!(
            line.starts_with('…') && line.ends_with("quorum: 5}}"),
            "{line}"
        );
        use miette::SourceCode;
        let span = cut.span(3, column).unwrap();
        let header = cut.read_span(&span, 0, 0).unwrap();
        assert_eq!(
            (header.line() + 1, header.column() + 1),
            (3, column as usize)
        );
        // A context line is cut at its end.
        let first = shown.around(2, 1);
        assert!(first.text().lines().nth(2).unwrap().ends_with('…'));
        // A short file is unchanged.
        let small = Shown::new("redis:\n  replicas: 0\n");
        assert_eq!(small.around(2, 3).text(), small.text());
    }
}
