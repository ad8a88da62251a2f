//! Files that hold secrets (private keys, tokens): created readable by their owner only.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;

fn private_options() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Writes `text` to a new file at `path` (mode 0600); refuses to overwrite one.
pub fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut file = private_options()
        .create_new(true)
        .open(path)
        .with_context(|| format!("creating {} (it must not exist yet)", path.display()))?;
    writeln!(file, "{}", text.trim_end()).with_context(|| format!("writing {}", path.display()))
}

/// Replaces the file at `path` with `text` (mode 0600), by a rename so a reader never sees
/// half of it; creates the directory.
pub fn replace_private(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let partial = path.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    write_private(&partial, text)?;
    std::fs::rename(&partial, path).with_context(|| format!("writing {}", path.display()))
}
