//! The one timestamp format the POP APIs use: UTC `YYYY-MM-DDThh:mm:ssZ`, no fraction.

use time::OffsetDateTime;
use time::macros::format_description;

const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

/// Parse a POP timestamp (`Timestamp` param, `x-acs-date` header, seed dates).
pub fn parse_timestamp(s: &str) -> Option<OffsetDateTime> {
    time::PrimitiveDateTime::parse(s, FORMAT)
        .ok()
        .map(|t| t.assume_utc())
}

/// Format a timestamp the way POP responses and signers do.
pub fn format_timestamp(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(FORMAT)
        .expect("formatting a UTC datetime with a fixed description cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_other_shapes() {
        let t = parse_timestamp("2024-05-06T07:08:09Z").unwrap();
        assert_eq!(format_timestamp(t), "2024-05-06T07:08:09Z");
        assert!(parse_timestamp("2024-05-06T07:08:09.123Z").is_none());
        assert!(parse_timestamp("2024-05-06 07:08:09").is_none());
    }
}
