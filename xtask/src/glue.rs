//! The wasm-bindgen glue (`quizpulse.js`) and the hand-written loaders, as the pages
//! and the worker download them: without their comment lines and indentation.
//! wasm-bindgen writes a readable file (a comment over every cast intrinsic, four
//! spaces per level), and the loaders explain themselves at length in the repository;
//! every page and the worker load them, and the size budget counts them.

/// `js` without its blank lines, its whole-line comments (`//`, or one `/* … */` on a
/// line of its own) and the leading whitespace of every other line; the code itself is
/// untouched (line breaks stay, so automatic semicolon insertion reads it as before).
/// `None` when the text has something this cannot see through safely: a template
/// literal or a string that spans lines, or any other block comment.
pub fn compact(js: &str) -> Option<String> {
    let mut out = String::with_capacity(js.len());
    for line in js.lines() {
        let code = line.trim_start();
        let block = code.starts_with("/*")
            && code.trim_end().ends_with("*/")
            && code.matches("/*").count() == 1
            && code.matches("*/").count() == 1;
        if (code.contains("/*") && !block)
            || code.matches('`').count() % 2 != 0
            || code.ends_with('\\')
        {
            return None;
        }
        if block || code.trim_end().is_empty() || code.starts_with("//") {
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
    fn drops_block_comments_on_lines_of_their_own() {
        let js =
            "/** Jobs waiting. */\nconst pending = [];\n  /** 'a' | 'b' */\nlet state = 'a';\n";
        assert_eq!(
            compact(js).as_deref(),
            Some("const pending = [];\nlet state = 'a';\n")
        );
    }

    #[test]
    fn leaves_what_it_cannot_read_safely() {
        assert_eq!(compact("const t = `a\n    b`;\n"), None);
        assert_eq!(compact("/* a block\n   on two lines */\nf();\n"), None);
        assert_eq!(compact("f(); /* after code */\n"), None);
        assert_eq!(compact("/* a */ f(); /* b */\n"), None);
        assert_eq!(compact("const s = 'a\\\n    b';\n"), None);
    }
}
