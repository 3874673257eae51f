//! The extension's size budget: every `.wasm`, `.js` and `.mjs` file in `dist/`,
//! each compressed with gzip level 9, summed, stays under [`BUDGET`] bytes (the worker
//! and the pages share it). A size is not a timing: `cargo xtask test` fails over it.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

/// 200 KB of gzip for all wasm and JS together.
pub const BUDGET: usize = 204_800;

/// One counted file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSize {
    /// Its path relative to `dist/`, with `/`.
    pub name: String,
    /// Bytes on disk.
    pub raw: usize,
    /// Bytes after gzip -9.
    pub gzip: usize,
}

/// Every counted file of a `dist/` folder, sorted by name.
#[derive(Debug, Clone, Default)]
pub struct Sizes {
    /// The files.
    pub files: Vec<FileSize>,
}

impl Sizes {
    /// The gzip total that the budget limits.
    pub fn total_gzip(&self) -> usize {
        self.files.iter().map(|f| f.gzip).sum()
    }

    /// The raw total.
    pub fn total_raw(&self) -> usize {
        self.files.iter().map(|f| f.raw).sum()
    }

    /// Whether the total fits the budget.
    pub fn fits(&self) -> bool {
        self.total_gzip() <= BUDGET
    }
}

/// Whether the budget counts this file.
fn counted(name: &str) -> bool {
    [".wasm", ".js", ".mjs"]
        .iter()
        .any(|ext| name.ends_with(ext))
}

/// Measures the counted files under `dist`.
pub fn measure(dist: &Path) -> Result<Sizes> {
    let mut files = Vec::new();
    walk(dist, dist, &mut files)?;
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Sizes { files })
}

fn walk(base: &Path, dir: &Path, out: &mut Vec<FileSize>) -> Result<()> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            walk(base, &path, out)?;
            continue;
        }
        let name = path
            .strip_prefix(base)?
            .to_string_lossy()
            .replace('\\', "/");
        if !counted(&name) {
            continue;
        }
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        out.push(FileSize {
            name,
            raw: bytes.len(),
            gzip: gzip9_len(&bytes)?,
        });
    }
    Ok(())
}

/// The length of `bytes` after gzip level 9.
pub fn gzip9_len(bytes: &[u8]) -> Result<usize> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?.len())
}

/// The files as a plain table, and the total against the budget.
pub fn table(sizes: &Sizes) -> String {
    let mut out = format!("    {:<44} {:>10} {:>10}\n", "file", "raw", "gzip -9");
    for f in &sizes.files {
        out.push_str(&format!(
            "    {:<44} {:>10} {:>10}\n",
            f.name, f.raw, f.gzip
        ));
    }
    out.push_str(&format!(
        "    {:<44} {:>10} {:>10}  (budget {BUDGET}: {})\n",
        "total",
        sizes.total_raw(),
        sizes.total_gzip(),
        if sizes.fits() { "fits" } else { "OVER" },
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_wasm_and_js_only_and_sums_their_gzip() {
        let dir = std::env::temp_dir().join(format!("quizpulse-budget-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("wasm")).unwrap();
        std::fs::write(dir.join("wasm").join("a_bg.wasm"), vec![0u8; 5000]).unwrap();
        std::fs::write(dir.join("wasm").join("a.js"), "export {};\n".repeat(50)).unwrap();
        std::fs::write(dir.join("loader.mjs"), "import './wasm/a.js';\n").unwrap();
        std::fs::write(dir.join("popup.html"), "<html></html>").unwrap();
        std::fs::write(dir.join("manifest.json"), "{}").unwrap();
        let sizes = measure(&dir).unwrap();
        let names: Vec<&str> = sizes.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["loader.mjs", "wasm/a.js", "wasm/a_bg.wasm"]);
        assert_eq!(sizes.total_raw(), 5000 + 550 + 22);
        assert!(sizes.total_gzip() < sizes.total_raw());
        assert!(sizes.fits());
        let over = Sizes {
            files: vec![FileSize {
                name: "big.wasm".into(),
                raw: BUDGET * 3,
                gzip: BUDGET + 1,
            }],
        };
        assert!(!over.fits());
        assert!(table(&over).contains("OVER"));
        assert!(table(&sizes).contains("fits"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
