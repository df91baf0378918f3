//! The remembered login fields (server, tenant, e-mail) in a small TOML file. Never the password or tokens: a
//! stolen config file must not open a session.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What the console remembers between runs.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remembered {
    /// Base URL of the last server, e.g. `http://127.0.0.1:8080`.
    pub server: Option<String>,
    /// Slug of the last tenant.
    pub tenant: Option<String>,
    /// Last e-mail used to log in.
    pub email: Option<String>,
}

/// Where the file lives: `TESSERA_CONSOLE_CONFIG` (for tests), else `<config dir>/tessera/console.toml`.
pub fn path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TESSERA_CONSOLE_CONFIG") {
        return Some(PathBuf::from(p));
    }
    directories::ProjectDirs::from("", "", "tessera").map(|d| d.config_dir().join("console.toml"))
}

/// Reads the file; a missing or unreadable file means nothing is remembered (the console still works).
pub fn load() -> Remembered {
    path()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|s| toml::from_str(&s).ok())
        .unwrap_or_default()
}

/// Writes the file, creating its folder.
pub fn save(remembered: &Remembered) -> anyhow::Result<()> {
    let Some(p) = path() else {
        return Ok(());
    };
    if let Some(dir) = p.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(p, toml::to_string(remembered)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_without_secrets() {
        let r = Remembered {
            server: Some("http://127.0.0.1:1".into()),
            tenant: Some("atlas".into()),
            email: Some("a@b.c".into()),
        };
        let text = toml::to_string(&r).unwrap();
        assert!(!text.contains("password") && !text.contains("token"));
        assert_eq!(toml::from_str::<Remembered>(&text).unwrap(), r);
    }
}
