//! A literal every match of a regular expression must contain, for the candidate index.
//!
//! Deliberately small and conservative: it reads the expression's top level only (groups,
//! classes and escapes other than escaped punctuation end a literal run), gives up on top-level
//! alternation and on inline flags other than a leading `(?flags)`, and drops a character made
//! optional by `?`, `*` or `{`. The longest run left is returned, lowercased. When in doubt it
//! returns `None`, and the rule is indexed by its field's presence instead.

/// The longest literal every match of `re` contains, lowercased; `icase` when the expression
/// matches case-insensitively (the `i` modifier). `None` when none is known.
pub(crate) fn required(re: &str, icase: bool) -> Option<String> {
    let mut chars = re.chars().peekable();
    let mut icase = icase;
    // A leading `(?flags)` group sets flags for the whole expression.
    if re.starts_with("(?") {
        let end = re.find(')')?;
        let flags = &re[2..end];
        if flags.contains(':') || flags.contains('x') || flags.contains('-') {
            // A non-capturing group or verbose mode: not read here.
            return None;
        }
        if !flags
            .chars()
            .all(|c| matches!(c, 'i' | 'm' | 's' | 'U' | 'u' | 'R'))
        {
            return None;
        }
        icase |= flags.contains('i');
        chars = re[end + 1..].chars().peekable();
    }
    let mut runs: Vec<String> = Vec::new();
    let mut run = String::new();
    let mut depth = 0usize;
    let end_run = |run: &mut String, runs: &mut Vec<String>| {
        if !run.is_empty() {
            runs.push(std::mem::take(run));
        }
    };
    while let Some(c) = chars.next() {
        if depth > 0 {
            match c {
                '\\' => {
                    chars.next();
                }
                '(' => depth += 1,
                ')' => depth -= 1,
                '[' => skip_class(&mut chars)?,
                _ => {}
            }
            continue;
        }
        match c {
            '\\' => match chars.next()? {
                e if e.is_ascii_alphanumeric() => {
                    // A class (`\d`), an assertion (`\b`) or a code (`\x41`, `\n`): unknown
                    // text. Codes with arguments cannot be skipped safely.
                    if matches!(e, 'x' | 'u' | 'U' | 'p' | 'P' | '0'..='9') {
                        return None;
                    }
                    end_run(&mut run, &mut runs);
                }
                e => push_char(e, icase, &mut run, &mut runs),
            },
            '(' => {
                if chars.peek() == Some(&'?') {
                    // Only groups whose content is skipped are fine; inline flags are not.
                    let rest: String = chars.clone().take(3).collect();
                    if !(rest.starts_with("?:")
                        || rest.starts_with("?P<")
                        || rest.starts_with("?<"))
                    {
                        return None;
                    }
                }
                end_run(&mut run, &mut runs);
                depth += 1;
            }
            ')' => return None,
            '|' => return None,
            '[' => {
                end_run(&mut run, &mut runs);
                skip_class(&mut chars)?;
            }
            '?' | '*' => {
                // The character before is optional.
                run.pop();
                end_run(&mut run, &mut runs);
            }
            '{' => {
                run.pop();
                end_run(&mut run, &mut runs);
                for c in chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                }
            }
            '+' | '.' | '^' | '$' => end_run(&mut run, &mut runs),
            c => push_char(c, icase, &mut run, &mut runs),
        }
    }
    if depth != 0 {
        return None;
    }
    end_run(&mut run, &mut runs);
    runs.into_iter()
        .max_by_key(String::len)
        .map(|r| r.chars().flat_map(char::to_lowercase).collect())
}

/// Add a literal character to the run. Case-insensitively, a character whose case variants
/// include one that lowercases elsewhere (`k` and the Kelvin sign, `s` and the long s, any
/// non-ASCII letter) ends the run instead: the lowercased text might not hold it.
fn push_char(c: char, icase: bool, run: &mut String, runs: &mut Vec<String>) {
    if icase && (!c.is_ascii() || matches!(c.to_ascii_lowercase(), 'k' | 's')) {
        if !run.is_empty() {
            runs.push(std::mem::take(run));
        }
        return;
    }
    run.push(c);
}

/// Skip a character class up to its closing `]` (a `]` first in the class is literal).
fn skip_class(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<()> {
    let mut first = true;
    if chars.peek() == Some(&'^') {
        chars.next();
    }
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next()?;
            }
            '[' => skip_class(chars)?,
            ']' if !first => return Some(()),
            _ => {}
        }
        first = false;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_longest_required_run() {
        assert_eq!(
            required(r"\$PSHome\[\s*\d{1,3}\s*\]\s*\+\s*\$PSHome\[", false).as_deref(),
            Some("$pshome[")
        );
        assert_eq!(
            required(r"cmd.{0,5}(?:/c|/r).+powershell.+", false).as_deref(),
            Some("powershell")
        );
        assert_eq!(required(r"abcd?ef", false).as_deref(), Some("abc"));
        assert_eq!(required(r"^[a-z]{8}\.exe$", false).as_deref(), Some(".exe"));
        assert_eq!(required(r"ab+cde", false).as_deref(), Some("cde"));
        assert_eq!(
            required(r"(?i)\\windows\\temp", false).as_deref(),
            Some("\\window")
        );
        assert_eq!(
            required(r"\\Windows\\Temp", true).as_deref(),
            Some("\\window")
        );
        assert_eq!(required(r"[]x]yyy", false).as_deref(), Some("yyy"));
    }

    #[test]
    fn gives_up_when_unsure() {
        assert_eq!(required(r"abc|def", false), None);
        assert_eq!(required(r"abc(?i)def", false), None);
        assert_eq!(required(r"\x41\x42", false), None);
        assert_eq!(required(r"(?x) a b c", false), None);
        assert_eq!(required(r"[abc", false), None);
        assert_eq!(required(r".*", false), None);
    }

    /// Every literal found must occur in texts the expression matches.
    #[test]
    fn found_literals_occur_in_matches() {
        for (re, text) in [
            (
                r"\$PSHome\[\s*1\s*\]\s*\+\s*\$PSHome\[",
                "$PSHome[ 1 ] + $PSHome[",
            ),
            (r"(?i)powershell.+-enc", "POWERSHELL.exe -ENC abc"),
            (r"a(bc)?d+e", "adde"),
            (r"x{2,}yz", "xxxyz"),
        ] {
            let compiled = regex::Regex::new(re).expect("valid");
            assert!(compiled.is_match(text), "{re}");
            let lit = required(re, false).expect("a literal");
            assert!(text.to_lowercase().contains(&lit), "{re}: {lit}");
        }
    }
}
