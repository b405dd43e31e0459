//! `pem-split`: a PEM bundle to `tls.crt` (leaf), `tls.key` (private key) and `ca.crt` (the rest).
//!
//! The first `CERTIFICATE` block is the leaf, later ones form the chain. The key is the one block
//! whose label ends in `PRIVATE KEY` (`PRIVATE KEY`, `RSA PRIVATE KEY`, `EC PRIVATE KEY`,
//! `ENCRYPTED PRIVATE KEY`, ...). Text outside blocks is ignored; other block types are ignored
//! with a warning. Errors give labels and line numbers only.

use transform_sdk::{Error, File};

use crate::config::PemSplit;

/// One `-----BEGIN <label>-----` ... `-----END <label>-----` block, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The label, e.g. `CERTIFICATE`.
    pub label: String,
    /// The block text with a trailing newline.
    pub text: String,
}

/// Splits `text` into PEM blocks.
pub fn parse(text: &str, file: &str) -> Result<Vec<Block>, Error> {
    let mut blocks = Vec::new();
    let mut open: Option<(String, usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let n = i + 1;
        if let Some(label) = marker(line, "BEGIN") {
            if let Some((open_label, at, _)) = &open {
                return Err(bad(
                    file,
                    format!(
                        "BEGIN {label} at line {n} is inside BEGIN {open_label} from line {at}"
                    ),
                ));
            }
            open = Some((label.to_string(), n, format!("{line}\n")));
        } else if let Some(label) = marker(line, "END") {
            match open.take() {
                Some((open_label, _, mut body)) if open_label == label => {
                    body.push_str(line);
                    body.push('\n');
                    blocks.push(Block {
                        label: open_label,
                        text: body,
                    });
                }
                Some((open_label, at, _)) => {
                    return Err(bad(
                        file,
                        format!(
                            "END {label} at line {n} does not match BEGIN {open_label} at line {at}"
                        ),
                    ));
                }
                None => return Err(bad(file, format!("END {label} at line {n} has no BEGIN"))),
            }
        } else if let Some((_, _, body)) = &mut open
            && !line.is_empty()
        {
            body.push_str(line);
            body.push('\n');
        }
    }
    if let Some((label, at, _)) = open {
        return Err(bad(file, format!("BEGIN {label} at line {at} has no END")));
    }
    Ok(blocks)
}

fn marker<'a>(line: &'a str, kind: &str) -> Option<&'a str> {
    line.strip_prefix("-----")?
        .strip_suffix("-----")?
        .strip_prefix(kind)?
        .strip_prefix(' ')
}

fn bad(file: &str, what: String) -> Error {
    Error::invalid_input(format!("file `{file}` is not a valid PEM bundle: {what}"))
}

/// Splits the bundle according to `config`.
pub fn split(config: &PemSplit, input: &File) -> Result<Vec<File>, Error> {
    let blocks = parse(input.text()?, &input.path)?;
    let mut certs = Vec::new();
    let mut keys = Vec::new();
    for b in blocks {
        if b.label == "CERTIFICATE" {
            certs.push(b);
        } else if b.label.ends_with("PRIVATE KEY") {
            keys.push(b);
        } else {
            transform_sdk::log::warn(&format!(
                "pem-split: ignoring a `{}` block in `{}`",
                b.label, input.path
            ));
        }
    }
    let mut out = Vec::new();
    let Some((leaf, chain)) = certs.split_first() else {
        return Err(Error::invalid_input(format!(
            "file `{}` has no CERTIFICATE block",
            input.path
        )));
    };
    let cert_text = if config.full_chain {
        certs.iter().map(|b| b.text.as_str()).collect::<String>()
    } else {
        leaf.text.clone()
    };
    out.push(File::new(&config.cert, cert_text).with_mode(config.mode));
    match keys.as_slice() {
        [key] => out.push(
            File::new(&config.key, key.text.clone()).with_mode(config.key_mode.or(config.mode)),
        ),
        [] if config.require_key => {
            return Err(Error::invalid_input(format!(
                "file `{}` has no PRIVATE KEY block (set `requireKey: false` for certificate-only bundles)",
                input.path
            )));
        }
        [] => {}
        many => {
            return Err(Error::invalid_input(format!(
                "file `{}` has {} private key blocks; expected one",
                input.path,
                many.len()
            )));
        }
    }
    if !chain.is_empty() {
        let ca: String = chain.iter().map(|b| b.text.as_str()).collect();
        out.push(File::new(&config.ca, ca).with_mode(config.mode));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_name_labels_and_lines() {
        let e = parse("-----BEGIN CERTIFICATE-----\nAAAA\n", "b").unwrap_err();
        assert_eq!(
            e.message(),
            "file `b` is not a valid PEM bundle: BEGIN CERTIFICATE at line 1 has no END"
        );
        let e = parse(
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "b",
        )
        .unwrap_err();
        assert!(
            e.message()
                .ends_with("END PRIVATE KEY at line 3 does not match BEGIN CERTIFICATE at line 1")
        );
        let e = parse("-----END CERTIFICATE-----\n", "b").unwrap_err();
        assert!(
            e.message()
                .ends_with("END CERTIFICATE at line 1 has no BEGIN")
        );
    }

    #[test]
    fn normalises_whitespace_and_ignores_outside_text() {
        let text = "Bag Attributes: x\r\n  -----BEGIN CERTIFICATE-----  \r\nAA\r\n\r\nBB  \r\n-----END CERTIFICATE-----\r\ntrailer";
        let blocks = parse(text, "b").unwrap();
        assert_eq!(
            blocks,
            [Block {
                label: "CERTIFICATE".into(),
                text: "-----BEGIN CERTIFICATE-----\nAA\nBB\n-----END CERTIFICATE-----\n".into()
            }]
        );
    }
}
