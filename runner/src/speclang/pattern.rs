//! The file a student hands in, named by a glob (`server.py`,
//! `*server*.py`, `[Cc]hat[Ss]erver.*`, `{server,srv}.py`, `**/server.py`),
//! matched in any letter case: students write `Server.py` for `server.py`.

use globset::{GlobBuilder, GlobMatcher};
use std::path::{Component, Path};

/// How many levels of folders, the student's own first, a program file
/// is looked for in: a submission unpacked from an archive often sits in a
/// folder of its own, and an IDE's project puts a Java class a package
/// deeper still (`lab1/src/main/java/lab1/Server.java` is the sixth).
pub const SEARCH_DEPTH: usize = 6;

/// A checked file pattern: a valid glob that stays inside the student's
/// folder.
#[derive(Debug, Clone)]
pub struct FilePattern {
    text: String,
    matcher: GlobMatcher,
    /// The pattern names folders too (`src/*.py`, `**/server.py`): it is
    /// matched against the path inside the student's folder, not the name.
    by_path: bool,
}

impl FilePattern {
    /// The pattern `text`, or one sentence on why it cannot be what the
    /// teacher meant.
    pub fn new(text: &str) -> Result<FilePattern, String> {
        if text.trim().is_empty() {
            return Err(String::from(
                "the file pattern is empty: give a file name or glob in each student's folder, such as server.py or *server*.py",
            ));
        }
        let shown = crate::text::escape_controls(text, |_| false);
        if text.starts_with('/') {
            return Err(format!(
                "`{shown}` starts with `/`: a file pattern names a file inside each student's folder, such as server.py or *server*.py"
            ));
        }
        if Path::new(text)
            .components()
            .any(|c| matches!(c, Component::ParentDir))
        {
            return Err(format!(
                "`{shown}` leads out of the student's folder with `..`: a file pattern names a file inside it, such as server.py or *server*.py"
            ));
        }
        let glob = GlobBuilder::new(text)
            .case_insensitive(true)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|e| format!("`{shown}` is not a valid glob: {}", e.kind()))?;
        Ok(FilePattern {
            text: text.to_string(),
            matcher: glob.compile_matcher(),
            by_path: text.contains('/'),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the file at `relative` (inside the student's folder) is
    /// the program.
    pub fn matches(&self, relative: &Path) -> bool {
        if self.by_path {
            self.matcher.is_match(relative)
        } else {
            relative
                .file_name()
                .is_some_and(|name| self.matcher.is_match(Path::new(name)))
        }
    }

    /// What kind of files the pattern finds, for `runner check`.
    pub fn describe(&self) -> String {
        let is_glob = self.text.contains(['*', '?', '[', '{', '\\']);
        let what = match (self.by_path, is_glob) {
            (false, false) => format!("a file named {}", self.text),
            (false, true) => format!("a file whose name matches {}", self.text),
            (true, _) => format!("a file whose path in the folder matches {}", self.text),
        };
        format!(
            "{what}, in any letter case, at most {} folders down",
            SEARCH_DEPTH - 1
        )
    }
}

impl FilePattern {
    /// The file types (extensions) every file the pattern matches has:
    /// `server.py` and `*.py` only `py`, `server.{c,cpp}` `c` and `cpp`;
    /// None when it can match any (`server.*`, `*`, `server`), or the
    /// runner cannot tell. Read to install only the toolchains a class
    /// can need.
    pub fn extensions(&self) -> Option<Vec<String>> {
        let name = self.text.rsplit('/').next().unwrap_or(&self.text);
        let (_, extension) = name.rsplit_once('.')?;
        let literal = |text: &str| !text.is_empty() && !text.contains(GLOB_SYNTAX);
        if literal(extension) {
            return Some(vec![extension.to_ascii_lowercase()]);
        }
        let choices = extension.strip_prefix('{')?.strip_suffix('}')?;
        choices
            .split(',')
            .map(|choice| literal(choice).then(|| choice.to_ascii_lowercase()))
            .collect()
    }
}

/// What makes a glob more than a literal name.
const GLOB_SYNTAX: [char; 8] = ['*', '?', '[', ']', '{', '}', ',', '\\'];

impl std::fmt::Display for FilePattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, path: &str) -> bool {
        FilePattern::new(pattern)
            .expect("valid")
            .matches(Path::new(path))
    }

    #[test]
    fn a_pattern_says_the_file_types_it_can_match() {
        let extensions = |pattern: &str| FilePattern::new(pattern).expect("valid").extensions();
        let some = |list: &[&str]| Some(list.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(extensions("server.py"), some(&["py"]));
        assert_eq!(extensions("**/Server.JAVA"), some(&["java"]));
        assert_eq!(extensions("*server*.{c,cpp}"), some(&["c", "cpp"]));
        assert_eq!(extensions("server.*"), None);
        assert_eq!(extensions("*"), None);
        assert_eq!(extensions("server"), None);
        assert_eq!(extensions("server.[ch]"), None);
        assert_eq!(extensions("{server.py,server.c}"), None);
    }

    #[test]
    fn globs_match_in_any_case() {
        assert!(matches("server.*", "Server.py"));
        assert!(matches("[Cc]hat[Ss]erver.*", "ChatServer.java"));
        assert!(matches("{server,srv}.py", "lab/SRV.py"));
        assert!(matches("**/server.py", "server.py"));
        assert!(matches("src/*.py", "src/a.py"));
        assert!(!matches("src/*.py", "src/deep/a.py"));
        assert!(!matches("server.?", "server.py"));
    }

    #[test]
    fn patterns_that_cannot_be_meant_are_refused() {
        let why = |p: &str| FilePattern::new(p).expect_err("refused");
        assert_eq!(
            why("[abc"),
            "`[abc` is not a valid glob: unclosed character class; missing ']'"
        );
        assert!(why("../x").contains("leads out of the student's folder"));
        assert!(why("a/../../x").contains("leads out"));
        assert!(why("/etc/passwd").contains("starts with `/`"));
        assert!(why("  ").starts_with("the file pattern is empty"));
    }
}
