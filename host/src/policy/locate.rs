//! Line numbers of YAML paths such as `rules[2].pluginLimits.db-url`, so every policy error can say
//! where to look. serde_yaml_ng keeps no spans in a `Value`, so this reads the indentation of
//! block-style YAML (what people write by hand and what Helm renders). Entries written in flow
//! style (`[a, b]`, `{k: v}`) get the line of their key; an unknown path gets its nearest parent's.

use std::collections::HashMap;

/// Path → 1-based line of the key or `-` that starts it.
#[derive(Debug, Default, Clone)]
pub(crate) struct Locator {
    lines: HashMap<String, usize>,
}

struct Frame {
    column: usize,
    path: String,
    /// A `- ` item (its mapping keys sit deeper than the dash).
    item: bool,
    /// Items seen directly under this node.
    items: usize,
}

impl Locator {
    /// Indexes every key and list item of `text`.
    pub(crate) fn new(text: &str) -> Self {
        let mut lines = HashMap::new();
        let mut stack: Vec<Frame> = Vec::new();
        for (n, raw) in text.lines().enumerate() {
            let line_no = n + 1;
            let content = strip_comment(raw);
            let trimmed = content.trim_start();
            if trimmed.is_empty() || trimmed.starts_with("---") || trimmed.starts_with("...") {
                continue;
            }
            let mut column = content.len() - trimmed.len();
            let mut rest = trimmed;
            // A line may open several items and a key: `- - key: v` or `- key: v`.
            while rest == "-" || rest.starts_with("- ") {
                while stack
                    .last()
                    .is_some_and(|f| f.column > column || (f.column == column && f.item))
                {
                    stack.pop();
                }
                let parent = stack.last_mut();
                let (base, index) = match parent {
                    Some(p) => {
                        p.items += 1;
                        (p.path.clone(), p.items - 1)
                    }
                    None => (String::new(), 0),
                };
                let path = format!("{base}[{index}]");
                lines.entry(path.clone()).or_insert(line_no);
                stack.push(Frame {
                    column,
                    path,
                    item: true,
                    items: 0,
                });
                let after = &rest[1..];
                let inner = after.trim_start();
                column += 1 + (after.len() - inner.len());
                rest = inner;
            }
            let Some(key) = key_of(rest) else { continue };
            while stack.last().is_some_and(|f| f.column >= column) {
                stack.pop();
            }
            let path = match stack.last() {
                Some(p) => format!("{}.{key}", p.path),
                None => key.to_owned(),
            };
            lines.entry(path.clone()).or_insert(line_no);
            stack.push(Frame {
                column,
                path,
                item: false,
                items: 0,
            });
        }
        Self { lines }
    }

    /// The line of `path`, else of its nearest indexed parent; `None` for an empty document.
    pub(crate) fn line(&self, path: &str) -> Option<usize> {
        let mut p = path;
        loop {
            if let Some(l) = self.lines.get(p) {
                return Some(*l);
            }
            let cut = p.rfind(['.', '['])?;
            p = &p[..cut];
        }
    }
}

/// The key of a `key: value` / `key:` line (quotes removed).
fn key_of(s: &str) -> Option<&str> {
    let (key, after) = if let Some(q) = s.strip_prefix('"') {
        let end = q.find('"')?;
        (&q[..end], &q[end + 1..])
    } else if let Some(q) = s.strip_prefix('\'') {
        let end = q.find('\'')?;
        (&q[..end], &q[end + 1..])
    } else {
        let end = s
            .find(": ")
            .or_else(|| s.ends_with(':').then(|| s.len() - 1))?;
        (&s[..end], &s[end..])
    };
    let after = after.strip_prefix(':')?;
    (after.is_empty() || after.starts_with(' ')).then_some(key.trim())
}

/// The line without a trailing `# comment` (a `#` outside quotes, after a space or at the start).
fn strip_comment(line: &str) -> &str {
    let (mut single, mut double) = (false, false);
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && prev.is_whitespace() => return &line[..i],
            _ => {}
        }
        prev = c;
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_keys_and_items_in_both_list_styles() {
        let text = "\
apiVersion: v1 # comment
rules:
  - name: a
    namespaces: [x, y]
    pluginLimits:
      db-url:
        memoryMiB: 8
  - name: b
    credentialModes:
    - podIdentity
    - nodeRole
default:
  allowedPlugins:
    - \"jmespath\"
";
        let l = Locator::new(text);
        assert_eq!(l.line("apiVersion"), Some(1));
        assert_eq!(l.line("rules"), Some(2));
        assert_eq!(l.line("rules[0]"), Some(3));
        assert_eq!(l.line("rules[0].name"), Some(3));
        assert_eq!(l.line("rules[0].namespaces[1]"), Some(4));
        assert_eq!(l.line("rules[0].pluginLimits.db-url.memoryMiB"), Some(7));
        assert_eq!(l.line("rules[1]"), Some(8));
        assert_eq!(l.line("rules[1].credentialModes[1]"), Some(11));
        assert_eq!(l.line("default.allowedPlugins[0]"), Some(14));
        assert_eq!(l.line("default.nothing.here"), Some(12));
        assert_eq!(Locator::new("").line("x"), None);
    }
}
