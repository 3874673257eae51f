//! The wasm-bindgen glue (`quizpulse.js`), as the pages and the worker download it:
//! without its comment lines and indentation. wasm-bindgen writes a readable file
//! (a comment over every cast intrinsic, four spaces per level); every page and the
//! worker load it, and the size budget counts it.

/// `js` without its blank lines, its whole-line `//` comments and the leading
/// whitespace of every other line; the code itself is untouched (line breaks stay, so
/// automatic semicolon insertion reads it as before). `None` when the text has
/// something this cannot see through safely: a template literal or a string that
/// spans lines, or a block comment.
pub fn compact(js: &str) -> Option<String> {
    let mut out = String::with_capacity(js.len());
    for line in js.lines() {
        let code = line.trim_start();
        if code.contains("/*") || code.matches('`').count() % 2 != 0 || code.ends_with('\\') {
            return None;
        }
        if code.trim_end().is_empty() || code.starts_with("//") {
            continue;
        }
        out.push_str(code);
        out.push('\n');
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::compact;

    #[test]
    fn drops_comment_lines_and_indentation_and_keeps_code() {
        let js = "export function a(x) {\n    // a comment\n\n    return `v ${x} // not a comment`;\n}\nconst s = 'http://x';\n";
        assert_eq!(
            compact(js).as_deref(),
            Some(
                "export function a(x) {\nreturn `v ${x} // not a comment`;\n}\nconst s = 'http://x';\n"
            )
        );
    }

    #[test]
    fn leaves_what_it_cannot_read_safely() {
        assert_eq!(compact("const t = `a\n    b`;\n"), None);
        assert_eq!(compact("/* block */\nf();\n"), None);
        assert_eq!(compact("const s = 'a\\\n    b';\n"), None);
    }
}
