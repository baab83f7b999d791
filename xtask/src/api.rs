//! Placeholder until the generator lands.
use crate::tools::Result;
pub fn write_npm(_pkg: &std::path::Path) -> Result {
    Ok(())
}
