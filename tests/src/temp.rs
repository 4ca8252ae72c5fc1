//! Paths under the temp directory that a test owns: removed on drop, also
//! when the test fails.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::names;

/// A unique path under the temp directory; whatever is there (file, FIFO,
/// socket or directory tree) is removed on drop.
#[derive(Debug)]
pub struct TempPath(PathBuf);

impl TempPath {
    /// A unique path, nothing created yet.
    pub fn new(tag: &str) -> TempPath {
        TempPath(std::env::temp_dir().join(names::unique(tag)))
    }

    /// A unique, new directory.
    pub fn dir(tag: &str) -> TempPath {
        let path = TempPath::new(tag);
        std::fs::create_dir_all(&path.0).expect("temp dir");
        path
    }

    /// The path.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The path as text (for environment variables and configs).
    pub fn text(&self) -> String {
        self.0.display().to_string()
    }

    /// Writes an executable script `name` into this directory.
    pub fn script(&self, name: &str, body: &str) {
        let path = self.0.join(name);
        std::fs::write(&path, body).expect("script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if self.0.is_dir() {
            let _ = std::fs::remove_dir_all(&self.0);
        } else {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}
