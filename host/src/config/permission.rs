//! File modes: the request's default (`permission`, decimal as the driver sends it) and per-file
//! `filePermission` (octal as people write it). Both end up as `File.mode`, which the driver applies verbatim.

/// Mode used when `permission` is empty: 0644.
pub const DEFAULT_MODE: u32 = 0o644;

/// Parses `MountRequest.permission`: the decimal form of a file mode (`"420"` is 0644), 0–511; empty means 0644.
pub fn parse_default_mode(text: &str) -> Result<u32, String> {
    if text.is_empty() {
        return Ok(DEFAULT_MODE);
    }
    match text.parse::<u32>() {
        Ok(m) if m <= 0o777 && text.bytes().all(|b| b.is_ascii_digit()) => Ok(m),
        _ => Err(format!(
            "{} is not a file mode; expected a decimal number from 0 to 511 (e.g. \"420\" for 0644), or empty for 0644",
            super::error::quote(text)
        )),
    }
}

/// Parses `filePermission`: 3 or 4 octal digits (`"0600"`, `"600"`), at most 0777.
pub fn parse_file_permission(text: &str) -> Result<u32, String> {
    let well_formed =
        (3..=4).contains(&text.len()) && text.bytes().all(|b| (b'0'..=b'7').contains(&b));
    match u32::from_str_radix(text, 8) {
        Ok(m) if well_formed && m <= 0o777 => Ok(m),
        _ => Err(format!(
            "{} is not a file mode; expected 3 or 4 octal digits up to 0777, e.g. \"0600\" or \"644\"",
            super::error::quote(text)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_mode_is_decimal() {
        assert_eq!(parse_default_mode(""), Ok(0o644));
        assert_eq!(parse_default_mode("420"), Ok(0o644));
        assert_eq!(parse_default_mode("0"), Ok(0));
        assert_eq!(parse_default_mode("511"), Ok(0o777));
        for bad in ["512", "-1", "+420", "0644x", "0o644", " 420", "4294967296"] {
            assert!(parse_default_mode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn file_permission_is_octal() {
        assert_eq!(parse_file_permission("0600"), Ok(0o600));
        assert_eq!(parse_file_permission("600"), Ok(0o600));
        assert_eq!(parse_file_permission("0777"), Ok(0o777));
        assert_eq!(parse_file_permission("000"), Ok(0));
        for bad in ["1777", "0800", "60", "06000", "0x1f", "", "rw-"] {
            assert!(parse_file_permission(bad).is_err(), "{bad}");
        }
    }
}
